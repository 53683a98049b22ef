/**
 * Deliveries parked behind an open breaker, over a real Redis and real BullMQ queues: what the
 * commit of a turned-away delivery writes (record, delayed job, parked set), and the wake that
 * promotes the parked jobs when a probe closes the breaker.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { counterValue, testDelivery, testEngine, testWebhook, type TestEngine } from '../../../../test/support/engine';
import { eventually } from '../../../../test/support/receiver';
import { redisForTestFile } from '../../../../test/support/redis';
import { toTarget, type Target } from '../stores/webhook-directory';
import { attemptDelivery, type AttemptOutcome } from './attempt';
import { commit, PendingWrites } from './commit';
import type { Delivery } from './delivery';
import { OriginLimiter } from './origin-limiter';
import { parkDeliveries, ParkedWaker, wakeParked } from './parked';

const { keys, redis } = redisForTestFile(__filename);
let engine: TestEngine;

beforeEach(() => {
  engine = testEngine(redis, keys, { schedule: [0, 1_000, 60_000, 60_000], origins: { breakerThreshold: 1 } });
});
afterEach(() => engine.close());

/** A target on a port nobody listens on: its first attempt opens the breaker (threshold 1). */
async function refusingTarget(): Promise<Target> {
  const srv = http.createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as AddressInfo).port;
  await new Promise<void>((r) => srv.close(() => r()));
  return toTarget(testWebhook({ url: `http://127.0.0.1:${port}/in` }));
}

/** Attempts deliveries to `target` until one is parked (the first opens the breaker, the next scouts). */
async function parkedOutcome(target: Target, shard = 0): Promise<{ d: Delivery; out: AttemptOutcome }> {
  for (let i = 0; i < 3; i++) {
    const d = testDelivery(target, { shard });
    const out = await attemptDelivery(engine.ctx, d);
    if (out.parked) return { d, out };
  }
  throw new Error('no delivery was parked');
}

async function jobState(shard: number, id: string): Promise<string | undefined> {
  const job = await engine.ctx.queues.of(shard).getJob(id);
  return job ? job.getState() : undefined;
}

describe('parking', () => {
  it('a turned-away delivery keeps a delayed job, and its id waits in its origin parked set until then', async () => {
    const target = await refusingTarget();
    const { d, out } = await parkedOutcome(target);
    const w = new PendingWrites();
    w.settle(d, out, { asJob: false });
    await commit(engine.ctx, w);

    expect(await engine.ctx.deliveries.get(d.id)).toMatchObject({ status: 'pending', error: 'circuit_open' });
    expect(await jobState(0, d.id)).toBe('delayed');
    const score = await redis.zscore(keys.shard(0).parked(target.origin), d.id);
    expect(Number(score)).toBe(Math.ceil(Date.parse(out.record.next_attempt_at!)));
    // the set goes away by itself after its last member's time
    expect(await redis.pttl(keys.shard(0).parked(target.origin))).toBeGreaterThan(200_000);
    expect(await counterValue(engine.registry, 'devhooks_parked_deliveries_total', { event: 'parked' })).toBe(1);
  });

  it('a wake promotes the parked jobs of that origin in every shard, and only those', async () => {
    const target = await refusingTarget();
    const other = await refusingTarget();
    const w = new PendingWrites();
    const a = await parkedOutcome(target, 0);
    const b = await parkedOutcome(target, 1);
    const c = await parkedOutcome(other, 0);
    for (const x of [a, b, c]) w.settle(x.d, x.out, { asJob: false });
    await commit(engine.ctx, w);

    expect(await wakeParked(engine.ctx, target.origin)).toBe(2);
    expect(await jobState(0, a.d.id)).toBe('waiting');
    expect(await jobState(1, b.d.id)).toBe('waiting');
    expect(await jobState(0, c.d.id)).toBe('delayed');
    expect(await redis.exists(keys.shard(0).parked(target.origin), keys.shard(1).parked(target.origin))).toBe(0);
    expect(await redis.zcard(keys.shard(0).parked(other.origin))).toBe(1);
    // nothing left: a second wake finds nothing
    expect(await wakeParked(engine.ctx, target.origin)).toBe(0);
  });

  it('a parked id whose time has come is dropped, not woken; one whose job is gone is skipped', async () => {
    const origin = 'http://parked.test:81';
    const now = Date.now();
    await parkDeliveries(
      engine.ctx,
      [
        { shard: 0, origin, id: 'dlv_past', runAt: now - 1_000 },
        { shard: 0, origin, id: 'dlv_nojob', runAt: now + 60_000 },
      ],
      now - 2_000,
    );
    expect(await redis.zcard(keys.shard(0).parked(origin))).toBe(2);
    expect(await wakeParked(engine.ctx, origin, now)).toBe(1);
    expect(await jobState(0, 'dlv_nojob')).toBeUndefined();
    expect(await redis.exists(keys.shard(0).parked(origin))).toBe(0);
  });

  it('the waker promotes them when a probe closes the breaker', async () => {
    // the breaker on a clock of the test's: its cooldown passes when the test says so
    let clock = Date.now();
    engine.ctx.origins = new OriginLimiter(
      {
        concurrency: 4,
        maxWaitMs: 5_000,
        breakerThreshold: 1,
        breakerCooldownMs: 60_000,
        breakerMaxCooldownMs: 300_000,
      },
      undefined,
      () => clock,
    );
    const target = await refusingTarget();
    const { d, out } = await parkedOutcome(target);
    const w = new PendingWrites();
    w.settle(d, out, { asJob: false });
    await commit(engine.ctx, w);
    const waker = new ParkedWaker(engine.ctx, 60_000);
    engine.ctx.origins.onClosed = (origin) => waker.wake(origin);
    try {
      clock += 60_000;
      const probe = engine.ctx.origins.admit(target.origin);
      if (probe instanceof Promise || !probe.ok) throw new Error('expected the probe to go');
      probe.release(3, 'answered'); // the receiver is back
      expect(engine.ctx.origins.isOpen(target.origin)).toBe(false);
      await eventually(async () => (await jobState(0, d.id)) === 'waiting');
      expect(await redis.exists(keys.shard(0).parked(target.origin))).toBe(0);
      await eventually(
        async () => (await counterValue(engine.registry, 'devhooks_parked_deliveries_total', { event: 'woken' })) === 1,
      );
    } finally {
      waker.close();
    }
  });
});
