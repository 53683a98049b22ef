/**
 * Failover without loss (docs/contract.md §7): on a local Redis Cluster (3 masters, 3 replicas),
 * with DEVHOOKS_INGEST_REPLICAS=1, a burst of 10,000 events is posted while the master that holds
 * the most event-stream shards is SIGKILLed. Its replica takes over; the API and the worker are
 * never restarted. A producer sends again, with the same ids, any batch answered 503 (as the API
 * asks); every event answered 202 reaches the receiver, none is lost. The killed node is then
 * started again and rejoins as a replica (until then, the shards it served have no replica, so
 * ingest there waits for one: 503).
 */
import { redisKeys } from '@devhooks/core';
import { Client, ROOT } from '../support/api';
import { clusterBackend } from '../support/backend';
import { baseEnv, startApiProcess, startWorkerProcess, type Proc } from '../support/processes';
import { eventually, Receiver } from '../support/receiver';
import { testPrefix } from '../support/redis';

jest.setTimeout(400_000);

const N = 10_000;
const BATCH = 100;
const prefix = testPrefix(__filename);
const backend = clusterBackend();
let api: Proc;
let worker: Proc;
let client: Client;
let rx: Receiver;

beforeAll(async () => {
  await backend.start();
  rx = await Receiver.start();
  const env = {
    ...baseEnv(prefix, {
      DEVHOOKS_ALLOW_PRIVATE_TARGETS: 'true',
      DEVHOOKS_DELIVERY_TIMEOUT: '2s',
      DEVHOOKS_CLAIM_IDLE: '5s',
      DEVHOOKS_INGEST_REPLICAS: '1',
    }),
    ...backend.env(),
  };
  const started = await startApiProcess({ ...env, DEVHOOKS_ADMIN_TOKEN: ROOT });
  api = started.proc;
  client = new Client(started.base);
  worker = await startWorkerProcess(env);
});
afterAll(async () => {
  await Promise.all([api, worker].map((p) => p?.kill('SIGKILL')));
  await rx.close();
  await backend.stop(prefix);
});

it('loses no event answered 202 when the master of the most shards is SIGKILLed mid-burst', async () => {
  const org = await client.org('failover', 'admin');
  const hook = await client.call('POST', '/v1/webhooks', {
    token: org.key,
    body: { name: 'rx', url: rx.url(), topics: ['deviceauth'] },
  });
  expect(hook.status).toBe(201);
  const received = new Map<string, number>();
  rx.respond = (r) => {
    const id = String(r.headers['webhook-id']);
    received.set(id, (received.get(id) ?? 0) + 1);
    return {};
  };

  const cluster = backend.cluster!;
  const keys = redisKeys(prefix);
  const victim = await cluster.masterOwningMost(Array.from({ length: backend.shards }, (_, s) => keys.shard(s).stream));
  const accepted = new Set<string>();
  const counts = { batches: 0, resent: 0, answers: {} as Record<string, number> };
  let killed = false;
  let rejoined: Promise<void> | undefined;
  let slowest = 0;

  for (let b = 0; b < N / BATCH; b++) {
    const events = Array.from({ length: BATCH }, (_, i) => ({
      id: `fo-${b * BATCH + i}`,
      type: 'device-status-changed',
      data: { id: `dev-${i % 50}`, status: 'accepted' },
    }));
    // as a producer should: the same batch, with the same ids, until it is accepted (bounded)
    for (let tries = 0; ; tries++) {
      const t0 = performance.now();
      const r = await client.call('POST', '/v1/events', { token: org.key, body: { events } });
      slowest = Math.max(slowest, performance.now() - t0);
      counts.answers[r.status] = (counts.answers[r.status] ?? 0) + 1;
      if (r.status === 202) break;
      expect([429, 503]).toContain(r.status);
      expect(tries).toBeLessThan(200);
      counts.resent++;
      await new Promise((res) => setTimeout(res, 250));
    }
    counts.batches++;
    for (const e of events) accepted.add(e.id);
    if (!killed && accepted.size >= 2_000) {
      killed = true;
      await cluster.killNode(victim.port, 'SIGKILL');
      // the killed master's replica is promoted by the cluster itself; once it serves the slots,
      // the old node comes back as its replica (WAIT 1 needs one)
      rejoined = cluster.waitForFailover(victim.port, 60_000).then(() => cluster.restartNode(victim.port));
    }
  }
  expect(killed).toBe(true);
  expect(accepted.size).toBe(N);
  await rejoined;
  // the killed master's slots are served by another node now; it came back as a replica
  expect((await cluster.masters()).map((m) => m.port)).not.toContain(victim.port);

  await eventually(() => [...accepted].every((id) => received.has(id)) || undefined, 60_000, 250).catch(async (err) => {
    const redis = backend.redis();
    const shards = [];
    for (let sh = 0; sh < backend.shards; sh++) {
      const k = keys.shard(sh);
      const pend = await redis.xpending(k.stream, 'workers').catch((e: Error) => e.message);
      const len = await redis.xlen(k.stream).catch(() => -1);
      const delayed = await redis.zcard(`${k.queuePrefix}:retries:delayed`).catch(() => -1);
      const wait = await redis.llen(`${k.queuePrefix}:retries:wait`).catch(() => -1);
      shards.push(`s${sh} len=${len} pending=${JSON.stringify(pend)} delayed=${delayed} wait=${wait}`);
    }
    throw new Error(
      `${(err as Error).message}: ${received.size} of ${accepted.size} delivered\n${shards.join('\n')}\nworker said:\n${worker.output.slice(-3000)}`,
    );
  });
  const lost = [...accepted].filter((id) => !received.has(id)).length;
  const duplicates = [...received.values()].reduce((n, c) => n + c - 1, 0);
  console.log(
    `failover: accepted ${accepted.size}, delivered ${received.size}, lost ${lost}, duplicate deliveries ${duplicates}, ` +
      `batches ${counts.batches}, resent ${counts.resent}, answers ${JSON.stringify(counts.answers)}, ` +
      `slowest answer ${Math.round(slowest)} ms`,
  );
  expect(lost).toBe(0);
  // neither process was restarted: both are the ones started before the burst
  expect(api.child.exitCode).toBeNull();
  expect(worker.child.exitCode).toBeNull();
  const ready = await fetch(`${client.base}/readyz`);
  expect(ready.status).toBe(200);
});
