/**
 * Pending writes and their commit: what each decision adds (as a first attempt and as a retry job),
 * and the commit over a real Redis and a real BullMQ queue: records, retry jobs, webhook health
 * (410, failing for 5 days), ping results, and acknowledgements that lower the backlog once.
 */
import { CONSUMER_GROUP, type Webhook } from '@devhooks/core';
import { counterValue, testDelivery, testEngine, testWebhook, type TestEngine } from '../../../../test/support/engine';
import { redisForTestFile } from '../../../../test/support/redis';
import { toTarget } from '../stores/webhook-directory';
import { decide, deferred, type AttemptOutcome } from './attempt';
import { commit, FAILING_REASON, PendingWrites } from './commit';
import type { Delivery } from './delivery';

const { keys, redis } = redisForTestFile(__filename);
const DAY = 86_400_000;
let engine: TestEngine;

beforeAll(() => {
  engine = testEngine(redis, keys, { schedule: [0, 1_000, 60_000] });
});
afterAll(async () => {
  await engine.close();
});

const outcome = (d: Delivery, status: number): AttemptOutcome =>
  decide(engine.ctx, d, { statusCode: status, durationMs: 3 }, Date.now());

/** A webhook stored in Redis (the commit disables stored webhooks). */
async function storedWebhook(over: Partial<Webhook> = {}): Promise<Webhook> {
  const {
    id: _i,
    org_id,
    created_at: _c,
    updated_at: _u,
    ...fields
  } = testWebhook({ url: 'http://127.0.0.1:9/in', ...over });
  const [w] = await engine.ctx.webhooks.create(org_id, [fields]);
  return w;
}

describe('PendingWrites.settle', () => {
  const d = () => testDelivery(testWebhook());

  it('a success: a created record, the webhook counted as succeeding, no job', () => {
    const w = new PendingWrites();
    const x = d();
    w.settle(x, outcome(x, 200), { asJob: false });
    expect(w.created.map((r) => r.id)).toEqual([x.id]);
    expect(w.updated).toEqual([]);
    expect(w.jobs).toEqual([]);
    expect([...w.succeeded]).toEqual([[x.target.id, x.target.org_id]]);
    expect(w.failing.size).toBe(0);
    expect(w.size).toBe(1);
  });

  it('a retry: a job with the delay unless the delivery already is a job; a consumed attempt counts as failing', () => {
    const first = new PendingWrites();
    const x = d();
    const out = outcome(x, 503);
    first.settle(x, out, { asJob: false });
    expect(first.jobs).toEqual([
      {
        record: out.record,
        target: x.target,
        delayMs: (out.decision as { delayMs: number }).delayMs,
        decision: out.decision,
      },
    ]);
    expect(first.failing.get(x.target.id)).toBe(x.target.org_id);

    const asJob = new PendingWrites();
    const y = { ...x, record: out.record };
    asJob.settle(y, outcome(y, 503), { asJob: true });
    expect(asJob.jobs).toEqual([]);
    expect(asJob.updated.map((r) => r.id)).toEqual([x.id]);
    expect(asJob.created).toEqual([]);
  });

  it('a deferral: a job, but the webhook is not counted as failing', () => {
    const w = new PendingWrites();
    const x = d();
    w.settle(x, deferred(x, 5_000), { asJob: false });
    expect(w.jobs).toEqual([expect.objectContaining({ delayMs: 5_000 })]);
    expect(w.failing.size).toBe(0);
    expect(w.succeeded.size).toBe(0);
  });

  it('a failure: a parking job (first attempt only), failing, and a disable for 410', () => {
    const w = new PendingWrites();
    const x = d();
    const out = outcome(x, 410);
    w.settle(x, out, { asJob: false });
    expect(w.jobs).toEqual([{ record: out.record, target: x.target, delayMs: 0, park: true, decision: out.decision }]);
    expect(w.failing.get(x.target.id)).toBe(x.target.org_id);
    expect(w.disable).toEqual([
      { org: x.target.org_id, webhook: x.target.id, reason: 'the endpoint answered 410 Gone' },
    ]);

    const asJob = new PendingWrites();
    asJob.settle(x, outcome(x, 404), { asJob: true });
    expect(asJob.jobs).toEqual([]);
    expect(asJob.disable).toEqual([]);
    expect(asJob.failing.size).toBe(1);
  });

  it('a ping publishes its first attempt only', () => {
    const w = new PendingWrites();
    const x = testDelivery(testWebhook(), { topic: 'ping' });
    const out = outcome(x, 200);
    w.settle(x, out, { asJob: false });
    expect(w.pings).toEqual([
      { delivery_id: x.id, status: 'succeeded', status_code: 200, duration_ms: 3, error: null },
    ]);
    const again = new PendingWrites();
    const y = { ...x, record: out.record };
    again.settle(y, outcome(y, 200), { asJob: true });
    expect(again.pings).toEqual([]);
  });

  it('gathers acks per shard and counts them in the size', () => {
    const w = new PendingWrites();
    expect(w.empty).toBe(true);
    w.ack(0, '1-0');
    w.ack(1, '2-0');
    w.ack(0, '3-0');
    expect([...w.acks]).toEqual([
      [0, ['1-0', '3-0']],
      [1, ['2-0']],
    ]);
    expect(w.size).toBe(3);
    expect(w.empty).toBe(false);
  });
});

describe('commit', () => {
  it('writes records and adds retry jobs to the queue, named for the webhook, with the dashboard data', async () => {
    const retrying = testDelivery(testWebhook({ name: 'retrying hook' }));
    const failed = testDelivery(testWebhook({ name: 'failed hook' }));
    const ok = testDelivery(testWebhook());
    const w = new PendingWrites();
    const r = outcome(retrying, 503);
    w.settle(retrying, r, { asJob: false });
    w.settle(failed, outcome(failed, 404), { asJob: false });
    w.settle(ok, outcome(ok, 200), { asJob: false });
    await commit(engine.ctx, w);

    expect(await engine.ctx.deliveries.get(ok.id)).toMatchObject({ status: 'succeeded', attempts: 1 });
    expect(await engine.ctx.deliveries.get(failed.id)).toMatchObject({ status: 'failed', error: 'http_404' });
    expect(await redis.zscore(keys.webhookDeliveries(ok.target.id), ok.id)).not.toBeNull();

    const job = await engine.ctx.queues.of(0).getJob(retrying.id);
    expect(job?.name).toBe(`deliver → retrying hook (${retrying.target.origin})`);
    expect(job?.data).toMatchObject({
      deliveryId: retrying.id,
      webhook_id: retrying.target.id,
      attempt: 1,
      attempts_total: 3,
      last_error: 'http_503',
    });
    expect(job?.data.park).toBeUndefined();
    expect(job?.opts.delay).toBe(Math.round((r.decision as { delayMs: number }).delayMs));
    expect(await job?.getState()).toBe('delayed');

    const parked = await engine.ctx.queues.of(0).getJob(failed.id);
    expect(parked?.data).toMatchObject({ deliveryId: failed.id, park: true });
    expect(await engine.ctx.queues.of(0).getJob(ok.id)).toBeUndefined();
  });

  it('marks a failing webhook once, clears it on success, and disables it after 5 days of failures', async () => {
    const hook = await storedWebhook();
    const d = testDelivery(hook);
    const w1 = new PendingWrites();
    w1.settle(d, outcome(d, 500), { asJob: true });
    await commit(engine.ctx, w1);
    const since = Number(await redis.hget(keys.failingSince, hook.id));
    expect(since).toBeGreaterThan(0);

    const w2 = new PendingWrites();
    w2.settle(d, outcome(d, 500), { asJob: true });
    await commit(engine.ctx, w2);
    expect(Number(await redis.hget(keys.failingSince, hook.id))).toBe(since);

    const w3 = new PendingWrites();
    w3.settle(d, outcome(d, 200), { asJob: true });
    await commit(engine.ctx, w3);
    expect(await redis.hget(keys.failingSince, hook.id)).toBeNull();

    const before = await counterValue(engine.registry, 'devhooks_webhooks_disabled_total', {
      reason: 'failing_5_days',
    });
    await redis.hset(keys.failingSince, hook.id, Date.now() - 5 * DAY - 1_000);
    const w4 = new PendingWrites();
    w4.settle(d, outcome(d, 500), { asJob: true });
    await commit(engine.ctx, w4);
    expect(await engine.ctx.webhooks.get(hook.org_id, hook.id)).toMatchObject({
      enabled: false,
      disabled_reason: FAILING_REASON,
    });
    expect(await redis.hget(keys.failingSince, hook.id)).toBeNull();
    expect(await counterValue(engine.registry, 'devhooks_webhooks_disabled_total', { reason: 'failing_5_days' })).toBe(
      before + 1,
    );
  });

  it('disables a webhook that answered 410', async () => {
    const hook = await storedWebhook();
    const d = testDelivery(toTarget(hook));
    const w = new PendingWrites();
    w.settle(d, outcome(d, 410), { asJob: false });
    await commit(engine.ctx, w);
    expect(await engine.ctx.webhooks.get(hook.org_id, hook.id)).toMatchObject({
      enabled: false,
      disabled_reason: 'the endpoint answered 410 Gone',
    });
  });

  it('publishes ping results for the API to take', async () => {
    const d = testDelivery(testWebhook(), { topic: 'ping' });
    const w = new PendingWrites();
    w.settle(d, outcome(d, 202), { asJob: false });
    await commit(engine.ctx, w);
    const raw = await redis.lrange(keys.pingResult(d.id), 0, -1);
    expect(raw.map((s) => JSON.parse(s))).toEqual([
      { delivery_id: d.id, status: 'succeeded', status_code: 202, duration_ms: 3, error: null },
    ]);
    expect(await redis.pttl(keys.pingResult(d.id))).toBeGreaterThan(0);
  });

  it('acknowledges entries per shard and lowers each backlog only once', async () => {
    const ids: Record<number, string[]> = {};
    for (const shard of [0, 1]) {
      const s = keys.shard(shard);
      await redis.xgroup('CREATE', s.stream, CONSUMER_GROUP, '0', 'MKSTREAM');
      ids[shard] = [await redis.xadd(s.stream, '*', 'n', '1'), await redis.xadd(s.stream, '*', 'n', '2')] as string[];
      await redis.set(s.backlog, 5);
      await redis.xreadgroup('GROUP', CONSUMER_GROUP, 'c1', 'STREAMS', s.stream, '>');
    }
    const acks = () => {
      const w = new PendingWrites();
      w.ack(0, ids[0][0]);
      w.ack(0, ids[0][1]);
      w.ack(1, ids[1][0]);
      return w;
    };
    await commit(engine.ctx, acks());
    await commit(engine.ctx, acks());
    expect(await redis.get(keys.shard(0).backlog)).toBe('3');
    expect(await redis.get(keys.shard(1).backlog)).toBe('4');
    const pending = (await redis.xpending(keys.shard(1).stream, CONSUMER_GROUP)) as [number, ...unknown[]];
    expect(pending[0]).toBe(1);
  });
});
