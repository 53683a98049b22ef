/**
 * Several worker processes share the streams (consumer groups): the work is split between them,
 * and SIGTERM drains a worker: it stops taking work, finishes what is in flight, and exits 0.
 * Run on a standalone Redis and on a Redis Cluster.
 */
import { CONSUMER_GROUP } from '@devhooks/core';
import { luaCommands } from '@devhooks/engine';
import { Client, ROOT } from '../support/api';
import { shardKeys, type Backend } from '../support/backend';
import { baseEnv, freePort, startApiProcess, startWorkerProcess, type Proc } from '../support/processes';
import { eventually, Receiver } from '../support/receiver';
import { testPrefix } from '../support/redis';

export function sharedWorkers(file: string, backend: Backend): void {
  const prefix = testPrefix(file);
  let env: Record<string, string>;
  let api: Proc;
  const procs: Proc[] = [];
  let client: Client;
  let rx: Receiver;

  beforeAll(async () => {
    await backend.start();
    env = { ...baseEnv(prefix, { DEVHOOKS_ALLOW_PRIVATE_TARGETS: 'true' }), ...backend.env() };
    rx = await Receiver.start();
    const started = await startApiProcess({ ...env, DEVHOOKS_ADMIN_TOKEN: ROOT });
    api = started.proc;
    client = new Client(started.base);
  });
  afterAll(async () => {
    await Promise.all([api, ...procs].map((p) => p?.kill('SIGKILL')));
    await rx.close();
    await backend.stop(prefix);
  });

  /** Pending entries and backlog over every shard. */
  async function leftOver(): Promise<{ pending: number; backlog: number }> {
    const redis = backend.redis();
    let pending = 0;
    let backlog = 0;
    for (const k of shardKeys(prefix, backend.shards)) {
      pending += ((await redis.xpending(k.stream, CONSUMER_GROUP)) as [number])[0];
      backlog += Number(await redis.get(k.backlog));
    }
    return { pending, backlog };
  }

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
    for (const port of ports) procs.push(await startWorkerProcess({ ...env, DEVHOOKS_WORKER_PORT: String(port) }));
    const N = 2_000;
    for (let b = 0; b < N / 100; b++) {
      const events = Array.from({ length: 100 }, (_, i) => ({
        id: `two-${b * 100 + i}`,
        type: 'device-decommissioned',
        data: { id: `d${i % 16}` },
      }));
      expect((await client.call('POST', '/v1/events', { token: org.key, body: { events } })).status).toBe(202);
    }
    await rx.waitOn('/two', N, 60_000);
    const ids = new Set(rx.on('/two').map((r) => String(r.headers['webhook-id'])));
    expect(ids.size).toBe(N);
    // the last attempts are counted a moment after the receiver has them
    const [a, b] = await eventually(async () => {
      const counts = await Promise.all(ports.map(successes));
      return counts[0] + counts[1] === N ? counts : undefined;
    });
    expect(a).toBeGreaterThan(0);
    expect(b).toBeGreaterThan(0);
    expect(a + b).toBe(N);
    // both read from the streams (a consumer shows in a shard's group once it was given entries there)
    const redis = backend.redis();
    const names = new Set<string>();
    for (const k of shardKeys(prefix, backend.shards)) {
      const [, consumers] = await luaCommands(redis).groupInfo(k.stream, CONSUMER_GROUP);
      for (const c of consumers) names.add(String(c[1]));
    }
    expect(names.size).toBeGreaterThanOrEqual(2);
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
    const worker = await startWorkerProcess({ ...env, DEVHOOKS_DELIVERY_TIMEOUT: '10s' });
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
    expect(await leftOver()).toEqual({ pending: 0, backlog: 0 });
    const list = await eventually(async () => {
      const r = await client.call('GET', `/v1/webhooks/${hook.body.id}/deliveries?status=succeeded`, {
        token: org.key,
      });
      return r.body.total === 20 ? r : undefined;
    });
    expect(list.body.total).toBe(20);
    rx.respond = undefined;
  });
}
