/** The README's walk-through, over real HTTP and Redis: org → key → webhook → event → delivery. */
import { Receiver, eventually } from '../../../test/support/receiver';
import { startTestApi, type TestApi } from '../../../test/support/api';
import { startTestWorker } from '../../../test/support/worker';
import { testPrefix } from '../../../test/support/redis';
import type { WorkerHost } from '../../worker/src';

let api: TestApi;
let worker: WorkerHost;
let rx: Receiver;
const prefix = testPrefix(__filename);

beforeAll(async () => {
  api = await startTestApi(prefix, { DEVHOOKS_ALLOW_PRIVATE_TARGETS: 'true' });
  worker = await startTestWorker(prefix);
  rx = await Receiver.start();
});
afterAll(async () => {
  await worker.stop();
  await api.close();
  await rx.close();
});

it('creates an org, a key and a webhook, and an event reaches the receiver', async () => {
  const org = await api.org('acme', 'admin');
  const wh = await api.call('POST', '/v1/webhooks', {
    token: org.key,
    body: { name: 'rx', url: rx.url(), topics: ['deviceauth'] },
  });
  expect(wh.status).toBe(201);
  expect(wh.body.secret).toMatch(/^whsec_/);
  const ev = await api.call('POST', '/v1/events', {
    token: org.key,
    body: { id: 'evt-1', type: 'device-status-changed', data: { id: 'dev-1', status: 'accepted' } },
  });
  expect(ev).toMatchObject({ status: 202, body: { accepted: 1, duplicates: 0, ids: ['evt-1'] } });
  const [req] = await rx.waitFor(1);
  expect(JSON.parse(req.body)).toMatchObject({
    id: 'evt-1',
    type: 'device-status-changed',
    data: { id: 'dev-1', status: 'accepted' },
  });
  expect(req.headers['webhook-id']).toBe('evt-1');
  const list = await eventually(async () => {
    const r = await api.call('GET', `/v1/webhooks/${wh.body.id}/deliveries`, { token: org.key });
    return r.body.total === 1 ? r : undefined;
  });
  expect(list.body.deliveries[0]).toMatchObject({
    status: 'succeeded',
    status_code: 200,
    attempts: 1,
    event_ids: ['evt-1'],
  });
});
