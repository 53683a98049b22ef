/**
 * Contract §6 outcomes: retries on the schedule with the same webhook-id, Retry-After, failures at
 * once, 410 disabling, exhaustion into the failed list, and retry by hand.
 */
import { Queue } from 'bullmq';
import { RETRY_QUEUE } from '@devhooks/core';
import { eventually } from '../../../test/support/receiver';
import { startStack, type Stack } from '../../../test/support/stack';

let s: Stack;
let queue: Queue;
beforeAll(async () => {
  s = await startStack(__filename, {
    api: { DEVHOOKS_RETRY_SCHEDULE: '0,200ms,200ms' },
    worker: { DEVHOOKS_RETRY_SCHEDULE: '0,200ms,200ms' },
  });
  queue = new Queue(RETRY_QUEUE, { connection: s.redis, prefix: s.keys.tag });
});
afterAll(async () => {
  await queue.close();
  await s.close();
});

const statusEvent = (id: string) => ({ id, type: 'device-status-changed', data: { id: 'dev', status: 'rejected' } });

async function deliveriesOf(webhookId: string) {
  const r = await s.api.call('GET', `/v1/webhooks/${webhookId}/deliveries`, { token: s.org.key });
  return r.body.deliveries as any[];
}

async function settled(webhookId: string, status: 'succeeded' | 'failed') {
  return eventually(async () => {
    const [d] = await deliveriesOf(webhookId);
    return d && d.status === status ? d : undefined;
  });
}

it('retries 500s on the schedule with the same webhook-id, then succeeds', async () => {
  const w = await s.webhook({ url: s.rx.url('/flaky'), topics: ['deviceauth'] });
  s.rx.respond = (r) => (r.path === '/flaky' && s.rx.on('/flaky').length <= 2 ? { status: 500 } : {});
  await s.send(statusEvent('evt-flaky'));
  const reqs = await s.rx.waitOn('/flaky', 3);
  expect(reqs.map((r) => r.headers['webhook-id'])).toEqual(['evt-flaky', 'evt-flaky', 'evt-flaky']);
  expect(new Set(reqs.map((r) => r.body)).size).toBe(1);
  const d = await settled(w.id, 'succeeded');
  expect(d).toMatchObject({ attempts: 3, status_code: 200, error: null });
  const detail = await s.api.call('GET', `/v1/deliveries/${d.id}`, { token: s.org.key });
  expect(detail.body.attempt_log.map((a: any) => a.status_code)).toEqual([500, 500, 200]);
  s.rx.respond = undefined;
});

it('retries 408, 429 and 503 and fails at once on 400, 401, 404 and 501', async () => {
  for (const [code, expected] of [
    [408, 'retried'],
    [429, 'retried'],
    [503, 'retried'],
    [400, 'failed'],
    [401, 'failed'],
    [404, 'failed'],
    [501, 'failed'],
  ] as const) {
    const path = `/code-${code}`;
    const w = await s.webhook({ url: s.rx.url(path), topics: ['deviceauth'] });
    s.rx.respond = (r) => (r.path === path && s.rx.on(path).length === 1 ? { status: code } : {});
    await s.send(statusEvent(`evt-${code}`));
    if (expected === 'retried') {
      await s.rx.waitOn(path, 2);
      expect(await settled(w.id, 'succeeded')).toMatchObject({ attempts: 2 });
    } else {
      const d = await settled(w.id, 'failed');
      expect(d).toMatchObject({ attempts: 1, status_code: code, next_attempt_at: null });
      expect(s.rx.on(path)).toHaveLength(1);
      // parked in the dashboard's failed list, under the delivery's id
      const job = await eventually(async () => (await queue.getJob(d.id)) ?? undefined);
      expect(await eventually(async () => ((await job.getState()) === 'failed' ? 'failed' : undefined))).toBe('failed');
    }
  }
  s.rx.respond = undefined;
});

it('honours Retry-After shorter than the step', async () => {
  const w = await s.webhook({ url: s.rx.url('/retry-after'), topics: ['deviceauth'] });
  s.rx.respond = (r) =>
    r.path === '/retry-after' && s.rx.on('/retry-after').length === 1
      ? { status: 429, headers: { 'retry-after': '0' } }
      : {};
  await s.send(statusEvent('evt-ra'));
  await s.rx.waitOn('/retry-after', 2);
  const d = await settled(w.id, 'succeeded');
  const detail = await s.api.call('GET', `/v1/deliveries/${d.id}`, { token: s.org.key });
  expect(detail.body.attempt_log[0]).toMatchObject({ status_code: 429, response_headers: { 'retry-after': '0' } });
  s.rx.respond = undefined;
});

it('410 fails the delivery and disables the webhook, with a reason', async () => {
  const w = await s.webhook({ url: s.rx.url('/gone'), topics: ['deviceauth'] });
  s.rx.respond = (r) => (r.path === '/gone' ? { status: 410 } : {});
  await s.send(statusEvent('evt-gone-1'));
  await settled(w.id, 'failed');
  const read = await eventually(async () => {
    const r = await s.api.call('GET', `/v1/webhooks/${w.id}`, { token: s.org.key });
    return r.body.enabled === false ? r : undefined;
  });
  expect(read.body.disabled_reason).toMatch(/410/);
  await s.send(statusEvent('evt-gone-2'));
  // enabling again clears the reason, and deliveries resume
  s.rx.respond = undefined;
  const re = await s.api.call('PATCH', `/v1/webhooks/${w.id}`, { token: s.org.key, body: { enabled: true } });
  expect(re.body).toMatchObject({ enabled: true });
  expect(re.body.disabled_reason).toBeUndefined();
  await s.send(statusEvent('evt-gone-3'));
  await s.rx.waitOn('/gone', 2);
  expect(s.rx.on('/gone').map((r) => r.headers['webhook-id'])).toEqual(['evt-gone-1', 'evt-gone-3']);
});

it('exhausts the schedule, keeps the delivery failed and retryable by hand', async () => {
  const w = await s.webhook({ url: s.rx.url('/down'), topics: ['deviceauth'] });
  s.rx.respond = (r) => (r.path === '/down' ? { status: 503 } : {});
  await s.send(statusEvent('evt-down'));
  const d = await settled(w.id, 'failed');
  expect(d).toMatchObject({ attempts: 3, status_code: 503, error: 'http_503', next_attempt_at: null });
  expect(s.rx.on('/down')).toHaveLength(3);
  const job = await queue.getJob(d.id);
  expect(await job!.getState()).toBe('failed');
  expect(job!.failedReason).toMatch(/after 3 attempts/);

  s.rx.respond = undefined;
  const retry = await s.api.call('POST', `/v1/deliveries/${d.id}/retry`, { token: s.org.key });
  expect(retry.status).toBe(202);
  const reqs = await s.rx.waitOn('/down', 4);
  expect(reqs[3].headers['webhook-id']).toBe('evt-down');
  const after = await settled(w.id, 'succeeded');
  expect(after).toMatchObject({ attempts: 4, status_code: 200 });
  const detail = await s.api.call('GET', `/v1/deliveries/${d.id}`, { token: s.org.key });
  expect(detail.body.attempt_log[3]).toMatchObject({ status_code: 200, trigger: 'manual' });
});

it('a retry from Bull Board (job.retry on the failed job) runs one more real attempt', async () => {
  const w = await s.webhook({ url: s.rx.url('/board'), topics: ['deviceauth'] });
  s.rx.respond = (r) => (r.path === '/board' && s.rx.on('/board').length === 1 ? { status: 400 } : {});
  await s.send(statusEvent('evt-board'));
  const d = await settled(w.id, 'failed');
  const job = await eventually(async () => {
    const j = await queue.getJob(d.id);
    return j && (await j.getState()) === 'failed' ? j : undefined;
  });
  await job.retry('failed');
  await s.rx.waitOn('/board', 2);
  expect(await settled(w.id, 'succeeded')).toMatchObject({ attempts: 2 });
  s.rx.respond = undefined;
});
