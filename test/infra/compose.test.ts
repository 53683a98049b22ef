/**
 * docker-compose.yml, checked as a file (no Docker engine here): the default stack unchanged, the
 * `cluster` profile (6 Redis nodes, a create job, API and scalable workers in cluster mode), the
 * `observability` profile (Prometheus with infra/prometheus.yml and the alerts, Grafana with the
 * dashboard), every mounted file present, and Prometheus' targets the services' real ports.
 */
import fs from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';

const ROOT = path.resolve(__dirname, '../..');
const compose = parse(fs.readFileSync(path.join(ROOT, 'docker-compose.yml'), 'utf8'), { merge: true });
const services: Record<string, any> = compose.services;
const inProfile = (p: string) => Object.keys(services).filter((s) => services[s].profiles?.includes(p));
const dependsOn = (s: string): string[] =>
  Array.isArray(services[s].depends_on) ? services[s].depends_on : Object.keys(services[s].depends_on ?? {});
/** A service's bind mounts as [host path, container path]. */
const binds = (s: string): Array<[string, string]> =>
  (services[s].volumes ?? [])
    .filter((v: string) => v.startsWith('./'))
    .map((v: string) => v.split(':').slice(0, 2) as [string, string]);

test('the default stack is redis, api and worker, with no profile and no dependency on a profiled service', () => {
  const always = Object.keys(services).filter((s) => !services[s].profiles);
  expect(always.sort()).toEqual(['api', 'redis', 'worker']);
  for (const s of always) for (const d of dependsOn(s)) expect(always).toContain(d);
  expect(services.api.environment).toMatchObject({
    DEVHOOKS_REDIS_URL: 'redis://redis:6379',
    DEVHOOKS_HOST: '0.0.0.0',
  });
  expect(services.worker.environment).toMatchObject({ DEVHOOKS_WORKER_PORT: '9464', DEVHOOKS_WORKER_HOST: '0.0.0.0' });
  expect(services.api.environment.DEVHOOKS_ADMIN_TOKEN).toMatch(/^\$\{DEVHOOKS_ADMIN_TOKEN:\?/);
});

test('every dependency, named volume and bind-mounted file exists', () => {
  for (const s of Object.keys(services)) {
    for (const d of dependsOn(s)) expect(Object.keys(services)).toContain(d);
    for (const [host] of binds(s))
      expect({ s, host, exists: fs.existsSync(path.join(ROOT, host)) }).toMatchObject({ exists: true });
    for (const v of (services[s].volumes ?? []).filter((x: string) => !x.startsWith('./'))) {
      expect(Object.keys(compose.volumes)).toContain(v.split(':')[0]);
    }
    if (services[s].build) expect(fs.existsSync(path.join(ROOT, services[s].build.dockerfile))).toBe(true);
  }
});

test('the cluster profile: 6 cluster-enabled nodes, a job that creates the cluster, API and scalable workers', () => {
  const nodes = inProfile('cluster').filter((s) => s.startsWith('redis-node-'));
  expect(nodes).toHaveLength(6);
  const conf = fs.readFileSync(path.join(ROOT, 'infra/redis-cluster.conf'), 'utf8');
  expect(conf).toMatch(/^cluster-enabled yes$/m);
  expect(conf).toMatch(/^maxmemory-policy noeviction$/m);
  for (const n of nodes) {
    expect(binds(n)).toContainEqual(['./infra/redis-cluster.conf', services[n].command[1]]);
    expect(services[n].command).toEqual(expect.arrayContaining(['--cluster-announce-hostname', n]));
  }
  const init = services['redis-cluster-init'];
  expect(init.profiles).toEqual(['cluster']);
  expect(dependsOn('redis-cluster-init').sort()).toEqual(nodes.sort());
  const script = init.command.join('\n');
  expect(script).toMatch(/redis-cli --cluster create .* --cluster-replicas 1 --cluster-yes/);
  expect(script).toContain('for n in 1 2 3 4 5 6');

  for (const s of ['cluster-api', 'cluster-worker']) {
    const env = services[s].environment;
    expect(services[s].profiles).toEqual(['cluster']);
    expect(env.DEVHOOKS_REDIS_CLUSTER).toBe('true');
    for (const seed of env.DEVHOOKS_REDIS_URL.split(',')) expect(nodes).toContain(new URL(seed).hostname);
    expect(services[s].depends_on['redis-cluster-init']).toEqual({ condition: 'service_completed_successfully' });
  }
  // scalable: no fixed name and no host port
  expect(services['cluster-worker'].container_name).toBeUndefined();
  expect(services['cluster-worker'].ports).toBeUndefined();
  expect(services['cluster-api'].ports).not.toEqual(services.api.ports);
});

test('the observability profile: Prometheus runs infra/prometheus.yml with the alerts, Grafana the dashboard', () => {
  expect(inProfile('observability').sort()).toEqual(['grafana', 'prometheus']);
  const promBinds = new Map(binds('prometheus'));
  const configPath = promBinds.get('./infra/prometheus.yml');
  expect(services.prometheus.command).toContain(`--config.file=${configPath}`);
  const prom = parse(fs.readFileSync(path.join(ROOT, 'infra/prometheus.yml'), 'utf8'));
  for (const rules of prom.rule_files) {
    const inContainer = path.posix.join(path.posix.dirname(configPath!), rules);
    expect([...promBinds.values()]).toContain(inContainer);
  }
  expect(promBinds.get('./infra/prometheus/alerts.yml')).toBeDefined();

  const grafana = new Map(binds('grafana'));
  const provisioning = grafana.get('./infra/grafana/provisioning');
  expect(provisioning).toBe('/etc/grafana/provisioning');
  const dashboards = parse(
    fs.readFileSync(path.join(ROOT, 'infra/grafana/provisioning/dashboards/devhooks.yml'), 'utf8'),
  );
  expect(path.posix.dirname(grafana.get('./infra/grafana/devhooks-dashboard.json')!)).toBe(
    dashboards.providers[0].options.path,
  );
  const datasources = parse(
    fs.readFileSync(path.join(ROOT, 'infra/grafana/provisioning/datasources/prometheus.yml'), 'utf8'),
  );
  expect(datasources.datasources[0].url).toBe(`http://prometheus:${services.prometheus.ports[0].split(':')[1]}`);
});

test('Prometheus scrapes every API and worker service on the port it serves /metrics on', () => {
  const prom = parse(fs.readFileSync(path.join(ROOT, 'infra/prometheus.yml'), 'utf8'));
  const targets = new Map<string, number>();
  for (const job of prom.scrape_configs) {
    for (const sd of job.dns_sd_configs ?? []) for (const name of sd.names) targets.set(name, sd.port);
    for (const sc of job.static_configs ?? []) {
      for (const t of sc.targets) targets.set(t.split(':')[0], Number(t.split(':')[1]));
    }
  }
  const devhooks = Object.keys(services).filter((s) => /apps\/(api|worker)\//.test(services[s].command?.[1] ?? ''));
  expect([...targets.keys()].sort()).toEqual(devhooks.sort());
  for (const s of devhooks) {
    const env = services[s].environment;
    const port = services[s].command[1].includes('/api/') ? (env.DEVHOOKS_PORT ?? '8080') : env.DEVHOOKS_WORKER_PORT;
    expect({ s, port: targets.get(s) }).toEqual({ s, port: Number(port) });
  }
});
