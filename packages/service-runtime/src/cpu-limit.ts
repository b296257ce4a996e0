import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';

/** Reads a small text file, or undefined when it cannot be read. */
export type ReadText = (path: string) => string | undefined;

const readText: ReadText = (path) => {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
};

/**
 * The CPU quota of this process's cgroup in whole cores (rounded up), or undefined when there is
 * none. cgroup v2 `cpu.max` ("200000 100000", or "max 100000" for none), else cgroup v1
 * `cpu.cfs_quota_us` / `cpu.cfs_period_us` (-1 for none).
 */
export function cgroupCpuQuota(read: ReadText = readText): number | undefined {
  const v2 = read('/sys/fs/cgroup/cpu.max')?.trim().split(/\s+/);
  if (v2 && v2.length === 2) {
    const [quota, period] = v2;
    if (quota === 'max') return undefined;
    const cores = Number(quota) / Number(period);
    return Number.isFinite(cores) && cores > 0 ? Math.max(1, Math.ceil(cores)) : undefined;
  }
  const quota = Number(read('/sys/fs/cgroup/cpu/cpu.cfs_quota_us')?.trim());
  const period = Number(read('/sys/fs/cgroup/cpu/cpu.cfs_period_us')?.trim());
  if (Number.isFinite(quota) && Number.isFinite(period) && quota > 0 && period > 0) return Math.max(1, Math.ceil(quota / period));
  return undefined;
}

/**
 * How many CPU-bound threads this process should run: the cgroup quota (a Kubernetes CPU limit)
 * when there is one, capped by the cores the process may run on (`os.availableParallelism()`).
 * Services size their worker pools with it (hasher, matcher check API).
 *
 * @param read - reads a cgroup file (tests substitute their own); default the real files.
 * @param cores - cores the process may run on; default `os.availableParallelism()`.
 * @returns a whole number of threads, at least 1.
 */
export function cpuLimit(read: ReadText = readText, cores: number = availableParallelism()): number {
  const quota = cgroupCpuQuota(read);
  return Math.max(1, quota === undefined ? cores : Math.min(quota, cores));
}
