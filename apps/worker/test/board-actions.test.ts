/**
 * The dashboard with deliveries waiting for their next attempt (issue 14): a delayed job shows when
 * it runs, Promote is recorded as a manual attempt, destructive actions are refused, a retry by
 * hand names its job, and the failing-receivers page (HTML and JSON) says which receivers fail,
 * why, and whether their breaker is open.
 */
import net from 'node:net';
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
  stack = await startRetryStack(__filename, '0,1h,1h');
  ({ s, queue } = stack);
});
afterAll(() => stack.close());

const board = `/admin/queues/api/queues/${RETRY_QUEUE}`;

async function delayedJobOf(webhookId: string) {
  return eventually(async () => {
    const r = await s.api.call('GET', `/v1/webhooks/${webhookId}/deliveries`, { token: s.org.key });
    const d = r.body.deliveries[0];
    const job = d && (await queue.getJob(d.id));
    return job && (await job.getState()) === 'delayed' ? job : undefined;
  });
}

async function deliveryOnceAttempted(id: string, attempts: number) {
  return eventually(async () => {
    const d = await s.api.call('GET', `/v1/deliveries/${id}`, { token: s.org.key });
    return d.body.attempts === attempts ? d.body : undefined;
  });
}

it('a delayed job shows when its next attempt runs', async () => {
  const w = await s.webhook({ name: 'waiting', url: s.rx.url('/wait'), topics: ['deviceauth'] });
  s.rx.respond = (r) => (r.path === '/wait' ? { status: 503 } : {});
  await s.send(statusEvent('evt-wait'));
  const job = await delayedJobOf(w.id);
  /** As the board reads the job: runs at added at + delay, with no "delay changed" mark (delay = opts.delay). */
  const expectRunTimeShown = async (attempt: number) => {
    const viaBoard = await s.api.call('GET', `${board}/${job.id}`);
    expect(viaBoard.status).toBe(200);
    const j = viaBoard.body.job;
    expect(j.name).toBe(`deliver → waiting (http://127.0.0.1:${s.rx.port})`);
    expect(j.data).toMatchObject({ attempt, attempts_total: 3, last_error: 'http_503' });
    expect(j.delay).toBe(j.opts.delay);
    expect(Math.abs(j.timestamp + j.delay - Date.parse(j.data.next_attempt_at))).toBeLessThan(1_000);
  };
  await expectRunTimeShown(1); // added by the stream consumer
  // run early, fail again: moved back to delayed by the retry worker (BullMQ's moveToDelayed)
  await job.promote();
  await deliveryOnceAttempted(job.id!, 2);
  await eventually(
    async () => (await job.getState()) === 'delayed' && (await queue.getJob(job.id!))!.data.attempt === 2,
  );
  await expectRunTimeShown(2);
  s.rx.respond = undefined;
});

it('the board refuses clean, remove, edit and obliterate', async () => {
  const w = await s.webhook({ name: 'kept', url: s.rx.url('/kept'), topics: ['deviceauth'] });
  s.rx.respond = (r) => (r.path === '/kept' ? { status: 503 } : {});
  await s.send(statusEvent('evt-kept'));
  const job = await delayedJobOf(w.id);
  for (const [method, path] of [
    ['PUT', `${board}/${job.id}/clean`],
    ['PUT', `${board}/clean/delayed`],
    ['PUT', `${board}/empty`],
    ['PUT', `${board}/obliterate`],
    ['PATCH', `${board}/${job.id}/update-data`],
    ['POST', `${board}/add`],
  ]) {
    const r = await s.api.call(method, path, { body: {} });
    expect([method, path, r.status]).toEqual([method, path, 403]);
  }
  expect(await job.getState()).toBe('delayed');
  // Retry is for failed jobs: on a delayed one the board says no, and the delivery is untouched
  const before = (await s.api.call('GET', `/v1/deliveries/${job.id}`, { token: s.org.key })).body;
  expect((await s.api.call('PUT', `${board}/${job.id}/retry`)).status).toBe(400);
  const after = (await s.api.call('GET', `/v1/deliveries/${job.id}`, { token: s.org.key })).body;
  expect(after).toEqual(before);
  expect((await queue.getJob(job.id!))!.data.manual).toBeUndefined();
  s.rx.respond = undefined;
});

it.each([
  ["the board's Promote (its hook flags the job)", 'promote', 'board'],
  ['"promote all" (BullMQ alone: the attempt runs early)', 'pall', 'bullmq'],
] as const)('%s runs the attempt now, recorded as manual', async (_label, name, how) => {
  const path = `/${name}`;
  const w = await s.webhook({ name, url: s.rx.url(path), topics: ['deviceauth'] });
  s.rx.respond = (r) => (r.path === path && s.rx.on(path).length === 1 ? { status: 503 } : {});
  await s.send(statusEvent(`evt-${name}`));
  const job = await delayedJobOf(w.id);
  if (how === 'board') expect((await s.api.call('PUT', `${board}/${job.id}/promote`)).status).toBe(204);
  else await job.promote();
  const d = await deliveryOnceAttempted(job.id!, 2);
  expect(d).toMatchObject({ status: 'succeeded', status_code: 200 });
  expect(d.attempt_log[1]).toMatchObject({ status_code: 200, trigger: 'manual' });
  s.rx.respond = undefined;
});

it('a retry by hand of a delivery without a job names and describes the new job', async () => {
  const w = await s.webhook({ name: 'again', url: s.rx.url('/again'), topics: ['deviceauth'] });
  await s.send(statusEvent('evt-again'));
  const first = await eventually(async () => {
    const r = await s.api.call('GET', `/v1/webhooks/${w.id}/deliveries`, { token: s.org.key });
    return r.body.deliveries[0]?.status === 'succeeded' ? r.body.deliveries[0] : undefined;
  });
  expect(await queue.getJob(first.id)).toBeUndefined();
  s.rx.respond = (r) => (r.path === '/again' ? { status: 503 } : {});
  const r = await s.api.call('POST', `/v1/deliveries/${first.id}/retry`, { token: s.org.key });
  expect(r.status).toBe(202);
  const job = await delayedJobOf(w.id);
  expect(job.name).toBe(`deliver → again (http://127.0.0.1:${s.rx.port})`);
  expect(job.data).toMatchObject({ webhook_name: 'again', attempt: 2, attempts_total: 3, last_error: 'http_503' });
  expect(job.data.manual).toBeUndefined();
  expect((await queue.getJobLogs(job.id!)).logs).toEqual([
    'retry by hand requested (API): queued, one more attempt now',
    expect.stringMatching(/^attempt 2 \(manual\): http_503 in \d+ ms; next in /),
  ]);
  s.rx.respond = undefined;
});

/** A loopback port nothing listens on: every attempt is refused at once. */
async function closedPort(): Promise<number> {
  const srv = net.createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const { port } = srv.address() as net.AddressInfo;
  await new Promise((r) => srv.close(r));
  return port;
}

describe('failing receivers page', () => {
  it('needs the root token and a known format', async () => {
    expect((await s.api.call('GET', '/admin/failing', { token: null })).status).toBe(401);
    expect((await s.api.call('GET', '/admin/failing', { token: s.org.key })).status).toBe(401);
    const bad = await s.api.call('GET', '/admin/failing?format=xml');
    expect(bad.status).toBe(400);
    expect(bad.body.error).toMatchObject({ code: expect.any(String), details: [{ path: '/format' }] });
  });

  it('lists failing webhooks with their last error, oldest pending age and open breaker', async () => {
    const port = await closedPort();
    const w = await s.webhook({ name: 'refusing', url: `http://127.0.0.1:${port}/hook`, topics: ['deviceauth'] });
    // five refused connections in a row open the origin's breaker
    await s.send({ events: [1, 2, 3, 4, 5, 6].map((i) => statusEvent(`evt-refused-${i}`)) });
    const row = await eventually(
      async () => {
        const r = await s.api.call('GET', '/admin/failing?format=json');
        const found = r.body.receivers.find((x: any) => x.webhook_id === w.id);
        return found && found.pending === 6 && found.breaker?.state === 'open' ? found : undefined;
      },
      20_000,
      200,
    );
    expect(row).toMatchObject({
      webhook_name: 'refusing',
      org_id: s.org.id,
      receiver: `http://127.0.0.1:${port}`,
      failed_24h: 0,
      last_error: expect.stringMatching(/^(connection_refused|circuit_open)$/),
      failing_since: expect.any(String),
      breaker: { origin: `http://127.0.0.1:${port}`, open_on: 1, workers: 1 },
    });
    expect(row.oldest_pending_age_ms).toBeGreaterThanOrEqual(0);

    const html = await s.api.call('GET', '/admin/failing');
    expect(html.status).toBe(200);
    expect(html.headers.get('content-type')).toMatch(/^text\/html/);
    expect(html.headers.get('content-security-policy')).toMatch(/default-src 'none'/);
    expect(html.text).not.toMatch(/<script/i);
    expect(html.text).toContain('refusing');
    expect(html.text).toContain(`http://127.0.0.1:${port}`);
    expect(html.text).toMatch(/class="open">open</);
  });
});
