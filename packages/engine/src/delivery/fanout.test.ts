/**
 * The stream consumer when Redis fails in the middle of a reclaim (issue 13, defect 7): the
 * entries it claimed must not stay registered as in progress (held, heartbeated for ever, so no
 * other worker could claim them); they stay pending in the group and another consumer claims and
 * delivers them once idle. Also: its own entries are never claimed back while it still works on
 * them, and never left held by nothing (an entry put aside for its batch, looked at again while
 * the fan-out that put it aside still waits on Redis).
 */
import { CONSUMER_GROUP } from '@devhooks/core';
import { capturedLogger, testEngine, testEvent, testWebhook, type TestEngine } from '../../../../test/support/engine';
import { eventually, Receiver } from '../../../../test/support/receiver';
import { redisForTestFile, testRedis } from '../../../../test/support/redis';
import { encodeEvent, FIELDS } from '../log/stream-codec';
import { StreamLease } from '../log/stream-lease';
import type { EngineContext } from '../runtime/engine-context';
import { DeliveryLog } from '../stores/delivery-log';
import { WebhookDirectory } from '../stores/webhook-directory';
import { FanoutGroup } from './fanout-group';
import { StreamConsumer, type ConsumerOptions } from './fanout';

const { keys, redis } = redisForTestFile(__filename);
const stream = keys.shard(0).stream;
let engine: TestEngine;
let rx: Receiver;
const groups: FanoutGroup[] = [];

beforeAll(async () => {
  engine = testEngine(redis, keys, { schedule: [0, 60_000] });
  rx = await Receiver.start();
});
afterAll(async () => {
  for (const g of groups) await g.stop(0);
  await rx.close();
  await engine.close();
});

function consumer(name: string, ctx: EngineContext, claimIdleMs: number): StreamConsumer {
  const lease = new StreamLease(redis, testRedis(), stream, name);
  const options: ConsumerOptions = {
    shard: 0,
    readCount: 50,
    maxInProgress: 100,
    claimIdleMs,
    blockMs: 100,
    flushMs: 10,
  };
  const group = new FanoutGroup(ctx, 8);
  const c = new StreamConsumer(ctx, lease, options, group);
  group.add(0, c);
  groups.push(group);
  return c;
}

it('releases entries whose reclaim failed on a Redis error; another consumer claims and delivers them', async () => {
  const w = testWebhook({ url: rx.url('/in'), topics: ['deviceauth'] });
  const { id: _i, org_id, created_at: _c, updated_at: _u, ...fields } = w;
  await engine.ctx.webhooks.create(org_id, [fields]);
  // entries a worker read and then died with: pending for consumer "ghost"
  await redis.xgroup('CREATE', stream, CONSUMER_GROUP, '$', 'MKSTREAM');
  const N = 5;
  for (let i = 0; i < N; i++) {
    const e = testEvent({ org: org_id, id: `reclaim-${i}`, type: 'device-status-changed', topic: 'deviceauth' });
    await redis.xadd(stream, '*', FIELDS[0], encodeEvent(e)[0]);
  }
  await redis.xreadgroup('GROUP', CONSUMER_GROUP, 'ghost', 'COUNT', N, 'STREAMS', stream, '>');

  // consumer "a": its delivery-log reads go over a Redis connection that is down (closed)
  const down = testRedis();
  await down.ping();
  down.disconnect();
  const logs = capturedLogger('debug');
  const ctxA: EngineContext = {
    ...engine.ctx,
    logger: logs.logger,
    deliveries: new DeliveryLog(down, keys, { ttlMs: 86_400_000, maxPerWebhook: 10_000 }),
  };
  const a = consumer('a', ctxA, 1_500);
  await a.start();
  await eventually(() => logs.lines.some((l) => l.message === 'fan-out failed; entries left pending for a retry'));

  // nothing registered: not held, not heartbeated; the entries are pending in a's name
  expect(a.held).toBe(0);
  const owned = (await redis.xpending(stream, CONSUMER_GROUP, '-', '+', 100, 'a')) as unknown[];
  expect(owned).toHaveLength(N);

  // "b" (Redis fine) claims them once idle (sooner than "a" would look again) and delivers them
  const b = consumer('b', engine.ctx, 500);
  await b.start();
  const got = await rx.waitOn('/in', N);
  expect(new Set(got.map((r) => r.headers['webhook-id'])).size).toBe(N);
  await eventually(async () => ((await redis.xpending(stream, CONSUMER_GROUP)) as [number])[0] === 0);
  expect(a.held).toBe(0);
  expect(b.held).toBe(0);
});

it('never claims back its own entries while their acknowledging commit is slow (no second delivery)', async () => {
  const w = testWebhook({ url: rx.url('/slow-commit'), topics: ['deviceauth'] });
  const { id: _i, org_id, created_at: _c, updated_at: _u, ...fields } = w;
  await engine.ctx.webhooks.create(org_id, [fields]);
  await redis.xgroup('CREATE', stream, CONSUMER_GROUP, '$', 'MKSTREAM').catch(() => undefined);
  // every commit spends 2.5 s in the delivery log's upkeep: the entries wait that long for their ack,
  // idle well past this consumer's claim-idle time
  class SlowUpkeep extends DeliveryLog {
    override dueForTrim(): string[] {
      return ['wh_upkeep'];
    }
    override async trim(): Promise<number> {
      await new Promise((r) => setTimeout(r, 2_500));
      return 0;
    }
  }
  const ctx: EngineContext = {
    ...engine.ctx,
    deliveries: new SlowUpkeep(redis, keys, { ttlMs: 86_400_000, maxPerWebhook: 10_000 }),
  };
  const c = consumer('slow-commit', ctx, 300);
  await c.start();
  const N = 20;
  for (let i = 0; i < N; i++) {
    const e = testEvent({ org: org_id, id: `slow-commit-${i}`, type: 'device-status-changed', topic: 'deviceauth' });
    await redis.xadd(stream, '*', FIELDS[0], encodeEvent(e)[0]);
  }
  await rx.waitOn('/slow-commit', N);
  // two commits' worth of time, with claims every 250 ms meanwhile
  await eventually(async () => ((await redis.xpending(stream, CONSUMER_GROUP)) as [number])[0] === 0, 15_000);
  const got = rx.on('/slow-commit');
  expect([got.length, new Set(got.map((r) => r.headers['webhook-id'])).size]).toEqual([N, N]);
});

it('never claims back its own entries while their fan-out waits on Redis (no second copy sent at once)', async () => {
  // the consumers of the tests above would take these entries too: only this one reads now
  for (const g of groups.splice(0)) await g.stop(0);
  // an ordered webhook: a second copy sent by the same worker is what could reach the receiver
  // after the next event of the device (this worker's own lease lets both through)
  const w = testWebhook({ url: rx.url('/slow-fanout'), topics: ['deviceauth'], ordering: 'device' });
  const { id: _i, org_id, created_at: _c, updated_at: _u, ...fields } = w;
  await engine.ctx.webhooks.create(org_id, [fields]);
  await redis.xgroup('CREATE', stream, CONSUMER_GROUP, '$', 'MKSTREAM').catch(() => undefined);
  // the fan-out's first read of the webhook directory answers after 2.5 s (a busy Redis): the
  // entries it read wait that long unregistered, idle well past this consumer's claim-idle time
  let resumed: () => void = () => undefined;
  const slowOneResumed = new Promise<void>((r) => (resumed = r));
  class SlowDirectory extends WebhookDirectory {
    private slowed = false;
    override async refresh(orgs: Iterable<string>): Promise<void> {
      const list = [...orgs];
      if (!this.slowed && list.includes(org_id)) {
        this.slowed = true;
        await new Promise((r) => setTimeout(r, 2_500));
        setTimeout(resumed, 0);
      }
      return super.refresh(list);
    }
  }
  const ctx: EngineContext = { ...engine.ctx, directory: new SlowDirectory(redis, keys) };
  // the receiver answers in 3 s: the deliveries are still in flight when the slow fan-out goes on
  rx.respond = (r) => (r.path === '/slow-fanout' ? { delayMs: 3_000 } : {});
  const c = consumer('slow-fanout', ctx, 300);
  const N = 4;
  for (let i = 0; i < N; i++) {
    const e = testEvent({
      org: org_id,
      id: `slow-fanout-${i}`,
      type: 'device-status-changed',
      topic: 'deviceauth',
      device_id: `dev-slow-${i}`, // each its own chain: every one a head (no retry worker here)
    });
    await redis.xadd(stream, '*', FIELDS[0], encodeEvent(e)[0]);
  }
  await c.start();
  await rx.waitOn('/slow-fanout', N);
  // claims every 250 ms went on while the fan-out waited; it went on after its wait (anything it
  // would send again is sent well within a second)
  await slowOneResumed;
  await eventually(async () => ((await redis.xpending(stream, CONSUMER_GROUP)) as [number])[0] === 0, 15_000);
  await new Promise((r) => setTimeout(r, 1_000));
  const got = rx.on('/slow-fanout');
  expect([got.length, new Set(got.map((r) => r.headers['webhook-id'])).size]).toEqual([N, N]);
  expect(c.held).toBe(0);
  rx.respond = undefined;
});

it('delivers an entry put aside for its batch although the fan-out that put it aside is still waiting on Redis', async () => {
  for (const g of groups.splice(0)) await g.stop(0);
  const w = testWebhook({ url: rx.url('/late-batch'), topics: ['deviceauth'] });
  const { id: _i, org_id, created_at: _c, updated_at: _u, ...fields } = w;
  await engine.ctx.webhooks.create(org_id, [fields]);
  await redis.xgroup('CREATE', stream, CONSUMER_GROUP, '$', 'MKSTREAM').catch(() => undefined);
  // an entry of a batch across shards whose commit mark is not written yet: put aside, looked at
  // again 50 ms later. The fan-out that put it aside then reads the webhook directory, which
  // answers after 1.5 s; the batch commits meanwhile, so the second look finds it ready
  const batch = 'b-late';
  class SlowDirectory extends WebhookDirectory {
    private slowed = false;
    override async refresh(orgs: Iterable<string>): Promise<void> {
      const list = [...orgs];
      if (!this.slowed) {
        this.slowed = true;
        await redis.set(keys.batchMarker(batch), 'c');
        await new Promise((r) => setTimeout(r, 1_500));
      }
      return super.refresh(list);
    }
  }
  const ctx: EngineContext = { ...engine.ctx, directory: new SlowDirectory(redis, keys) };
  const late = {
    ...testEvent({ org: org_id, id: 'late-batch-0', type: 'device-status-changed', topic: 'deviceauth' }),
    batch,
  };
  const plain = testEvent({ org: org_id, id: 'late-batch-1', type: 'device-status-changed', topic: 'deviceauth' });
  for (const e of [late, plain]) await redis.xadd(stream, '*', FIELDS[0], encodeEvent(e)[0]);
  // claims only after a minute: the entry must not wait for one (before, it did, skipped by the
  // second look as still being handled, and held by nothing)
  const c = consumer('late-batch', ctx, 60_000);
  await c.start();
  const got = await rx.waitOn('/late-batch', 2, 10_000);
  expect(new Set(got.map((r) => r.headers['webhook-id']))).toEqual(new Set(['late-batch-0', 'late-batch-1']));
  await eventually(async () => ((await redis.xpending(stream, CONSUMER_GROUP)) as [number])[0] === 0, 10_000);
  expect(c.held).toBe(0);
});
