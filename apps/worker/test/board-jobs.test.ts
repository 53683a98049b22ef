/**
 * What Bull Board shows of a retry job (issue 14), read straight from BullMQ: its name, its data,
 * one log line per attempt, a final failure's reason, and the board's Retry recorded in the
 * delivery's attempt log like a retry through the API.
 */
import { RETRY_QUEUE } from '@devhooks/core';
import type { Queue } from 'bullmq';
import type { RetryJobData } from '@devhooks/engine';
import { eventually } from '../../../test/support/receiver';
import { startRetryStack, statusEvent, type RetryStack } from '../../../test/support/retry-stack';
import type { Stack } from '../../../test/support/stack';

let stack: RetryStack;
let s: Stack;
let queue: Queue<RetryJobData>;
beforeAll(async () => {
  stack = await startRetryStack(__filename, '0,200ms,200ms');
  ({ s, queue } = stack);
});
afterAll(() => stack.close());
async function failedJob(webhookId: string) {
  return eventually(async () => {
    const r = await s.api.call('GET', `/v1/webhooks/${webhookId}/deliveries`, { token: s.org.key });
    const d = r.body.deliveries[0];
    if (!d || d.status !== 'failed') return undefined;
    const job = await queue.getJob(d.id);
    // its fields and its state are two reads: a job read just before it failed lacks its reason
    return job?.failedReason && (await job.getState()) === 'failed' ? job : undefined;
  });
}

const logsOf = async (id: string) => (await queue.getJobLogs(id)).logs;

it('names the job, describes the delivery in its data and logs every attempt, then fails with the last error', async () => {
  const w = await s.webhook({ name: 'fleet alerts', url: s.rx.url('/down'), topics: ['deviceauth'] });
  s.rx.respond = (r) => (r.path === '/down' ? { status: 503, headers: { 'x-secret-ish': 'never-shown' } } : {});
  await s.send(statusEvent('evt-down'));
  const job = await failedJob(w.id);

  expect(job.name).toBe(`deliver → fleet alerts (http://127.0.0.1:${s.rx.port})`);
  expect(job.data).toMatchObject({
    deliveryId: job.id,
    org_id: s.org.id,
    webhook_id: w.id,
    webhook_name: 'fleet alerts',
    receiver: `http://127.0.0.1:${s.rx.port}`,
    topic: 'deviceauth',
    events: 1,
    attempt: 3,
    attempts_total: 3,
    next_attempt_at: null,
    last_error: 'http_503',
    last_status_code: 503,
  });
  // never a secret, a header value or a body
  expect(JSON.stringify(job.data)).not.toMatch(/whsec_|never-shown|evt-down|rejected/);

  const logs = await logsOf(job.id!);
  expect(logs).toHaveLength(3);
  expect(logs[0]).toMatch(/^attempt 1\/3: http_503 in \d+ ms; next in \d+ ms$/);
  expect(logs[1]).toMatch(/^attempt 2\/3: http_503 in \d+ ms; next in \d+ ms$/);
  expect(logs[2]).toMatch(/^attempt 3\/3: http_503 in \d+ ms; failed for good \(schedule exhausted\)/);
  expect(logs.join('\n')).not.toContain('never-shown');

  expect(job.failedReason).toMatch(/^http_503 after 3 attempts/);
  s.rx.respond = undefined;
});

it('logs the Retry-After a receiver asked for', async () => {
  const w = await s.webhook({ name: 'slow down', url: s.rx.url('/ra'), topics: ['deviceauth'] });
  s.rx.respond = (r) => (r.path === '/ra' ? { status: 429, headers: { 'retry-after': '0' } } : {});
  await s.send(statusEvent('evt-ra'));
  const job = await failedJob(w.id);
  const logs = await logsOf(job.id!);
  expect(logs).toEqual([
    expect.stringMatching(/^attempt 1\/3: http_429 in \d+ ms; next in 0 ms$/),
    'Retry-After honoured: 0 s',
    expect.stringMatching(/^attempt 2\/3: http_429 in \d+ ms; next in 0 ms$/),
    'Retry-After honoured: 0 s',
    expect.stringMatching(/^attempt 3\/3: http_429 .*failed for good/),
  ]);
  s.rx.respond = undefined;
});

it("the board's Retry on a failed job is recorded as a manual attempt, like POST /v1/deliveries/{id}/retry", async () => {
  const w = await s.webhook({ name: 'board retry', url: s.rx.url('/board'), topics: ['deviceauth'] });
  s.rx.respond = (r) => (r.path === '/board' && s.rx.on('/board').length === 1 ? { status: 400 } : {});
  await s.send(statusEvent('evt-board'));
  const job = await failedJob(w.id);
  expect(job.failedReason).toMatch(/^http_400 after 1 attempt /);
  expect(await logsOf(job.id!)).toEqual([expect.stringMatching(/^attempt 1\/3: http_400 in \d+ ms; failed for good/)]);

  // the button: Bull Board's own API, with the root token
  const r = await s.api.call('PUT', `/admin/queues/api/queues/${RETRY_QUEUE}/${job.id}/retry`);
  expect(r.status).toBe(204);
  const detail = await eventually(async () => {
    const d = await s.api.call('GET', `/v1/deliveries/${job.id}`, { token: s.org.key });
    return d.body.status === 'succeeded' ? d.body : undefined;
  });
  expect(detail).toMatchObject({ attempts: 2, status_code: 200, error: null });
  expect(detail.attempt_log).toEqual([
    expect.objectContaining({ status_code: 400 }),
    expect.objectContaining({ status_code: 200, trigger: 'manual' }),
  ]);
  expect(detail.attempt_log[0].trigger).toBeUndefined();
  // the job itself completed (removed on completion); its story was told up to then
  s.rx.respond = undefined;
});

it('a failed job retried through BullMQ alone (e.g. "retry all") is still a manual attempt, pending while it runs', async () => {
  const w = await s.webhook({ name: 'retry all', url: s.rx.url('/all'), topics: ['deviceauth'] });
  s.rx.respond = (r) => {
    if (r.path !== '/all') return {};
    if (s.rx.on('/all').length === 1) return { status: 400 };
    return { hang: true };
  };
  await s.send(statusEvent('evt-all'));
  const job = await failedJob(w.id);
  await job.retry('failed');
  await s.rx.waitOn('/all', 2);
  // the attempt hangs at the receiver: the delivery reads pending meanwhile
  const during = await s.api.call('GET', `/v1/deliveries/${job.id}`, { token: s.org.key });
  expect(during.body.status).toBe('pending');
  const detail = await eventually(async () => {
    const d = await s.api.call('GET', `/v1/deliveries/${job.id}`, { token: s.org.key });
    return d.body.attempts === 2 ? d.body : undefined;
  });
  // the hung attempt timed out (DEVHOOKS_DELIVERY_TIMEOUT 2s in tests): recorded as manual
  expect(detail.attempt_log[1]).toMatchObject({ error: 'timeout', trigger: 'manual' });
  s.rx.respond = undefined;
});
