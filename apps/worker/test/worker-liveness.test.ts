/**
 * Takeover after a worker dies (issue 13, defect 10): a worker SIGKILLed while it holds entries is
 * taken over once its liveness lapses (DEVHOOKS_WORKER_LIVENESS), long before DEVHOOKS_CLAIM_IDLE;
 * a live worker's entries, however slow their attempts, are never claimed.
 */
import { CONSUMER_GROUP, redisKeys } from '@devhooks/core';
import { startTestApi, type TestApi } from '../../../test/support/api';
import { baseEnv, startWorkerProcess, type Proc } from '../../../test/support/processes';
import { eventually, Receiver } from '../../../test/support/receiver';
import { testPrefix, testRedis } from '../../../test/support/redis';
import { startTestWorker } from '../../../test/support/worker';
import type { WorkerHost } from '../src';

const prefix = testPrefix(__filename);
const keys = redisKeys(prefix);
const redis = testRedis();
const WORKER_ENV = {
  DEVHOOKS_ALLOW_PRIVATE_TARGETS: 'true',
  DEVHOOKS_DELIVERY_TIMEOUT: '20s',
  DEVHOOKS_CLAIM_IDLE: '60s',
  DEVHOOKS_WORKER_LIVENESS: '1s',
  DEVHOOKS_MAX_IN_PROGRESS: '100',
  DEVHOOKS_ORIGIN_IN_PROGRESS: '100',
  DEVHOOKS_ENDPOINT_CONCURRENCY: '100',
  DEVHOOKS_SHUTDOWN_TIMEOUT: '500ms',
  DEVHOOKS_RETRY_SCHEDULE: '0,1h',
};
const DYING = 100; // fills the dying worker's in-progress bound: it reads nothing more
const LIVE = 5;

let api: TestApi;
let org: { id: string; key: string };
let dying: Proc | undefined;
let live: WorkerHost | undefined;
let dyingRx: Receiver;
let liveRx: Receiver;
let hangDying = true;

beforeAll(async () => {
  api = await startTestApi(prefix, { DEVHOOKS_ALLOW_PRIVATE_TARGETS: 'true', DEVHOOKS_RETRY_SCHEDULE: '0,1h' });
  org = await api.org('acme', 'admin');
});
afterAll(async () => {
  await dying?.kill('SIGKILL');
  for (const rx of [dyingRx, liveRx]) await rx?.close();
  await live?.stop();
  redis.disconnect();
  await api.close();
});

async function webhook(url: string, type: string): Promise<void> {
  const body = { name: type, url, topics: ['deviceauth'], filter: { types: [type] } };
  const r = await api.call('POST', '/v1/webhooks', { token: org.key, body });
  if (r.status !== 201) throw new Error(`webhook: ${r.status} ${r.text}`);
}

async function send(events: unknown[]): Promise<void> {
  const r = await api.call('POST', '/v1/events', { token: org.key, body: { events } });
  if (r.status !== 202) throw new Error(`events: ${r.status} ${r.text}`);
}

/** Pending entries of the group, per consumer. */
async function pendingBy(): Promise<Record<string, number>> {
  const [, , , owners] = (await redis.xpending(keys.shard(0).stream, CONSUMER_GROUP)) as [
    number,
    string,
    string,
    Array<[string, string]> | null,
  ];
  return Object.fromEntries((owners ?? []).map(([c, n]) => [c, Number(n)]));
}

it("takes a SIGKILLed worker's entries over once its liveness lapses, never a live worker's", async () => {
  dyingRx = await Receiver.start();
  dyingRx.respond = () => (hangDying ? { hang: true } : {});
  liveRx = await Receiver.start();
  liveRx.respond = () => ({ hang: true });
  await webhook(dyingRx.url('/dying'), 'device-decommissioned');
  await webhook(liveRx.url('/live'), 'device-status-changed');

  // the worker that will die reads and holds DYING entries, all their attempts hanging
  dying = await startWorkerProcess(baseEnv(prefix, WORKER_ENV));
  await send(
    Array.from({ length: DYING }, (_, i) => ({ id: `k${i}`, type: 'device-decommissioned', data: { id: `d${i}` } })),
  );
  await dyingRx.waitFor(DYING);

  // a live worker holds its own entries, their attempts hanging too (the dying one is full: reads nothing)
  live = await startTestWorker(prefix, WORKER_ENV);
  await send(
    Array.from({ length: LIVE }, (_, i) => ({
      id: `l${i}`,
      type: 'device-status-changed',
      data: { id: `d${i}`, status: 'accepted' },
    })),
  );
  await liveRx.waitFor(LIVE);
  const before = await pendingBy();
  expect(Object.values(before).sort((a, b) => a - b)).toEqual([LIVE, DYING]);

  // three liveness periods with both workers alive: nothing claimed, nothing attempted twice
  await new Promise((r) => setTimeout(r, 3_000));
  expect(await pendingBy()).toEqual(before);
  expect(dyingRx.requests).toHaveLength(DYING);
  expect(liveRx.requests).toHaveLength(LIVE);

  // the worker dies: the live one takes its entries over (DEVHOOKS_CLAIM_IDLE is 60 s, past this test's timeout)
  hangDying = false;
  await dying.kill('SIGKILL');
  const all = await dyingRx.waitFor(2 * DYING, 25_000);
  expect(new Set(all.slice(DYING).map((r) => r.headers['webhook-id'])).size).toBe(DYING);
  const after = await eventually(async () => {
    const p = await pendingBy();
    return Object.values(p).reduce((a, b) => a + b, 0) === LIVE ? p : undefined;
  });
  // only the live worker's own (still hanging) entries are pending, in its name; none attempted again
  expect(Object.values(after)).toEqual([LIVE]);
  expect(liveRx.requests).toHaveLength(LIVE);
});
