/**
 * Several worker processes share one stream (consumer group): the work is split between them,
 * and SIGTERM drains a worker: it stops taking work, finishes what is in flight, and exits 0.
 */
import { CONSUMER_GROUP, redisKeys } from '@devhooks/core';
import { Client, ROOT } from '../support/api';
import { baseEnv, freePort, startApiProcess, startWorkerProcess, type Proc } from '../support/processes';
import { eventually, Receiver } from '../support/receiver';
import { cleanPrefix, testPrefix, testRedis } from '../support/redis';

jest.setTimeout(120_000);

const prefix = testPrefix(__filename);
const env = { DEVHOOKS_ALLOW_PRIVATE_TARGETS: 'true' };
let api: Proc;
const procs: Proc[] = [];
let client: Client;
let rx: Receiver;
const redis = testRedis();
const keys = redisKeys(prefix).shard(0);

beforeAll(async () => {
  rx = await Receiver.start();
  const started = await startApiProcess(baseEnv(prefix, { ...env, DEVHOOKS_ADMIN_TOKEN: ROOT }));
  api = started.proc;
  client = new Client(started.base);
});
afterAll(async () => {
  await Promise.all([api, ...procs].map((p) => p.kill('SIGKILL')));
  await rx.close();
  redis.disconnect();
  await cleanPrefix(prefix);
});

async function successes(port: number): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const m = /devhooks_delivery_attempts_total\{outcome="success"[^}]*\} (\d+)/.exec(text);
  return m ? Number(m[1]) : 0;
}

it('two workers share one stream: both deliver, together everything, once', async () => {
  const org = await client.org('shared', 'admin');
  await client.call('POST', '/v1/webhooks', {
    token: org.key,
    body: { name: 'rx', url: rx.url('/two'), topics: ['deviceauth'] },
  });
  rx.respond = () => ({ delayMs: 5 });
  const ports = [await freePort(), await freePort()];
  for (const port of ports)
    procs.push(await startWorkerProcess(baseEnv(prefix, { ...env, DEVHOOKS_WORKER_PORT: String(port) })));
  const N = 2_000;
  for (let b = 0; b < N / 100; b++) {
    const events = Array.from({ length: 100 }, (_, i) => ({
      id: `two-${b * 100 + i}`,
      type: 'device-decommissioned',
      data: { id: 'd' },
    }));
    expect((await client.call('POST', '/v1/events', { token: org.key, body: { events } })).status).toBe(202);
  }
  await rx.waitOn('/two', N, 60_000);
  const ids = new Set(rx.on('/two').map((r) => String(r.headers['webhook-id'])));
  expect(ids.size).toBe(N);
  const [a, b] = await Promise.all(ports.map(successes));
  expect(a).toBeGreaterThan(0);
  expect(b).toBeGreaterThan(0);
  expect(a + b).toBe(N);
  const consumers = (await redis.xinfo('CONSUMERS', keys.stream, CONSUMER_GROUP)) as unknown[][];
  expect(consumers.length).toBeGreaterThanOrEqual(2);
  rx.respond = undefined;
  await Promise.all(procs.splice(0).map((p) => p.kill('SIGTERM')));
});

it('SIGTERM drains: deliveries in flight finish, nothing is left pending, exit code 0', async () => {
  const org = await client.org('drain', 'admin');
  const hook = await client.call('POST', '/v1/webhooks', {
    token: org.key,
    body: { name: 'slow', url: rx.url('/slow'), topics: ['deviceauth'] },
  });
  rx.respond = (r) => (r.path === '/slow' ? { delayMs: 1_500 } : {});
  const worker = await startWorkerProcess(baseEnv(prefix, { ...env, DEVHOOKS_DELIVERY_TIMEOUT: '10s' }));
  procs.push(worker);
  const events = Array.from({ length: 20 }, (_, i) => ({
    id: `drain-${i}`,
    type: 'device-decommissioned',
    data: { id: 'd' },
  }));
  expect((await client.call('POST', '/v1/events', { token: org.key, body: { events } })).status).toBe(202);
  await rx.waitOn('/slow', 20); // all 20 requests are in flight at the receiver, none answered yet
  const { code } = await worker.kill('SIGTERM');
  expect(code).toBe(0);
  expect(worker.output).toMatch(/"drained":true/);
  const [pending] = (await redis.xpending(keys.stream, CONSUMER_GROUP)) as [number];
  expect(pending).toBe(0);
  expect(Number(await redis.get(keys.backlog))).toBe(0);
  const list = await eventually(async () => {
    const r = await client.call('GET', `/v1/webhooks/${hook.body.id}/deliveries?status=succeeded`, { token: org.key });
    return r.body.total === 20 ? r : undefined;
  });
  expect(list.body.total).toBe(20);
  rx.respond = undefined;
});
