/**
 * A worker SIGKILLed while its circuit breaker for a receiver is open: the deliveries it parked
 * behind that breaker (delivery/parked.ts) run as soon as the receiver answers again, taken over by
 * the next worker, not up to 6 min later when their jobs' own time comes. The breaker whose probe
 * would have woken them died with the worker; the next worker's answers from the receiver wake
 * them (its first answer, and the scout's: docs/decisions/0005, "Parked").
 *
 * Before the fix this failed: the parked deliveries were still delayed after the minute it waits.
 */
import { Client, ROOT } from '../support/api';
import { baseEnv, startApiProcess, startWorkerProcess, type Proc } from '../support/processes';
import { eventually, Receiver } from '../support/receiver';
import { redisForTestFile } from '../support/redis';

jest.setTimeout(120_000);

const { prefix, keys, redis } = redisForTestFile(__filename);
let api: Proc;
const workers: Proc[] = [];
let rx: Receiver;
let client: Client;
let workerEnv: Record<string, string>;

beforeAll(async () => {
  rx = await Receiver.start();
  workerEnv = baseEnv(prefix, {
    DEVHOOKS_ALLOW_PRIVATE_TARGETS: 'true',
    DEVHOOKS_DELIVERY_TIMEOUT: '1s',
    DEVHOOKS_BATCH_WINDOW: '100ms',
  });
  const started = await startApiProcess(
    baseEnv(prefix, { DEVHOOKS_ADMIN_TOKEN: ROOT, DEVHOOKS_ALLOW_PRIVATE_TARGETS: 'true' }),
  );
  api = started.proc;
  client = new Client(started.base);
});
afterAll(async () => {
  await Promise.all([api, ...workers].map((p) => p?.kill('SIGKILL')));
  await rx.close();
});

it('deliveries parked by a worker killed while its breaker was open run once the receiver answers the next worker', async () => {
  const org = await client.org('acme', 'admin');
  const hook = await client.call('POST', '/v1/webhooks', {
    token: org.key,
    body: { name: 'rx', url: rx.url(), topics: ['deviceauth'] },
  });
  expect(hook.status).toBe(201);
  const origin = new URL(rx.url()).origin;
  let down = true;
  rx.respond = () => (down ? { hang: true } : {});
  const post = async (from: number, n: number) => {
    const events = Array.from({ length: n }, (_, i) => ({
      id: `ev-${from + i}`,
      type: 'device-status-changed',
      data: { id: `dev-${from + i}`, status: 'accepted' },
    }));
    const r = await client.call('POST', '/v1/events', { token: org.key, body: { events } });
    expect(r.status).toBe(202);
  };

  workers.push(await startWorkerProcess(workerEnv));
  // the receiver hangs: ten attempts time out and open the worker's breaker (5 in a row)
  await post(0, 10);
  await eventually(() => rx.requests.length >= 10 || undefined, 30_000);
  // events that come while it is open are turned away (circuit_open) and parked
  const parked = keys.shard(0).parked(origin);
  for (let round = 0; (await redis.zcard(parked)) < 20; round++) {
    expect(round).toBeLessThan(60);
    await post(100 + round * 10, 10);
    await new Promise((r) => setTimeout(r, 500));
  }
  const { signal } = await workers[0].kill('SIGKILL');
  expect(signal).toBe('SIGKILL');

  down = false;
  const before = rx.requests.length;
  workers.push(await startWorkerProcess(workerEnv));
  const wanted = await redis.zrange(parked, 0, -1);
  expect(wanted.length).toBeGreaterThanOrEqual(20);
  // every parked delivery reaches the receiver within a minute (their jobs' own time: 225–375 s)
  const delivered = new Set<string>();
  await eventually(
    async () => {
      for (const id of wanted) {
        if (delivered.has(id)) continue;
        const r = await client.call('GET', `/v1/deliveries/${id}`, { token: org.key });
        if (r.status === 200 && r.body.status === 'succeeded') delivered.add(id);
      }
      return delivered.size === wanted.length || undefined;
    },
    60_000,
    500,
  ).catch(async (err) => {
    throw new Error(
      `${(err as Error).message}: ${wanted.length - delivered.size} of ${wanted.length} parked deliveries ` +
        `not delivered (parked set now ${await redis.zcard(parked)})`,
    );
  });
  expect(wanted.every((d) => delivered.has(d))).toBe(true);
  expect(rx.requests.length - before).toBeGreaterThanOrEqual(wanted.length);
});
