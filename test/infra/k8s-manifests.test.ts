/**
 * infra/k8s: every manifest valid against the Kubernetes and KEDA schemas (no cluster), and the
 * references between them right: selectors, ports, probes, secrets, the KEDA streams and the grace
 * period against the worker's drain deadline as the worker's own config computes it.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { CONSUMER_GROUP, redisKeys } from '@devhooks/core';
import { loadApiConfig } from '../../apps/api/src/config';
import { loadWorkerConfig } from '../../apps/worker/src/config';
import { loadKustomization, readManifests, validateManifest, type Manifest } from './k8s-models';

const DIR = path.resolve(__dirname, '../../infra/k8s');
const { resources, manifests } = loadKustomization(DIR);
const [secret] = readManifests(path.join(DIR, 'secret.example.yaml'));

function one(kind: string, name: string): Manifest {
  const found = manifests.filter((m) => m.kind === kind && m.metadata.name === name);
  if (found.length !== 1) throw new Error(`expected one ${kind} ${name} in infra/k8s, found ${found.length}`);
  return found[0];
}
const api = one('Deployment', 'devhooks-api');
const worker = one('Deployment', 'devhooks-worker');
const config = one('ConfigMap', 'devhooks-config');
const scaled = one('ScaledObject', 'devhooks-worker');

/** Well-formed values for the Secret's keys (the example's are placeholders). */
const SECRET_VALUES: Record<string, string> = {
  'admin-token': randomBytes(24).toString('hex'),
  'encryption-key': randomBytes(32).toString('base64'),
};

/** A container's environment as the pod would get it. */
function containerEnv(d: Manifest): Record<string, string> {
  const c = d.spec.template.spec.containers[0];
  const env: Record<string, string> = {};
  for (const from of c.envFrom ?? []) {
    expect(from.configMapRef.name).toBe(config.metadata.name);
    Object.assign(env, config.data);
  }
  for (const e of c.env ?? []) {
    const ref = e.valueFrom?.secretKeyRef;
    if (ref) {
      expect(ref.name).toBe(secret.metadata.name);
      expect(Object.keys(secret.stringData)).toContain(ref.key);
    }
    env[e.name] = ref ? SECRET_VALUES[ref.key] : e.value;
  }
  return env;
}

const matches = (selector: Record<string, string>, labels: Record<string, string>) =>
  Object.entries(selector).every(([k, v]) => labels[k] === v);

test('every manifest of the kustomization, and the example Secret, is valid for its schema', () => {
  expect(manifests.length).toBeGreaterThanOrEqual(resources.length);
  expect(Object.keys(secret.stringData).sort()).toEqual(Object.keys(SECRET_VALUES).sort());
  for (const m of [...manifests, secret]) expect(() => validateManifest(m)).not.toThrow();
  // and every YAML file here is either a resource or the example secret
  const yamls = fs.readdirSync(DIR).filter((f) => f.endsWith('.yaml') && f !== 'kustomization.yaml');
  expect(yamls.sort()).toEqual([...resources, 'secret.example.yaml'].sort());
});

test('the validator rejects broken manifests', () => {
  const badPort = structuredClone(worker);
  badPort.spec.template.spec.containers[0].ports[0].containerPort = 'metrics';
  expect(() => validateManifest(badPort)).toThrow(/containerPort/);
  const noContainers = structuredClone(api);
  delete noContainers.spec.template.spec.containers;
  expect(() => validateManifest(noContainers)).toThrow(/containers/);
  const numericLag = structuredClone(scaled);
  numericLag.spec.triggers[0].metadata.lagCount = 500;
  expect(() => validateManifest(numericLag)).toThrow(/lagCount/);
  expect(() => validateManifest({ ...config, apiVersion: 'v2' })).toThrow(/no schema/);
});

test('selectors of Deployments, Services and PodDisruptionBudgets match the pods they mean', () => {
  for (const d of [api, worker]) {
    expect(matches(d.spec.selector.matchLabels, d.spec.template.metadata.labels)).toBe(true);
  }
  const component = (d: Manifest) => d.spec.template.metadata.labels['app.kubernetes.io/component'];
  for (const m of manifests.filter((x) => x.kind === 'Service' || x.kind === 'PodDisruptionBudget')) {
    const selector = m.kind === 'Service' ? m.spec.selector : m.spec.selector.matchLabels;
    const targets = [api, worker].filter((d) => matches(selector, d.spec.template.metadata.labels));
    expect(targets.map((d) => d.metadata.name)).toEqual([m.metadata.name]);
    if (m.kind === 'Service') {
      const portNames = targets[0].spec.template.spec.containers[0].ports.map((p: any) => p.name);
      for (const p of m.spec.ports) expect(portNames).toContain(p.targetPort);
    }
    expect(component(targets[0])).toBe(m.metadata.labels?.['app.kubernetes.io/component']);
  }
});

test('the API scales on CPU, the workers with KEDA, each target being the right Deployment', () => {
  const hpas = manifests.filter((m) => m.kind === 'HorizontalPodAutoscaler');
  expect(hpas.map((h) => h.spec.scaleTargetRef)).toEqual([
    { apiVersion: 'apps/v1', kind: 'Deployment', name: api.metadata.name },
  ]);
  expect(hpas[0].spec.metrics[0].resource.name).toBe('cpu');
  expect(scaled.spec.scaleTargetRef).toEqual({ apiVersion: 'apps/v1', kind: 'Deployment', name: worker.metadata.name });
  for (const d of [api, worker]) {
    const r = d.spec.template.spec.containers[0].resources;
    expect(r.requests.cpu && r.requests.memory && r.limits.cpu && r.limits.memory).toBeTruthy();
  }
});

test('probes hit /healthz and /readyz on the port each process serves them on', () => {
  const cases: Array<[Manifest, string, string]> = [
    [api, 'DEVHOOKS_PORT', 'DEVHOOKS_HOST'],
    [worker, 'DEVHOOKS_WORKER_PORT', 'DEVHOOKS_WORKER_HOST'],
  ];
  for (const [d, portVar, hostVar] of cases) {
    const c = d.spec.template.spec.containers[0];
    const env = containerEnv(d);
    expect(env[hostVar]).toBe('0.0.0.0');
    const [port] = c.ports;
    expect(port.containerPort).toBe(Number(env[portVar]));
    expect(c.livenessProbe.httpGet).toEqual({ path: '/healthz', port: port.name });
    expect(c.readinessProbe.httpGet).toEqual({ path: '/readyz', port: port.name });
    expect(d.spec.template.metadata.annotations['prometheus.io/port']).toBe(String(port.containerPort));
  }
});

test('the configuration parses with the apps’ own config loaders; grace periods outlast the drains', () => {
  const apiEnv = containerEnv(api);
  const workerEnv = containerEnv(worker);
  for (const env of [apiEnv, workerEnv]) {
    expect(env).toMatchObject({
      DEVHOOKS_REDIS_CLUSTER: 'true',
      DEVHOOKS_SHARDS: '16',
      DEVHOOKS_INGEST_REPLICAS: '1',
    });
    expect(env.DEVHOOKS_ENCRYPTION_KEY).toBeTruthy();
    for (const seed of env.DEVHOOKS_REDIS_URL.split(',')) expect(seed).toMatch(/^redis:\/\/[^,\s]+:\d+$/);
  }
  expect(loadApiConfig(apiEnv).host).toBe('0.0.0.0');
  const { shutdownMs } = loadWorkerConfig(workerEnv);
  expect(worker.spec.template.spec.terminationGracePeriodSeconds * 1000).toBeGreaterThan(shutdownMs + 5_000);
  // the API's preStop sleep plus its own close deadline (10 s, apps/api/src/main.ts)
  const preStop = Number(api.spec.template.spec.containers[0].lifecycle.preStop.exec.command[1]);
  expect(api.spec.template.spec.terminationGracePeriodSeconds).toBeGreaterThan(preStop + 10);
});

test('pods run as non-root, without privilege escalation, on a read-only root', () => {
  for (const d of [api, worker]) {
    const pod = d.spec.template.spec;
    expect(pod.securityContext.runAsNonRoot).toBe(true);
    expect(pod.securityContext.runAsUser).toBeGreaterThan(0);
    for (const c of pod.containers) {
      expect(c.securityContext).toMatchObject({ allowPrivilegeEscalation: false, readOnlyRootFilesystem: true });
      expect(c.securityContext.capabilities.drop).toEqual(['ALL']);
    }
  }
});

test('KEDA watches every shard stream of the configured prefix, in the Redis the processes use', () => {
  const env = containerEnv(worker);
  const keys = redisKeys(env.DEVHOOKS_PREFIX);
  const streams = scaled.spec.triggers.filter((t: any) => t.type === 'redis-cluster-streams');
  expect(streams.map((t: any) => t.metadata.stream)).toEqual(
    Array.from({ length: Number(env.DEVHOOKS_SHARDS) }, (_, n) => keys.shard(n).stream),
  );
  const seeds = env.DEVHOOKS_REDIS_URL.split(',').map((u) => new URL(u).host);
  for (const t of streams) {
    expect(t.metadata.consumerGroup).toBe(CONSUMER_GROUP);
    expect(Number(t.metadata.lagCount)).toBeGreaterThan(0);
    expect(t.metadata.addresses.split(',')).toEqual(seeds);
  }
  const prometheus = scaled.spec.triggers.filter((t: any) => t.type === 'prometheus');
  expect(prometheus).toHaveLength(1);
  expect(prometheus[0].metadata.query).toContain('devhooks_retries_pending');
});

test('the committed ScaledObject is what its generator prints', () => {
  const generated = execFileSync(process.execPath, [path.join(DIR, 'worker-scaledobject.mjs')], { encoding: 'utf8' });
  expect(generated).toBe(fs.readFileSync(path.join(DIR, 'worker-scaledobject.yaml'), 'utf8'));
});
