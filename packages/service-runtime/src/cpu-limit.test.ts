import { cgroupCpuQuota, cpuLimit } from './cpu-limit';

const files = (entries: Record<string, string>) => (path: string) => entries[path];

describe('cpu limit', () => {
  it('reads the cgroup v2 quota, rounding up to whole cores', () => {
    expect(cgroupCpuQuota(files({ '/sys/fs/cgroup/cpu.max': '200000 100000\n' }))).toBe(2);
    expect(cgroupCpuQuota(files({ '/sys/fs/cgroup/cpu.max': '150000 100000' }))).toBe(2);
    expect(cgroupCpuQuota(files({ '/sys/fs/cgroup/cpu.max': '50000 100000' }))).toBe(1);
    expect(cgroupCpuQuota(files({ '/sys/fs/cgroup/cpu.max': 'max 100000' }))).toBeUndefined();
  });

  it('falls back to cgroup v1, and to none', () => {
    expect(cgroupCpuQuota(files({ '/sys/fs/cgroup/cpu/cpu.cfs_quota_us': '300000', '/sys/fs/cgroup/cpu/cpu.cfs_period_us': '100000' }))).toBe(3);
    expect(cgroupCpuQuota(files({ '/sys/fs/cgroup/cpu/cpu.cfs_quota_us': '-1', '/sys/fs/cgroup/cpu/cpu.cfs_period_us': '100000' }))).toBeUndefined();
    expect(cgroupCpuQuota(files({}))).toBeUndefined();
  });

  it('takes the quota, capped by the available cores', () => {
    expect(cpuLimit(files({ '/sys/fs/cgroup/cpu.max': '200000 100000' }), 8)).toBe(2);
    expect(cpuLimit(files({ '/sys/fs/cgroup/cpu.max': '1600000 100000' }), 4)).toBe(4);
    expect(cpuLimit(files({}), 6)).toBe(6);
    expect(cpuLimit()).toBeGreaterThanOrEqual(1);
  });
});
