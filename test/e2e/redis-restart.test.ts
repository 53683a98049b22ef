/**
 * Redis dies mid-burst (issue 13, "Tests"): a Redis of the test's own (AOF, `appendfsync always`)
 * is SIGKILLed while 3,000 events are posted in batches with producer ids, then restarted on the
 * same port and dir. The API and the worker (in-process, never restarted) recover by themselves;
 * every event answered 202 is delivered at least once; batches answered 503 (`outcome_unknown`:
 * maybe stored; `unavailable`: surely not) are sent again with the same ids, as a producer would,
 * and are delivered too. Counts are printed (accepted, re-sent, duplicates, deliveries).
 */
import { eventually, Receiver } from '../support/receiver';
import { startTestApi, type TestApi } from '../support/api';
import { RedisServer } from '../support/redis-server';
import { testPrefix } from '../support/redis';
import { startTestWorker } from '../support/worker';
import type { WorkerHost } from '../../apps/worker/src';

const EVENTS = 3_000;
const BATCH = 50;
const PRODUCERS = 4;
/** The batch whose request is in flight when Redis is killed (others are in flight beside it). */
const KILL_AT_BATCH = 15;
/** How long Redis stays down. */
const DOWN_MS = 1_500;

let server: RedisServer;
let api: TestApi;
let worker: WorkerHost;
let rx: Receiver;

beforeAll(async () => {
  server = await RedisServer.start();
  const env = { DEVHOOKS_REDIS_URL: server.url, DEVHOOKS_ALLOW_PRIVATE_TARGETS: 'true' };
  const prefix = testPrefix(__filename);
  api = await startTestApi(prefix, env);
  worker = await startTestWorker(prefix, env);
  rx = await Receiver.start();
}, 60_000);

afterAll(async () => {
  await worker?.stop();
  await api?.close();
  await rx?.close();
  await server?.stop();
}, 60_000);

interface Answer {
  status: number;
  code?: string;
}

test('SIGKILL of Redis mid-burst: API and worker recover, nothing answered 202 is lost', async () => {
  const org = await api.org('acme', 'admin');
  const made = await api.call('POST', '/v1/webhooks', {
    token: org.key,
    body: { name: 'all', url: rx.url('/in'), topics: ['deviceauth'] },
  });
  expect(made.status).toBe(201);

  const batches = Array.from({ length: EVENTS / BATCH }, (_, b) =>
    Array.from({ length: BATCH }, (_, i) => ({
      id: `evt-${b}-${i}`,
      type: 'device-status-changed',
      data: { id: `dev-${(b * BATCH + i) % 97}`, status: 'accepted' },
    })),
  );
  const post = async (events: object[]): Promise<Answer & { body?: any }> => {
    try {
      const r = await api.call('POST', '/v1/events', { token: org.key, body: { events } });
      return { status: r.status, code: r.body?.error?.code, body: r.body };
    } catch {
      return { status: 0 }; // the connection failed: as unknown as a 503 outcome_unknown
    }
  };

  const accepted = new Set<string>();
  const resend: number[] = [];
  const answers = new Map<string, number>();
  let killed: Promise<void> | undefined;
  const killSoon = async () => {
    await new Promise((r) => setTimeout(r, 2)); // the request reaches Redis, and Redis dies under it
    await server.kill();
    await new Promise((r) => setTimeout(r, DOWN_MS));
    await server.launch();
  };
  let next = 0;
  const producer = async () => {
    while (next < batches.length) {
      const b = next++;
      const sent = post(batches[b]);
      if (b === KILL_AT_BATCH) killed = killSoon();
      const a = await sent;
      const label = a.status === 202 ? '202' : `${a.status} ${a.code ?? 'no answer'}`;
      answers.set(label, (answers.get(label) ?? 0) + 1);
      if (a.status === 202) {
        for (const e of batches[b]) accepted.add(e.id);
      } else {
        // any other answer is not an error of the events: sent again once the burst is over
        expect([503, 0]).toContain(a.status);
        resend.push(b);
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  };
  await Promise.all(Array.from({ length: PRODUCERS }, producer));
  await killed;
  const acceptedFirst = accepted.size;

  // the producer's retries: the same batches with the same ids, until each is answered 202
  let resentDuplicates = 0;
  for (const b of resend) {
    const a = await eventually(async () => {
      const r = await post(batches[b]);
      return r.status === 202 && r;
    }, 30_000);
    resentDuplicates += a.body.duplicates;
    for (const e of batches[b]) accepted.add(e.id);
  }
  expect(accepted.size).toBe(EVENTS);

  // every accepted event is delivered at least once, by the worker that lived through it
  const delivered = new Map<string, number>();
  await eventually(
    () => {
      delivered.clear();
      for (const r of rx.on('/in')) {
        const id = String(r.headers['webhook-id']);
        delivered.set(id, (delivered.get(id) ?? 0) + 1);
      }
      return [...accepted].every((id) => delivered.has(id));
    },
    90_000,
    250,
  ).catch(() => undefined);
  const missing = [...accepted].filter((id) => !delivered.has(id));
  const duplicateDeliveries = [...delivered.values()].reduce((n, c) => n + c - 1, 0);

  console.log(
    JSON.stringify({
      events: EVENTS,
      answers: Object.fromEntries(answers),
      accepted_first_try: acceptedFirst,
      batches_resent: resend.length,
      resent_events_already_stored: resentDuplicates,
      delivered_unique: delivered.size,
      deliveries_total: rx.on('/in').length,
      duplicate_deliveries: duplicateDeliveries,
      missing: missing.length,
    }),
  );
  expect(killed).toBeDefined();
  expect(resend.length).toBeGreaterThan(0); // Redis really died under the burst
  expect(missing).toEqual([]);
  // no event the service never saw was delivered
  expect([...delivered.keys()].filter((id) => !accepted.has(id))).toEqual([]);

  // both recovered by themselves: the API answers and the worker delivers a new event
  const after = await post([{ id: 'evt-after', type: 'device-status-changed', data: { id: 'd', status: 'accepted' } }]);
  expect(after.status).toBe(202);
  await eventually(() => rx.on('/in').some((r) => r.headers['webhook-id'] === 'evt-after'), 30_000);
}, 240_000);
