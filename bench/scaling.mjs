/**
 * The scaling rows of `npm run bench` (issue 9): the same burst delivered by devhooks on the
 * standalone Redis with one worker, on a local Redis Cluster (3 masters, 16 shards) with one
 * worker, and with two; for each, deliveries/s and the CPU microseconds per delivery of the
 * workers (/proc) and of Redis (INFO cpu, every master), next to the raw HTTP client's own CPU per
 * request (bench/raw-client.mjs) in the same run. Ratios from one run are what to compare: the
 * machine's speed drifts between runs.
 */
import { randomBytes } from 'node:crypto';
import IORedis from 'ioredis';
import { startCluster, redisCpuSplit } from './cluster.mjs';
import {
  Proc,
  deleteKeys,
  forkChild,
  log,
  now,
  procCpuSplit,
  round,
  sleep,
  apiRequest as request,
  startOwnApi,
} from './lib.mjs';

/** One configuration: API + `workers` workers on `redis`, N deliveries, CPU per delivery. */
async function runOne(o) {
  const prefix = `bench-scale-${randomBytes(3).toString('hex')}`;
  const { api, pool, token, base } = await startOwnApi({ redisUrl: o.url, prefix, env: o.env });
  const procs = [api];
  try {
    const org = await request(pool, 'POST', '/v1/orgs', token, { name: 'scale' });
    const { key } = await request(pool, 'POST', `/v1/orgs/${org.id}/keys`, token, { name: 'k', role: 'admin' });
    const hook = await request(pool, 'POST', '/v1/webhooks', key, {
      name: 'rx',
      url: `${o.receiver.origin}/scale`,
      topics: ['deviceauth'],
    });
    for (let w = 0; w < o.workers; w++) {
      const p = new Proc(`worker${w}`, 'apps/worker/dist/main.js', base);
      procs.push(p);
      await p.waitForOutput('worker started');
    }
    await o.receiver.reset({ track: true });
    const reached = o.receiver.expect(o.n, 150_000);
    const workers = procs.slice(1);
    const cpuW0 = workers.map((p) => procCpuSplit(p.pid));
    const cpuR0 = await Promise.all(o.redisNodes.map(redisCpuSplit));
    const t0 = now();
    const stopTail = process.env.BENCH_TAIL
      ? tailWatch({ ...o, pool, key, hook, prefix, t0, procs: workers })
      : undefined;
    let next = 0;
    const batches = Math.ceil(o.n / 100);
    await Promise.all(
      Array.from({ length: 8 }, async () => {
        while (next < batches) {
          const b = next++;
          const events = Array.from({ length: 100 }, (_, i) => ({
            type: 'device-status-changed',
            data: { id: `dev-${(b * 100 + i) % 5_000}`, status: 'accepted' },
          }));
          await request(pool, 'POST', '/v1/events', key, { events });
        }
      }),
    );
    const r = await reached;
    stopTail?.();
    const seconds = ((r.reached ? r.at : now()) - t0) / 1000;
    const st = await o.receiver.stats();
    // CPU used meanwhile, in user mode and in the kernel (sockets), summed over processes / nodes
    const used = (after, before) =>
      after.reduce((s, c, i) => ({ user: s.user + c.user - before[i].user, sys: s.sys + c.sys - before[i].sys }), {
        user: 0,
        sys: 0,
      });
    const w = used(
      workers.map((p) => procCpuSplit(p.pid)),
      cpuW0,
    );
    const rd = used(await Promise.all(o.redisNodes.map(redisCpuSplit)), cpuR0);
    const workerCpu = w.user + w.sys;
    const redisCpu = rd.user + rd.sys;
    const perDelivery = (sec) => round((sec * 1e6) / Math.max(1, st.unique), 1);
    return {
      deliveries: st.unique,
      complete: r.reached,
      seconds: round(seconds, 2),
      deliveries_per_s: round(st.unique / seconds),
      worker_cpu_us_per_delivery: round((workerCpu * 1e6) / Math.max(1, st.unique), 1),
      redis_cpu_us_per_delivery: round((redisCpu * 1e6) / Math.max(1, st.unique), 1),
      // of which in the kernel
      worker_kernel_us_per_delivery: perDelivery(w.sys),
      redis_kernel_us_per_delivery: perDelivery(rd.sys),
    };
  } finally {
    await pool.close();
    await Promise.all(procs.map((p) => p.stop()));
    const r = o.cleanup;
    await deleteKeys(r, [`{${prefix}}*`, `{${prefix}:s*}*`]).catch(() => undefined);
  }
}

/**
 * BENCH_TAIL=1: where the deliveries not yet received are, 10 s and 25 s into a run (the bulk
 * arrives within 4–6 s): per shard, the stream entries pending in the group (and whose), the retry
 * jobs delayed, waiting and active; the first pending records; what the workers logged. It found
 * the ~40 s tail of the cluster runs: entries pending in the worker's name, held by nothing.
 */
function tailWatch(o) {
  const report = async () => {
    const sec = (now() - o.t0) / 1000;
    const { redisKeys, CONSUMER_GROUP } = await import('../packages/core/dist/index.js');
    const keys = redisKeys(o.prefix);
    const st = await o.receiver.stats();
    const lines = [`tail at ${round(sec, 1)} s: ${st.unique} of ${o.n} received`];
    const r = o.cleanup;
    for (let shard = 0; shard < Number(o.env.DEVHOOKS_SHARDS ?? 1); shard++) {
      const k = keys.shard(shard);
      const pend = await r.xpending(k.stream, CONSUMER_GROUP).catch((e) => e.message);
      const q = `${k.queuePrefix}:retries`;
      const [delayed, wait, active] = await Promise.all([
        r.zcard(`${q}:delayed`).catch(() => -1),
        r.llen(`${q}:wait`).catch(() => -1),
        r.llen(`${q}:active`).catch(() => -1),
      ]);
      if ((Array.isArray(pend) && pend[0]) || delayed || wait || active)
        lines.push(`  shard ${shard} pending=${JSON.stringify(pend)} delayed=${delayed} wait=${wait} active=${active}`);
    }
    const list = await request(
      o.pool,
      'GET',
      `/v1/webhooks/${o.hook.id}/deliveries?status=pending&limit=8`,
      o.key,
    ).catch((e) => ({ error: e.message }));
    lines.push(`  pending records: ${list.total ?? list.error}`);
    for (const d of list.deliveries ?? []) {
      const full = await request(o.pool, 'GET', `/v1/deliveries/${d.id}`, o.key).catch((e) => ({ error: e.message }));
      lines.push(
        `  ${d.id} created=${full.created_at} next=${full.next_attempt_at} attempts=${full.attempts} log=${JSON.stringify(full.attempt_log)}`,
      );
    }
    for (const p of o.procs) {
      lines.push(`  ${p.name} pid ${p.pid} problems: ${p.problems.slice(0, 10).join('\n    ')}`);
      lines.push(`  ${p.name} said: ${JSON.stringify(p.messages)}`);
    }
    log(lines.join('\n'));
  };
  // a stop for both reports (the run ended first)
  const timers = [10_000, 25_000].map((ms) =>
    setTimeout(() => report().catch((e) => log(`tail report failed: ${e.message}`)), ms),
  );
  return () => timers.forEach(clearTimeout);
}

/** Raw undici's CPU per request against the same receiver, in its own process. */
async function rawClientCpu(receiver, count) {
  const child = forkChild('raw-client.mjs', { BENCH_RAW_ORIGIN: receiver.origin, BENCH_RAW_COUNT: String(count) });
  return new Promise((resolve, reject) => {
    child.once('message', resolve);
    child.once('exit', (code) => code && reject(new Error(`raw client exited ${code}`)));
  });
}

export async function benchScaling({ receiver, redisUrl, quick }) {
  const n = quick ? 5_000 : 20_000;
  const raw = await rawClientCpu(receiver, quick ? 5_000 : 20_000);
  log(`scaling: raw client ${round(raw.cpu_us_per_request, 1)} µs CPU per request`);
  const standaloneNode = new IORedis(redisUrl);
  const out = {
    n,
    client_cpu_us_per_request: round(raw.cpu_us_per_request, 1),
    client_kernel_us_per_request: round(raw.kernel_us_per_request, 1),
  };
  try {
    out.standalone_1_worker = await runOne({
      receiver,
      n,
      workers: 1,
      url: redisUrl,
      env: {},
      redisNodes: [standaloneNode],
      cleanup: standaloneNode,
    });
    log(`scaling: standalone, 1 worker: ${JSON.stringify(out.standalone_1_worker)}`);
    const cluster = await startCluster(3);
    try {
      const clusterClient = new IORedis.Cluster([
        { host: '127.0.0.1', port: Number(new URL(cluster.url.split(',')[0]).port) },
      ]);
      const c = {
        receiver,
        n,
        url: cluster.url,
        env: { DEVHOOKS_REDIS_CLUSTER: 'true', DEVHOOKS_SHARDS: '16' },
        redisNodes: cluster.nodes,
        cleanup: clusterClient,
      };
      out.cluster_1_worker = await runOne({ ...c, workers: 1 });
      log(`scaling: cluster, 1 worker: ${JSON.stringify(out.cluster_1_worker)}`);
      await sleep(500);
      out.cluster_2_workers = await runOne({ ...c, workers: 2 });
      log(`scaling: cluster, 2 workers: ${JSON.stringify(out.cluster_2_workers)}`);
      clusterClient.disconnect();
    } finally {
      await cluster.stop();
    }
  } finally {
    standaloneNode.disconnect();
  }
  const ratio = (a, b) => (a && b ? round(a / b, 2) : null);
  out.cluster_vs_standalone = ratio(out.cluster_1_worker?.deliveries_per_s, out.standalone_1_worker?.deliveries_per_s);
  out.two_workers_vs_one = ratio(out.cluster_2_workers?.deliveries_per_s, out.cluster_1_worker?.deliveries_per_s);
  out.worker_cpu_vs_client = ratio(out.standalone_1_worker?.worker_cpu_us_per_delivery, out.client_cpu_us_per_request);
  out.redis_cpu_vs_client = ratio(out.standalone_1_worker?.redis_cpu_us_per_delivery, out.client_cpu_us_per_request);
  return out;
}
