// The Kubernetes manifests (k8s/), offline: both overlays rendered with `kubectl kustomize`, every
// object validated against the Kubernetes and KEDA schemas (kubernetes-models), then the rules of
// the deployment checked object by object: probes, resources, shutdown grace, security context,
// service accounts, disruption budgets, network policies, autoscaling bounds and triggers, the
// reporter as a single-replica StatefulSet, config the services accept, and no committed secret.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ScaledObject } from '@kubernetes-models/keda/keda.sh/v1alpha1/ScaledObject';
import { groomingConfigSchema } from '@safeguard/grooming-service';
import { hasherConfigSchema } from '@safeguard/hasher';
import { ingestConfigSchema } from '@safeguard/ingest';
import { matcherConfigSchema } from '@safeguard/matcher';
import { reporterConfigSchema } from '@safeguard/reporter';
import { parsePolicyConfig, parseProviderProfile } from '@safeguard/reporting';
import { topics } from '@safeguard/schemas';
import { Deployment } from 'kubernetes-models/apps/v1/Deployment';
import { StatefulSet } from 'kubernetes-models/apps/v1/StatefulSet';
import { ConfigMap } from 'kubernetes-models/v1/ConfigMap';
import { Namespace } from 'kubernetes-models/v1/Namespace';
import { Service } from 'kubernetes-models/v1/Service';
import { ServiceAccount } from 'kubernetes-models/v1/ServiceAccount';
import { NetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1/NetworkPolicy';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1/PodDisruptionBudget';
import type { z } from 'zod';
import { renderKustomization, selects, type K8sObject } from './lib/kubernetes';
import { REPO_ROOT } from './lib/metric-catalog';

jest.setTimeout(60_000);

/** One validator per kind we ship; any other kind fails the test. */
const MODELS: Record<string, { validate(): void } & (new (data: never) => { validate(): void })> = {
  'apps/v1/Deployment': Deployment as never,
  'apps/v1/StatefulSet': StatefulSet as never,
  'v1/ConfigMap': ConfigMap as never,
  'v1/Namespace': Namespace as never,
  'v1/Service': Service as never,
  'v1/ServiceAccount': ServiceAccount as never,
  'networking.k8s.io/v1/NetworkPolicy': NetworkPolicy as never,
  'policy/v1/PodDisruptionBudget': PodDisruptionBudget as never,
  'keda.sh/v1alpha1/ScaledObject': ScaledObject as never,
};

const SERVICES = ['ingest', 'hasher', 'matcher', 'grooming', 'reporter'] as const;
type ServiceName = (typeof SERVICES)[number];

/** What each service consumes with its consumer group (services/<name>/src/service.ts). */
const CONSUMES: Record<ServiceName, { topic: string; partitions: number }[]> = {
  ingest: [topics.platformContentUploaded, topics.platformMessageSent],
  hasher: [topics.contentSubmitted],
  matcher: [topics.contentHashed, topics.indicatorFeedback],
  grooming: [topics.chatMessageSent],
  reporter: [topics.contentMatched, topics.conversationFlagged],
};

/** Objects the operator creates (never committed): README, Operations, Deploy. */
const OPERATOR_SECRETS = new Set(['ingest-api-keys', 'matcher-api-keys', 'reporter-api-keys', 'reporter-authorities', 'reporter-signing-key']);
const OPERATOR_CONFIGMAPS: Record<string, Set<string>> = { 'k8s/overlays/dev': new Set(), 'k8s/overlays/prod': new Set(['reporter-provider']) };

/** Placeholder Secret values in the format each service requires, to parse the rendered env. */
const SECRET_PLACEHOLDERS: Record<string, string> = {
  INGEST_API_KEYS: `platform-a:${'k'.repeat(32)}`,
  MATCHER_API_KEYS: `platform-a:${'k'.repeat(32)}`,
  REPORTER_API_KEYS: `rev-1:reviewer:${'r'.repeat(32)}`,
};

/** Each service's own config schema: the rendered environment must parse. */
const SCHEMAS: Record<ServiceName, z.ZodType> = {
  ingest: ingestConfigSchema,
  hasher: hasherConfigSchema,
  matcher: matcherConfigSchema,
  grooming: groomingConfigSchema,
  reporter: reporterConfigSchema,
};

/** Environment variable names a service's config.ts declares (and the common ones). */
function declaredEnv(service: ServiceName): Set<string> {
  const names = new Set(['SAFEGUARD_TRANSPORT', 'KAFKA_BROKERS', 'SCHEMA_REGISTRY_URL', 'METRICS_PORT', 'LOG_LEVEL', 'SHUTDOWN_TIMEOUT_MS', 'SAFEGUARD_TOPIC_PREFIX']);
  const source = readFileSync(join(REPO_ROOT, 'services', service, 'src/config.ts'), 'utf8');
  for (const m of source.matchAll(/^\s+([A-Z][A-Z0-9_]+)\s*:/gm)) names.add(m[1]!);
  return names;
}

function byKind(objects: K8sObject[], kind: string): K8sObject[] {
  return objects.filter((o) => o.kind === kind);
}

function one(objects: K8sObject[], kind: string, name: string): K8sObject {
  const found = objects.filter((o) => o.kind === kind && o.metadata.name === name);
  if (found.length !== 1) throw new Error(`expected one ${kind} ${name}, found ${found.length}`);
  return found[0]!;
}

/** ConfigMaps by their base name (generated ones carry a content hash suffix). */
function configMap(objects: K8sObject[], base: string): K8sObject | undefined {
  return byKind(objects, 'ConfigMap').find((c) => c.metadata.name === base || c.metadata.name.replace(/-[a-z0-9]{10}$/, '') === base);
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- container specs are checked field by field
type Container = any;

/** The environment a container gets from ConfigMaps (envFrom and configMapKeyRef) and literal values; Secrets as placeholders. */
function containerEnv(objects: K8sObject[], container: Container): Record<string, string> {
  const env: Record<string, string> = {};
  for (const from of container.envFrom ?? []) {
    if (from.configMapRef) Object.assign(env, byKind(objects, 'ConfigMap').find((c) => c.metadata.name === from.configMapRef.name)?.data ?? {});
  }
  for (const e of container.env ?? []) {
    if (e.value !== undefined) env[e.name] = e.value;
    else if (e.valueFrom?.secretKeyRef) env[e.name] = SECRET_PLACEHOLDERS[e.name] ?? 'secret';
    else if (e.valueFrom?.configMapKeyRef) env[e.name] = byKind(objects, 'ConfigMap').find((c) => c.metadata.name === e.valueFrom.configMapKeyRef.name)?.data?.[e.valueFrom.configMapKeyRef.key] ?? '';
  }
  return env;
}

function workload(objects: K8sObject[], service: ServiceName): K8sObject {
  return one(objects, service === 'reporter' ? 'StatefulSet' : 'Deployment', service);
}

/** Ports a pod may reach according to the NetworkPolicies selecting it: `port@peer`. */
function egressOf(objects: K8sObject[], labels: Record<string, string>): Set<string> {
  const out = new Set<string>();
  for (const p of byKind(objects, 'NetworkPolicy')) {
    if (!selects(p.spec.podSelector.matchLabels, labels) || !(p.spec.policyTypes ?? []).includes('Egress')) continue;
    for (const rule of p.spec.egress ?? []) {
      const peers: string[] = (rule.to ?? [{}]).map((peer: { namespaceSelector?: { matchLabels?: Record<string, string> }; ipBlock?: { cidr: string } }) =>
        peer.ipBlock ? `ip:${peer.ipBlock.cidr}` : `ns:${peer.namespaceSelector?.matchLabels?.['kubernetes.io/metadata.name'] ?? 'any'}`,
      );
      for (const port of rule.ports ?? [{ port: 'any' }]) for (const peer of peers) out.add(`${port.port}@${peer}`);
    }
  }
  return out;
}

function ingressOf(objects: K8sObject[], labels: Record<string, string>): Set<string> {
  const out = new Set<string>();
  for (const p of byKind(objects, 'NetworkPolicy')) {
    if (!selects(p.spec.podSelector.matchLabels, labels) || !(p.spec.policyTypes ?? []).includes('Ingress')) continue;
    for (const rule of p.spec.ingress ?? []) {
      const peers: string[] = (rule.from ?? [{}]).map((peer: { namespaceSelector?: { matchLabels?: Record<string, string> } }) => `ns:${peer.namespaceSelector?.matchLabels?.['kubernetes.io/metadata.name'] ?? 'any'}`);
      for (const port of rule.ports ?? [{ port: 'any' }]) for (const peer of peers) out.add(`${port.port}@${peer}`);
    }
  }
  return out;
}

describe.each(['k8s/overlays/dev', 'k8s/overlays/prod'])('Kubernetes manifests: %s', (overlay) => {
  let objects: K8sObject[];
  beforeAll(async () => {
    objects = await renderKustomization(overlay);
  });

  it('renders only kinds we validate, and each object passes the Kubernetes or KEDA schema', () => {
    expect(objects.length).toBeGreaterThan(30);
    const failures: string[] = [];
    for (const o of objects) {
      const Model = MODELS[`${o.apiVersion}/${o.kind}`];
      if (!Model) {
        failures.push(`${o.apiVersion} ${o.kind} ${o.metadata.name}: no schema`);
        continue;
      }
      try {
        new Model(o as never).validate();
      } catch (err) {
        failures.push(`${o.kind} ${o.metadata.name}: ${(err as Error).message}`);
      }
    }
    expect(failures).toEqual([]);
  });

  it('the schema validation rejects a broken object (the validators are live)', () => {
    const d = structuredClone(one(objects, 'Deployment', 'hasher'));
    d.spec.template.spec.containers[0].ports[0].containerPort = 'metrics';
    expect(() => new Deployment(d as never).validate()).toThrow(/containerPort/);
    const s = structuredClone(one(objects, 'ScaledObject', 'hasher'));
    s.spec.triggers[0].metadata.lagThreshold = 50;
    expect(() => new ScaledObject(s as never).validate()).toThrow(/lagThreshold/);
  });

  it('puts everything in one namespace with the restricted Pod Security Standard', () => {
    const [ns] = byKind(objects, 'Namespace');
    expect(ns?.metadata.labels?.['pod-security.kubernetes.io/enforce']).toBe('restricted');
    expect(objects.filter((o) => o.kind !== 'Namespace' && o.metadata.namespace !== ns!.metadata.name).map((o) => `${o.kind}/${o.metadata.name}`)).toEqual([]);
    expect(objects.filter((o) => o.metadata.labels?.['app.kubernetes.io/part-of'] !== 'safeguard' && o.kind !== 'Namespace').map((o) => `${o.kind}/${o.metadata.name}`)).toEqual([]);
  });

  it.each(SERVICES)('%s: probes on the metrics port, resources, shutdown grace, security context, own service account', (service) => {
    const w = workload(objects, service);
    const pod = w.spec.template.spec;
    const labels = w.spec.template.metadata.labels;
    expect(selects(w.spec.selector.matchLabels, labels)).toBe(true);
    expect(labels).toMatchObject({ 'app.kubernetes.io/name': service, 'app.kubernetes.io/part-of': 'safeguard' });
    expect(pod.containers).toHaveLength(1);
    const c = pod.containers[0];
    const env = containerEnv(objects, c);
    const metricsPort = c.ports.find((p: { name: string }) => p.name === 'metrics');
    expect(String(metricsPort?.containerPort)).toBe(env.METRICS_PORT);
    expect(c.livenessProbe.httpGet).toEqual({ path: '/healthz', port: 'metrics' });
    expect(c.readinessProbe.httpGet).toEqual({ path: '/readyz', port: 'metrics' });
    for (const kind of ['requests', 'limits']) for (const r of ['cpu', 'memory']) expect([kind, r, c.resources?.[kind]?.[r]]).toEqual([kind, r, expect.anything()]);
    // The orderly shutdown (bounded by SHUTDOWN_TIMEOUT_MS) plus any preStop sleep ends before SIGKILL.
    const preStopSeconds = Number(c.lifecycle?.preStop?.exec?.command?.[1] ?? 0);
    expect(pod.terminationGracePeriodSeconds * 1000).toBeGreaterThan(Number(env.SHUTDOWN_TIMEOUT_MS) + preStopSeconds * 1000);
    expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } });
    expect(pod.securityContext.runAsUser).toBeGreaterThan(0);
    expect(c.securityContext).toEqual({ allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } });
    // A read-only root needs a writable /tmp (ffmpeg frames, SQLite temp files).
    expect(c.volumeMounts.find((m: { mountPath: string }) => m.mountPath === '/tmp')).toBeDefined();
    expect(pod.serviceAccountName).toBe(service);
    expect(pod.automountServiceAccountToken).toBe(false);
    expect(one(objects, 'ServiceAccount', service).automountServiceAccountToken).toBe(false);
    expect(c.image).toMatch(new RegExp(`safeguard/${service}:[\\w.-]+$`));
  });

  it.each(SERVICES)('%s: a PodDisruptionBudget and a Service that select its pods by named ports', (service) => {
    const w = workload(objects, service);
    const labels = w.spec.template.metadata.labels;
    const pdb = one(objects, 'PodDisruptionBudget', service);
    expect(selects(pdb.spec.selector.matchLabels, labels)).toBe(true);
    expect(pdb.spec.minAvailable ?? pdb.spec.maxUnavailable).toBeGreaterThanOrEqual(1);
    const svc = one(objects, 'Service', service);
    expect(selects(svc.spec.selector, labels)).toBe(true);
    const names = w.spec.template.spec.containers[0].ports.map((p: { name: string }) => p.name);
    for (const p of svc.spec.ports) expect(names).toContain(p.targetPort);
  });

  it.each(SERVICES)('%s: its config is accepted by the service\'s own config schema, with no unknown variable', (service) => {
    const c = workload(objects, service).spec.template.spec.containers[0];
    const env = containerEnv(objects, c);
    expect(env.KAFKA_BROKERS).toMatch(/^[\w.-]+:\d+(,[\w.-]+:\d+)*$/);
    expect(env.SCHEMA_REGISTRY_URL).toMatch(/^https?:\/\//);
    const declared = declaredEnv(service);
    expect(Object.keys(env).filter((name) => !declared.has(name))).toEqual([]);
    const parsed = SCHEMAS[service].safeParse(env);
    expect(parsed.success ? [] : parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`)).toEqual([]);
  });

  it('runs the reporter as exactly one StatefulSet replica with a ReadWriteOnce volume, never autoscaled', () => {
    const sts = one(objects, 'StatefulSet', 'reporter');
    expect(sts.spec).toMatchObject({ replicas: 1, podManagementPolicy: 'OrderedReady', serviceName: 'reporter-headless' });
    expect(one(objects, 'Service', 'reporter-headless').spec.clusterIP).toBe('None');
    const [claim] = sts.spec.volumeClaimTemplates;
    expect(claim.spec.accessModes).toEqual(['ReadWriteOnce']);
    const mount = sts.spec.template.spec.containers[0].volumeMounts.find((m: { name: string }) => m.name === claim.metadata.name);
    const env = containerEnv(objects, sts.spec.template.spec.containers[0]);
    expect(env.REPORTER_STORE_PATH.startsWith(`${mount.mountPath}/`)).toBe(true);
    expect(byKind(objects, 'Deployment').map((d) => d.metadata.name)).not.toContain('reporter');
    expect(byKind(objects, 'ScaledObject').filter((s) => s.spec.scaleTargetRef.name === 'reporter')).toEqual([]);
  });

  it('mounts the reporter policy, provider profile and signing key where its config points, and the policy parses', () => {
    const sts = one(objects, 'StatefulSet', 'reporter');
    const c = sts.spec.template.spec.containers[0];
    const env = containerEnv(objects, c);
    const mountOf = (file: string) => c.volumeMounts.find((m: { mountPath: string }) => file.startsWith(`${m.mountPath}/`));
    expect(mountOf(env.REPORTER_POLICY_FILE)).toBeDefined();
    expect(mountOf(env.REPORTER_PROVIDER_FILE)).toBeDefined();
    const keyMount = mountOf(env.REPORTER_SIGNING_KEY_FILE);
    const keyVolume = sts.spec.template.spec.volumes.find((v: { name: string }) => v.name === keyMount.name);
    expect(keyVolume.secret.secretName).toBe('reporter-signing-key');
    const policy = configMap(objects, 'reporter-policy')!;
    expect(() => parsePolicyConfig(JSON.parse(policy.data!['policy.json']!))).not.toThrow();
    const provider = configMap(objects, 'reporter-provider');
    if (provider) expect(() => parseProviderProfile(JSON.parse(provider.data!['provider.json']!))).not.toThrow();
  });

  it('references only Secrets the operator creates (none committed) and ConfigMaps that exist', () => {
    expect(byKind(objects, 'Secret')).toEqual([]);
    const secrets = new Set<string>();
    const configMaps = new Set<string>();
    for (const w of [...byKind(objects, 'Deployment'), ...byKind(objects, 'StatefulSet')]) {
      const pod = w.spec.template.spec;
      for (const c of pod.containers) {
        for (const f of c.envFrom ?? []) {
          if (f.secretRef) secrets.add(f.secretRef.name);
          if (f.configMapRef) configMaps.add(f.configMapRef.name);
        }
        for (const e of c.env ?? []) if (e.valueFrom?.secretKeyRef) secrets.add(e.valueFrom.secretKeyRef.name);
      }
      for (const v of pod.volumes ?? []) {
        if (v.secret) secrets.add(v.secret.secretName);
        if (v.configMap) configMaps.add(v.configMap.name);
        for (const s of v.projected?.sources ?? []) if (s.configMap) configMaps.add(s.configMap.name);
      }
    }
    expect([...secrets].filter((s) => !OPERATOR_SECRETS.has(s))).toEqual([]);
    const rendered = new Set(byKind(objects, 'ConfigMap').map((c) => c.metadata.name));
    expect([...configMaps].filter((c) => !rendered.has(c) && !OPERATOR_CONFIGMAPS[overlay]!.has(c))).toEqual([]);
  });

  it('denies all traffic by default and allows what each service needs', () => {
    const deny = byKind(objects, 'NetworkPolicy').find((p) => Object.keys(p.spec.podSelector).length === 0 && !p.spec.ingress && !p.spec.egress);
    expect(deny?.spec.policyTypes).toEqual(['Ingress', 'Egress']);
    const publicEgress: Record<ServiceName, string[]> = { ingest: [], hasher: ['443', '80'], matcher: [], grooming: [], reporter: ['443'] };
    const httpIngress: Record<ServiceName, boolean> = { ingest: true, hasher: false, matcher: true, grooming: false, reporter: true };
    for (const service of SERVICES) {
      const labels = workload(objects, service).spec.template.metadata.labels;
      const egress = egressOf(objects, labels);
      expect([service, [...egress].filter((e) => e.startsWith('53@'))]).toEqual([service, ['53@ns:kube-system']]);
      expect([service, egress.has('9092@ns:kafka') && egress.has('8081@ns:kafka')]).toEqual([service, true]);
      expect([service, [...egress].filter((e) => e.endsWith('@ip:0.0.0.0/0')).map((e) => e.split('@')[0]).sort()]).toEqual([service, publicEgress[service].sort()]);
      expect([service, [...egress].filter((e) => e.includes('any'))]).toEqual([service, []]);
      const ingress = ingressOf(objects, labels);
      expect([service, [...ingress].sort()]).toEqual([service, [...(httpIngress[service] ? ['http@ns:any'] : []), 'metrics@ns:monitoring'].sort()]);
    }
    // Public egress never reaches private or metadata addresses.
    for (const p of byKind(objects, 'NetworkPolicy')) {
      for (const rule of p.spec.egress ?? []) {
        for (const peer of rule.to ?? []) if (peer.ipBlock?.cidr === '0.0.0.0/0') expect(peer.ipBlock.except).toEqual(expect.arrayContaining(['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', '169.254.0.0/16']));
      }
    }
  });

  it('scales every consumer but the reporter with KEDA on its own group and topics, within the partition count', () => {
    const scaled = byKind(objects, 'ScaledObject');
    expect(scaled.map((s) => s.spec.scaleTargetRef.name).sort()).toEqual(['grooming', 'hasher', 'ingest', 'matcher']);
    for (const s of scaled) {
      const service = s.spec.scaleTargetRef.name as ServiceName;
      const target = one(objects, s.spec.scaleTargetRef.kind ?? 'Deployment', service);
      const env = containerEnv(objects, target.spec.template.spec.containers[0]);
      const prefix = env.SAFEGUARD_TOPIC_PREFIX ?? '';
      const kafka = s.spec.triggers.filter((t: { type: string }) => t.type === 'kafka');
      expect([service, kafka.map((t: { metadata: { topic: string } }) => t.metadata.topic).sort()]).toEqual([service, CONSUMES[service].map((t) => `${prefix}${t.topic}`).sort()]);
      for (const t of kafka) {
        expect([service, t.metadata.consumerGroup]).toEqual([service, `${prefix}${service}`]);
        expect(t.metadata.bootstrapServersFromEnv).toBe('KAFKA_BROKERS');
        expect(env.KAFKA_BROKERS).toBeTruthy();
        expect(Number(t.metadata.lagThreshold)).toBeGreaterThan(0);
        expect(t.metadata.allowIdleConsumers).toBe('false');
      }
      expect(s.spec.minReplicaCount).toBeGreaterThanOrEqual(1);
      expect(s.spec.maxReplicaCount).toBeGreaterThanOrEqual(s.spec.minReplicaCount);
      expect(s.spec.maxReplicaCount).toBeLessThanOrEqual(Math.min(...CONSUMES[service].map((t) => t.partitions)));
    }
    const hasherCpu = one(objects, 'ScaledObject', 'hasher').spec.triggers.find((t: { type: string }) => t.type === 'cpu');
    expect(hasherCpu).toMatchObject({ metricType: 'Utilization', metadata: { value: expect.stringMatching(/^\d+$/) } });
    expect(one(objects, 'Deployment', 'hasher').spec.template.spec.containers[0].resources.requests.cpu).toBeDefined();
  });

  it('matches the Prometheus scrape config: pods labelled part-of=safeguard with a port named metrics', () => {
    const config = readFileSync(join(REPO_ROOT, 'ops/prometheus/prometheus.yml'), 'utf8');
    expect(config).toContain('__meta_kubernetes_pod_label_app_kubernetes_io_part_of');
    for (const service of SERVICES) {
      const w = workload(objects, service);
      expect(w.spec.template.metadata.labels['app.kubernetes.io/part-of']).toBe('safeguard');
      expect(w.spec.template.spec.containers[0].ports.map((p: { name: string }) => p.name)).toContain('metrics');
    }
  });
});
