/**
 * Ordered delivery through the API with a worker running (docs/contract.md §8): a held delivery
 * reads `pending` with `held_by` (who holds it now), /metrics counts it, a delivery that fails for
 * good releases the next, and a retry by hand of a failed delivery joins the end of its chain
 * instead of jumping ahead of deliveries sent after it.
 */
import { startTestApi, type TestApi } from '../../../test/support/api';
import { Receiver, eventually } from '../../../test/support/receiver';
import { testPrefix } from '../../../test/support/redis';
import { startTestWorker } from '../../../test/support/worker';
import type { WorkerHost } from '../../worker/src';

const prefix = testPrefix(__filename);
let api: TestApi;
let worker: WorkerHost;
let rx: Receiver;
let admin: string;
/** Event ids the receiver answers 500 to, for now. */
const failing = new Set<string>();
/** Event ids in the order the receiver accepted them (2xx). */
const accepted: string[] = [];

jest.setTimeout(60_000);

beforeAll(async () => {
  api = await startTestApi(prefix, { DEVHOOKS_ALLOW_PRIVATE_TARGETS: 'true' });
  worker = await startTestWorker(prefix, { DEVHOOKS_RETRY_SCHEDULE: '0,1500ms,1500ms' });
  rx = await Receiver.start();
  rx.respond = (r) => {
    const id = String(r.headers['webhook-id']);
    if (failing.has(id)) return { status: 500 };
    accepted.push(id);
    return {};
  };
  admin = (await api.org('ordered', 'admin')).key;
});

afterAll(async () => {
  await worker.stop();
  await api.close();
  await rx.close();
});

const event = (id: string) => ({
  id,
  type: 'device-status-changed',
  device_id: 'dev-h',
  data: { id: 'dev-h', status: 'accepted' },
});

async function deliveryOf(hook: string, eventId: string): Promise<any> {
  return eventually(async () => {
    const list = await api.call('GET', `/v1/webhooks/${hook}/deliveries?limit=100`, { token: admin });
    return list.body.deliveries.find((x: { event_ids: string[] }) => x.event_ids.includes(eventId));
  });
}

async function detail(id: string): Promise<any> {
  const r = await api.call('GET', `/v1/deliveries/${id}`, { token: admin });
  expect(r.status).toBe(200);
  return r.body;
}

it('holds, shows and releases a device chain; a retry by hand joins its end', async () => {
  const hook = await api.call('POST', '/v1/webhooks', {
    token: admin,
    body: { name: 'ordered', url: rx.url(), topics: ['deviceauth'], ordering: 'device' },
  });
  expect(hook.status).toBe(201);
  const w = hook.body.id;

  failing.add('o-1');
  expect(
    (await api.call('POST', '/v1/events', { token: admin, body: { events: ['o-1', 'o-2', 'o-3'].map(event) } })).status,
  ).toBe(202);
  const [d1, d2, d3] = [await deliveryOf(w, 'o-1'), await deliveryOf(w, 'o-2'), await deliveryOf(w, 'o-3')];
  // o-1 waits for its retry; o-2 and o-3 are held, each behind the one before it
  await eventually(async () => (await detail(d3.id)).held_by === d2.id || undefined);
  expect(await detail(d2.id)).toMatchObject({ status: 'pending', held_by: d1.id, attempts: 0 });
  expect(await detail(d3.id)).toMatchObject({ status: 'pending', held_by: d2.id, attempts: 0 });
  expect((await detail(d1.id)).held_by).toBeUndefined();
  const list = await api.call('GET', `/v1/webhooks/${w}/deliveries?limit=100`, { token: admin });
  expect(list.body.deliveries.find((x: { id: string }) => x.id === d3.id)).toMatchObject({ held_by: d2.id });
  const metrics = (await api.call('GET', '/metrics', { token: null })).text;
  expect(metrics).toMatch(/devhooks_held_deliveries\{stream="[^"]+"[^}]*\} 2/);
  expect(metrics).toMatch(/devhooks_oldest_hold_age_seconds\{stream="[^"]+"[^}]*\} \d/);

  // o-1 fails for good (3 attempts): the chain moves on
  await eventually(() => (accepted.includes('o-3') ? true : undefined), 20_000);
  expect(await detail(d1.id)).toMatchObject({ status: 'failed', attempts: 3 });
  expect(await detail(d3.id)).toMatchObject({ status: 'succeeded' });
  expect((await detail(d3.id)).held_by).toBeUndefined();

  // o-4 waits for a retry and o-5 is held behind it; o-1 tried again by hand joins the end
  failing.add('o-4');
  failing.delete('o-1');
  expect(
    (await api.call('POST', '/v1/events', { token: admin, body: { events: ['o-4', 'o-5'].map(event) } })).status,
  ).toBe(202);
  const [d4, d5] = [await deliveryOf(w, 'o-4'), await deliveryOf(w, 'o-5')];
  await eventually(async () => (await detail(d5.id)).held_by === d4.id || undefined);
  expect((await api.call('POST', `/v1/deliveries/${d1.id}/retry`, { token: admin })).status).toBe(202);
  await eventually(async () => (await detail(d1.id)).held_by === d5.id || undefined);
  failing.delete('o-4');
  await eventually(() => (accepted.includes('o-1') ? true : undefined), 20_000);
  expect(accepted).toEqual(['o-2', 'o-3', 'o-4', 'o-5', 'o-1']);
  expect(await detail(d1.id)).toMatchObject({ status: 'succeeded' });
});

it('sends a Mist-style topic one event per message for an ordered webhook, each device in order', async () => {
  const hook = await api.call('POST', '/v1/webhooks', {
    token: admin,
    body: {
      name: 'ordered mist',
      url: rx.url('/mist'),
      topics: ['device-events'],
      signing: 'mist',
      ordering: 'device',
    },
  });
  expect(hook.status).toBe(201);
  const seq = ['m-a1', 'm-b1', 'm-a2', 'm-b2', 'm-a3', 'm-b3'];
  failing.add('m-a1');
  const events = seq.map((id) => ({
    id,
    type: 'device-event',
    device_id: id.startsWith('m-a') ? 'dev-a' : 'dev-b',
    data: { type: 'AP_RESTARTED', timestamp: 1548095795 },
  }));
  expect((await api.call('POST', '/v1/events', { token: admin, body: { events } })).status).toBe(202);
  // dev-b is not held by dev-a's retry
  await eventually(() => (accepted.includes('m-b3') ? true : undefined), 20_000);
  expect(accepted.includes('m-a2')).toBe(false);
  failing.delete('m-a1');
  await eventually(() => (accepted.includes('m-a3') ? true : undefined), 20_000);
  const mine = accepted.filter((id) => id.startsWith('m-'));
  expect(mine.filter((id) => id.startsWith('m-a'))).toEqual(['m-a1', 'm-a2', 'm-a3']);
  expect(mine.filter((id) => id.startsWith('m-b'))).toEqual(['m-b1', 'm-b2', 'm-b3']);
  for (const r of rx.on('/mist')) expect(JSON.parse(r.body).events).toHaveLength(1);
});
