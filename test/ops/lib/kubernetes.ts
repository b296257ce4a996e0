import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { parseAllDocuments } from 'yaml';
import { REPO_ROOT } from './metric-catalog';

const run = promisify(execFile);

/** A rendered Kubernetes object, loosely typed (the schema validators check the shapes). */
export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- manifests are checked field by field in the tests
  spec?: any;
  data?: Record<string, string>;
  automountServiceAccountToken?: boolean;
}

/**
 * Renders a kustomization with `kubectl kustomize` (kustomize is built into kubectl; Debian's
 * and the project machines' kubectl 1.32 carries kustomize v5.5). Offline: no cluster needed.
 */
export async function renderKustomization(dir: string): Promise<K8sObject[]> {
  let stdout: string;
  try {
    ({ stdout } = await run('kubectl', ['kustomize', join(REPO_ROOT, dir)], { maxBuffer: 32 * 1024 * 1024, timeout: 60_000 }));
  } catch (err) {
    const e = err as { code?: string; stderr?: string; message: string };
    if (e.code === 'ENOENT') throw new Error('kubectl not found: it renders the kustomizations offline (kubectl kustomize). Install kubectl (>= 1.27, kustomize v5).');
    throw new Error(`kubectl kustomize ${dir} failed: ${e.stderr ?? e.message}`);
  }
  return parseAllDocuments(stdout)
    .map((d) => {
      if (d.errors.length > 0) throw new Error(`rendered YAML of ${dir}: ${d.errors[0]!.message}`);
      return d.toJS() as K8sObject | null;
    })
    .filter((o): o is K8sObject => o !== null);
}

/** True when every `selector` label is on `labels`. */
export function selects(selector: Record<string, string> | undefined, labels: Record<string, string> | undefined): boolean {
  return Object.entries(selector ?? {}).every(([k, v]) => labels?.[k] === v);
}
