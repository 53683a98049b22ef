/**
 * The ordered-delivery rows of `npm run bench` (issue 10): the same burst, queued first and then
 * drained by one worker on the standalone Redis, delivered to a webhook with `ordering: none` and to
 * one with `ordering: device`, interleaved (none, device, none, device), so the ratio compares runs
 * taken minutes apart by nothing. Events spread over `devices` devices; an ordered webhook gets each device's
 * events one at a time (chain, watermark, release: docs/decisions/0007-ordered-delivery.md), so its
 * rate depends on how many devices are active at once.
 *
 *   node bench/ordering.mjs [--quick]   alone (prints JSON; writes no results file)
 */
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import IORedis from 'ioredis';
import {
  Proc,
  REDIS_URL,
  Receiver,
  deleteKeys,
  log,
  round,
  sleep,
  apiRequest as request,
  startOwnApi,
} from './lib.mjs';

/** One run: API + one worker, a webhook with `ordering`, n events over `devices` devices. */
async function runOne({ receiver, redisUrl, ordering, n, devices }) {
  const prefix = `bench-order-${randomBytes(3).toString('hex')}`;
  const { api, pool, token, base } = await startOwnApi({ redisUrl, prefix });
  const procs = [api];
  const cleanup = new IORedis(redisUrl);
  try {
    const org = await request(pool, 'POST', '/v1/orgs', token, { name: 'ordering' });
    const { key } = await request(pool, 'POST', `/v1/orgs/${org.id}/keys`, token, { name: 'k', role: 'admin' });
    await request(pool, 'POST', '/v1/webhooks', key, {
      name: `rx-${ordering}`,
      url: `${receiver.origin}/ordering-${ordering}`,
      topics: ['deviceauth'],
      ordering,
    });
    // the burst is queued first, then one worker drains it: delivery throughput, not ingest's
    let next = 0;
    const batches = Math.ceil(n / 100);
    await Promise.all(
      Array.from({ length: 8 }, async () => {
        while (next < batches) {
          const b = next++;
          const events = Array.from({ length: 100 }, (_, i) => {
            const device = `dev-${(b * 100 + i) % devices}`;
            return { type: 'device-status-changed', device_id: device, data: { id: device, status: 'accepted' } };
          });
          await request(pool, 'POST', '/v1/events', key, { events });
        }
      }),
    );
    await receiver.reset({ track: true });
    const reached = receiver.expect(n, Number(process.env.BENCH_ORDERING_TIMEOUT_MS ?? 150_000));
    const worker = new Proc('worker', 'apps/worker/dist/main.js', base);
    procs.push(worker);
    await worker.waitForOutput('worker started');
    const r = await reached;
    const st = await receiver.stats();
    // from the first delivery to the last: the worker's start-up is not counted
    const seconds = ((r.reached ? r.at : st.last) - st.first) / 1000;
    if (!r.reached) {
      // where the missing deliveries are: still in the stream's group, or in the retry queue
      const k = `{${prefix}}:retries`;
      const [pending] = await cleanup.xpending(`{${prefix}:s0}:events`, 'workers');
      const queue = {
        wait: await cleanup.llen(`${k}:wait`),
        delayed: await cleanup.zcard(`${k}:delayed`),
        active: await cleanup.llen(`${k}:active`),
      };
      log(
        `ordering: incomplete (${st.unique} of ${n}); stream pending ${pending}, retry queue ${JSON.stringify(queue)}`,
      );
      const groups = await cleanup.xinfo('GROUPS', `{${prefix}:s0}:events`);
      log(`ordering: stream length ${await cleanup.xlen(`{${prefix}:s0}:events`)}, groups ${JSON.stringify(groups)}`);
      log(`ordering: worker said ${JSON.stringify(worker.messages)}; receiver ${JSON.stringify(st)}`);
    }
    return {
      ordering,
      deliveries: st.unique,
      complete: r.reached,
      seconds: round(seconds, 2),
      deliveries_per_s: round(st.unique / seconds),
    };
  } finally {
    await pool.close();
    await Promise.all(procs.map((p) => p.stop()));
    if (!process.env.BENCH_ORDERING_KEEP)
      await deleteKeys(cleanup, [`{${prefix}}*`, `{${prefix}:s*}*`]).catch(() => undefined);
    cleanup.disconnect();
  }
}

export async function benchOrdering({ receiver, redisUrl = REDIS_URL, quick = false }) {
  const n = Number(process.env.BENCH_ORDERING_EVENTS ?? (quick ? 5_000 : 20_000));
  const devices = Number(process.env.BENCH_ORDERING_DEVICES ?? (quick ? 500 : 2_000));
  const runs = [];
  for (const ordering of (process.env.BENCH_ORDERING_SEQUENCE ?? 'none,device,none,device').split(',')) {
    const r = await runOne({ receiver, redisUrl, ordering, n, devices });
    log(`ordering: ${JSON.stringify(r)}`);
    runs.push(r);
    await sleep(300);
  }
  const mean = (o) => {
    const xs = runs.filter((r) => r.ordering === o && r.complete).map((r) => r.deliveries_per_s);
    return xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : null;
  };
  const unordered = mean('none');
  const ordered = mean('device');
  return {
    events: n,
    devices,
    runs,
    unordered_dps: round(unordered),
    ordered_dps: round(ordered),
    ordered_vs_unordered: unordered && ordered ? round(ordered / unordered, 3) : null,
  };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const receiver = await Receiver.start();
  try {
    const out = await benchOrdering({ receiver, quick: process.argv.includes('--quick') });
    process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
  } finally {
    await receiver.stop();
  }
}
