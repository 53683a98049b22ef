/**
 * Growing DEVHOOKS_SHARDS on a running deployment (docs/decisions/0006, "Changing the shard count")
 * with the real processes: events are accepted under N shards, then an API and a worker started
 * with 2N shards join while the old API keeps running (a rolling deploy), and the old API is then
 * stopped. Events sent again with the same ids (as a producer does after 503 outcome_unknown) —
 * among them ids whose shard changes — come back as duplicates from the old API and the new one,
 * before and after the switch to 2N shards, single and in batches across shards; every event
 * reaches the loopback receiver exactly once. Run on a standalone Redis and on a Redis Cluster.
 */
import { redisKeys, shardOf } from '@devhooks/core';
import { backlogSize } from '@devhooks/engine';
import { Client, ROOT } from '../support/api';
import { type Backend } from '../support/backend';
import { baseEnv, startApiProcess, startWorkerProcess, type Proc } from '../support/processes';
import { eventually, Receiver } from '../support/receiver';
import { testPrefix } from '../support/redis';

/** An API's log line saying which count it appends under now. */
const appendsUnder = (shards: number) => new RegExp(`^(?=.*"ingest shard counts")(?=.*"shards":${shards}\\b).*$`, 'm');

export function shardGrowth(file: string, backend: Backend, o: { from: number }): void {
  const prefix = testPrefix(file);
  const from = o.from;
  const to = 2 * o.from;
  const procs: Proc[] = [];
  let rx: Receiver;
  let env: Record<string, string>;

  beforeAll(async () => {
    await backend.start();
    rx = await Receiver.start();
    env = {
      ...baseEnv(prefix, {
        DEVHOOKS_ALLOW_PRIVATE_TARGETS: 'true',
        DEVHOOKS_DELIVERY_TIMEOUT: '2s',
        DEVHOOKS_BATCH_WINDOW: '100ms',
        DEVHOOKS_ADMIN_TOKEN: ROOT,
      }),
      ...backend.env(),
    };
  });
  afterAll(async () => {
    await Promise.all(procs.map((p) => p.kill('SIGKILL')));
    await rx.close();
    await backend.stop(prefix);
  });

  async function api(shards: number): Promise<{ proc: Proc; client: Client }> {
    const started = await startApiProcess({ ...env, DEVHOOKS_SHARDS: String(shards) });
    procs.push(started.proc);
    return { proc: started.proc, client: new Client(started.base) };
  }
  async function worker(shards: number): Promise<Proc> {
    const proc = await startWorkerProcess({ ...env, DEVHOOKS_SHARDS: String(shards) });
    procs.push(proc);
    return proc;
  }

  it(`delivers each event once when DEVHOOKS_SHARDS grows from ${from} to ${to} while ids are sent again`, async () => {
    const received = new Map<string, number>();
    rx.respond = (r) => {
      const id = String(r.headers['webhook-id']);
      received.set(id, (received.get(id) ?? 0) + 1);
      return {};
    };
    const oldApi = await api(from);
    const oldWorker = await worker(from);
    const org = await oldApi.client.org('growth', 'admin');
    const hook = await oldApi.client.call('POST', '/v1/webhooks', {
      token: org.key,
      body: { name: 'rx', url: rx.url(), topics: ['deviceauth'] },
    });
    expect(hook.status).toBe(201);

    const devices = Array.from({ length: 64 }, (_, i) => `dev-${i}`);
    const moves = (d: string) => shardOf(org.id, d, from) !== shardOf(org.id, d, to);
    expect(devices.filter(moves).length).toBeGreaterThanOrEqual(16);
    expect(devices.filter((d) => !moves(d)).length).toBeGreaterThanOrEqual(16);
    const events = (tag: string) =>
      devices.map((d) => ({ id: `${tag}-${d}`, type: 'device-status-changed', data: { id: d, status: 'accepted' } }));
    const post = async (client: Client, list: unknown[]) => {
      const r = await client.call('POST', '/v1/events', { token: org.key, body: { events: list } });
      expect(r.status).toBe(202);
      return r.body as { accepted: number; duplicates: number };
    };
    const single = async (client: Client, e: unknown) => {
      const r = await client.call('POST', '/v1/events', { token: org.key, body: e });
      expect(r.status).toBe(202);
      return r.body as { accepted: number; duplicates: number };
    };
    const all: string[] = [];

    // accepted under `from` shards (a batch across shards, and single events)
    const first = events('a');
    expect(await post(oldApi.client, first)).toMatchObject({ accepted: 64, duplicates: 0 });
    all.push(...first.map((e) => e.id));

    // a process with 2N shards joins; the old API keeps running; every API keeps `from` for a while
    const newApi = await api(to);
    const newWorker = await worker(to);
    expect(await post(newApi.client, first)).toMatchObject({ accepted: 0, duplicates: 64 });
    await oldWorker.kill('SIGTERM');

    // both switch to 2N shards (the old API learns the count from Redis: no restart)
    await newApi.proc.waitForOutput(appendsUnder(to), 60_000);
    await oldApi.proc.waitForOutput(appendsUnder(to), 60_000);
    expect(await post(newApi.client, first)).toMatchObject({ accepted: 0, duplicates: 64 });
    expect(await post(oldApi.client, first)).toMatchObject({ accepted: 0, duplicates: 64 });
    for (const e of first.filter((x) => moves(x.data.id)).slice(0, 8)) {
      expect(await single(newApi.client, e)).toMatchObject({ accepted: 0, duplicates: 1 });
    }

    // accepted by the old API under 2N shards, sent again to the new one
    const second = events('b');
    expect(await post(oldApi.client, second)).toMatchObject({ accepted: 64, duplicates: 0 });
    all.push(...second.map((e) => e.id));
    expect(await post(newApi.client, second)).toMatchObject({ accepted: 0, duplicates: 64 });

    // the old API stopped (the restart done): a batch of seen and new ids
    await oldApi.proc.kill('SIGTERM');
    const third = events('c').slice(0, 20);
    const mixed = [...first.slice(0, 20), ...third, ...second.slice(40)];
    expect(await post(newApi.client, mixed)).toMatchObject({ accepted: 20, duplicates: 44 });
    all.push(...third.map((e) => e.id));

    // every event delivered, and nothing left to deliver: then each exactly once
    await eventually(() => all.every((id) => received.has(id)) || undefined, 60_000, 250);
    const redis = backend.redis();
    const keys = redisKeys(prefix);
    await eventually(
      async () => {
        const left = await Promise.all(Array.from({ length: to }, (_, s) => backlogSize(redis, keys, s)));
        return left.every((n) => n === 0) || undefined;
      },
      60_000,
      250,
    );
    expect(new Set(received.keys())).toEqual(new Set(all));
    expect([...received.values()].every((n) => n === 1)).toBe(true);
    expect(newWorker.child.exitCode).toBeNull();
    expect(newApi.proc.child.exitCode).toBeNull();
  });
}
