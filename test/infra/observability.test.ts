/**
 * infra/grafana/devhooks-dashboard.json and infra/prometheus/alerts.yml: the panels and alerts
 * on-call needs, and every metric they query exported by the code, or listed in
 * infra/prometheus/planned-metrics.yml (names the code does not export yet).
 */
import fs from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { exportedMetricNames, isKnownSeries, promqlMetricNames } from './promql-names';

const ROOT = path.resolve(__dirname, '../..');
const read = (p: string) => fs.readFileSync(path.join(ROOT, p), 'utf8');

const dashboard = JSON.parse(read('infra/grafana/devhooks-dashboard.json'));
const alerts = parse(read('infra/prometheus/alerts.yml'));
const planned: Array<{ name: string; type: string; help: string }> = parse(
  read('infra/prometheus/planned-metrics.yml'),
);
const rules: any[] = alerts.groups.flatMap((g: any) => g.rules);
const exprs: Array<[where: string, expr: string]> = [
  ...dashboard.panels.flatMap((p: any) => p.targets.map((t: any) => [`panel "${p.title}"`, t.expr])),
  ...rules.map((r) => [`alert ${r.alert}`, r.expr]),
];
/** Series that are not devhooks' own but always exist in Prometheus. */
const PROMETHEUS_SERIES = new Set(['up']);

let exported: Set<string>;
beforeAll(async () => {
  exported = await exportedMetricNames(ROOT);
});

test('the metric-name reader finds names in PromQL and leaves functions, labels and keywords out', () => {
  expect(
    promqlMetricNames(
      'histogram_quantile(0.9, sum by (le) (rate(devhooks_a_bucket{route="/v1/x",le!="1"}[5m]))) / on (x) max without (pod) (devhooks_b > 0) and up == 0',
    ).sort(),
  ).toEqual(['devhooks_a_bucket', 'devhooks_b', 'up']);
});

test('a metric that exists nowhere is caught', () => {
  const names = promqlMetricNames('sum(rate(devhooks_no_such_metric_total[5m]))');
  expect(names.filter((n) => !isKnownSeries(n, exported))).toEqual(['devhooks_no_such_metric_total']);
});

test('every metric the dashboard and the alerts use is exported by the code or listed as planned', () => {
  const known = new Set([...exported, ...planned.map((p) => p.name), ...PROMETHEUS_SERIES]);
  const unknown = exprs.flatMap(([where, e]) =>
    promqlMetricNames(e)
      .filter((n) => !isKnownSeries(n, known))
      .map((n) => `${where}: ${n}`),
  );
  expect(unknown).toEqual([]);
  for (const name of exprs.flatMap(([, e]) => promqlMetricNames(e))) {
    if (!PROMETHEUS_SERIES.has(name)) expect(name).toMatch(/^devhooks_/);
  }
});

test('the planned-metrics list names only metrics the code does not export yet, each used and described', () => {
  const used = new Set(exprs.flatMap(([, e]) => promqlMetricNames(e)));
  for (const p of planned) {
    expect({ name: p.name, exportedAlready: exported.has(p.name) }).toEqual({ name: p.name, exportedAlready: false });
    expect(used.has(p.name)).toBe(true);
    expect(p.help.length).toBeGreaterThan(20);
    expect(['gauge', 'counter', 'histogram']).toContain(p.type);
  }
});

test('the dashboard has the panels on-call needs, each with a query, and unique ids', () => {
  const titles = dashboard.panels.map((p: any) => p.title.toLowerCase());
  for (const needed of [
    'ingest rate',
    'deliveries by outcome',
    'attempt latency',
    'backlog per shard',
    'oldest pending',
    'retry queue',
    'disabled webhooks',
    'redis memory',
  ]) {
    expect(titles.filter((t: string) => t.includes(needed))).toHaveLength(1);
  }
  const ids = dashboard.panels.map((p: any) => p.id);
  expect(new Set(ids).size).toBe(ids.length);
  for (const p of dashboard.panels) {
    expect(p.targets.length).toBeGreaterThan(0);
    expect(p.gridPos).toEqual(expect.objectContaining({ w: expect.any(Number), h: expect.any(Number) }));
    for (const t of p.targets) expect(t.datasource.uid).toBe('${datasource}');
  }
  expect(dashboard.templating.list.map((v: any) => v.name)).toContain('datasource');
});

test('the alerts cover backlog, pending age, failures, disabled webhooks, Redis memory and restarts', () => {
  const byMetric = (metric: string) => rules.filter((r) => promqlMetricNames(r.expr).includes(metric));
  for (const metric of [
    'devhooks_backlog_events',
    'devhooks_oldest_pending_age_seconds',
    'devhooks_delivery_attempts_total',
    'devhooks_webhooks_disabled_total',
    'devhooks_redis_maxmemory_bytes',
    'devhooks_process_start_time_seconds',
  ]) {
    expect({ metric, alerts: byMetric(metric).length }).toEqual({ metric, alerts: 1 });
  }
  for (const r of rules) {
    expect(r.alert).toMatch(/^Devhooks[A-Za-z]+$/);
    expect(['info', 'warning', 'critical']).toContain(r.labels.severity);
    expect(r.annotations.summary).toBeTruthy();
    expect(r.annotations.description).toBeTruthy();
    if (r.for !== undefined) expect(r.for).toMatch(/^\d+[smh]$/);
  }
  expect(new Set(rules.map((r) => r.alert)).size).toBe(rules.length);
});
