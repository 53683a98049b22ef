/**
 * Deliveries parked behind an open breaker, over a real Redis and real BullMQ queues: what the
 * commit of a turned-away delivery writes (record, delayed job, parked set), and the wake that
 * promotes the parked jobs when the receiver answers again: a probe closes the breaker, or another
 * process (the one that parked them may be dead) has an answer from it.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { counterValue, testDelivery, testEngine, testWebhook, type TestEngine } from '../../../../test/support/engine';
import { eventually } from '../../../../test/support/receiver';
import { redisForTestFile, testRedisUrl } from '../../../../test/support/redis';
import { RETRY_QUEUE } from '@devhooks/core';
import { DelayedError, Queue, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { luaCommands } from '../redis/lua-commands';
import { RETRY_JOB_NAME } from '../retry/retry-queue';
import { toTarget, type Target } from '../stores/webhook-directory';
import { attemptDelivery, type AttemptOutcome } from './attempt';
import { commit, PendingWrites } from './commit';
import type { Delivery } from './delivery';
import { OriginLimiter } from './origin-limiter';
import { parkDeliveries, ParkedWaker, wakeParked } from './parked';
import { settledBefore } from './reclaim';

const { keys, redis } = redisForTestFile(__filename);
let engine: TestEngine;

beforeEach(() => {
  engine = testEngine(redis, keys, { schedule: [0, 1_000, 60_000, 60_000], origins: { breakerThreshold: 1 } });
});
afterEach(() => engine.close());

const servers: http.Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((srv) => new Promise<void>((r) => srv.close(() => r()))));
});

/** A target on a port nobody listens on: its first attempt opens the breaker (threshold 1). */
async function refusingTarget(): Promise<Target> {
  const srv = http.createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as AddressInfo).port;
  await new Promise<void>((r) => srv.close(() => r()));
  return toTarget(testWebhook({ url: `http://127.0.0.1:${port}/in` }));
}

/** The receiver of `target` is back: a server on its port that answers 204. */
async function receiverBack(target: Target): Promise<void> {
  const srv = http.createServer((_req, res) => res.writeHead(204).end());
  servers.push(srv);
  await new Promise<void>((r) => srv.listen(Number(new URL(target.origin).port), '127.0.0.1', r));
}

/** A worker's breakers as these tests set them: the first failure opens one, for a minute. */
const LIMITER_OPTIONS = {
  concurrency: 4,
  maxWaitMs: 5_000,
  breakerThreshold: 1,
  breakerCooldownMs: 60_000,
  breakerMaxCooldownMs: 300_000,
};

/** Another worker process's breakers: a limiter that has seen nothing, its waker wired as the worker wires it. */
function anotherProcess(): ParkedWaker {
  engine.ctx.origins = new OriginLimiter(LIMITER_OPTIONS);
  const waker = new ParkedWaker(engine.ctx, 60_000);
  engine.ctx.origins.onReachable = (origin) => waker.wake(origin);
  return waker;
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

    expect(await wakeParked(engine.ctx, target.origin)).toEqual({ woken: 2, kept: 0 });
    expect(await jobState(0, a.d.id)).toBe('waiting');
    expect(await jobState(1, b.d.id)).toBe('waiting');
    expect(await jobState(0, c.d.id)).toBe('delayed');
    expect(await redis.exists(keys.shard(0).parked(target.origin), keys.shard(1).parked(target.origin))).toBe(0);
    expect(await redis.zcard(keys.shard(0).parked(other.origin))).toBe(1);
    // nothing left: a second wake finds nothing
    expect(await wakeParked(engine.ctx, target.origin)).toEqual({ woken: 0, kept: 0 });
  });

  it('a parked id whose time has come is dropped, not woken; one whose job is gone is taken off, nothing promoted', async () => {
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
    expect(await wakeParked(engine.ctx, origin, now)).toEqual({ woken: 0, kept: 0 });
    expect(await jobState(0, 'dlv_nojob')).toBeUndefined();
    expect(await redis.exists(keys.shard(0).parked(origin))).toBe(0);
  });

  it('one parked while its job still runs is kept, and the next pass promotes it once delayed', async () => {
    // a retry job parks its delivery when it commits the attempt, then moves itself back to delayed
    const origin = 'http://parked.test:83';
    const queue = engine.ctx.queues.of(0);
    await queue.add(RETRY_JOB_NAME, { deliveryId: 'dlv_running' }, { jobId: 'dlv_running' });
    let parkedWhileRunning!: () => void;
    const moved = new Promise<void>((r) => (parkedWhileRunning = r));
    const connection = new Redis(testRedisUrl(), { maxRetriesPerRequest: null });
    let runs = 0;
    const worker = new Worker(
      RETRY_QUEUE,
      async (job, token) => {
        if (job.id !== 'dlv_running') return 'done'; // earlier tests' promoted jobs
        if (++runs > 1) return 'ran again';
        await moved; // the test parks and wakes while this job is active
        await job.moveToDelayed(Date.now() + 300_000, token);
        throw new DelayedError();
      },
      { connection, prefix: queue.opts.prefix },
    );
    try {
      await eventually(async () => (await jobState(0, 'dlv_running')) === 'active');
      const runAt = Date.now() + 300_000;
      await parkDeliveries(engine.ctx, [{ shard: 0, origin, id: 'dlv_running', runAt }]);
      expect(await wakeParked(engine.ctx, origin)).toEqual({ woken: 0, kept: 1 });
      expect(await redis.zscore(keys.shard(0).parked(origin), 'dlv_running')).toBe(String(runAt));
      parkedWhileRunning();
      await eventually(async () => (await jobState(0, 'dlv_running')) === 'delayed');
      expect(await wakeParked(engine.ctx, origin)).toEqual({ woken: 1, kept: 0 });
      // promoted: it runs again now, not in 5 min (then its queue removes it, completed)
      await eventually(() => runs === 2 || undefined);
      expect(runs).toBe(2);
    } finally {
      await worker.close(true);
      connection.disconnect();
    }
  });

  it('the waker promotes them when a probe closes the breaker', async () => {
    // the breaker on a clock of the test's: its cooldown passes when the test says so
    let clock = Date.now();
    engine.ctx.origins = new OriginLimiter(LIMITER_OPTIONS, undefined, () => clock);
    const target = await refusingTarget();
    const { d, out } = await parkedOutcome(target);
    const w = new PendingWrites();
    w.settle(d, out, { asJob: false });
    await commit(engine.ctx, w);
    const waker = new ParkedWaker(engine.ctx, 60_000);
    engine.ctx.origins.onReachable = (origin) => waker.wake(origin);
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

  it('the waker passes over an origin at most once a second, and once more shortly after however many answers come', async () => {
    const target = await refusingTarget();
    const clock = Date.now();
    const waker = new ParkedWaker(engine.ctx, 200, () => clock); // a clock that stands still
    const passes = jest.spyOn(waker as unknown as { pass(origin: string): Promise<void> }, 'pass');
    try {
      waker.wake(target.origin); // a pass at once: nothing parked yet
      expect(passes).toHaveBeenCalledTimes(1);
      const { d, out } = await parkedOutcome(target);
      const w = new PendingWrites();
      w.settle(d, out, { asJob: false });
      await commit(engine.ctx, w);
      for (let i = 0; i < 20; i++) waker.wake(target.origin); // every woken delivery's answer asks again
      expect(passes).toHaveBeenCalledTimes(1);
      // the pass shortly after the first is not put off by them, and finds the parked one
      await eventually(async () => (await jobState(0, d.id)) === 'waiting');
      expect(passes).toHaveBeenCalledTimes(2);
    } finally {
      waker.close();
    }
  });

  describe('parked by a worker that died (its breaker, whose probe would wake them, died with it)', () => {
    /**
     * Two deliveries parked (shards 0 and 1) by this test's first worker; then the receiver is back,
     * and another worker takes over.
     */
    async function parkedThenTakenOver() {
      const target = await refusingTarget();
      const w = new PendingWrites();
      const a = await parkedOutcome(target);
      const b = await parkedOutcome(target, 1);
      for (const x of [a, b]) w.settle(x.d, x.out, { asJob: false });
      await commit(engine.ctx, w);
      expect(await jobState(0, a.d.id)).toBe('delayed');
      expect(await jobState(1, b.d.id)).toBe('delayed');
      await receiverBack(target);
      return { target, a, b, waker: anotherProcess() };
    }

    it("another worker's first answer from the receiver wakes them", async () => {
      const { target, a, b, waker } = await parkedThenTakenOver();
      try {
        const d = testDelivery(target);
        const out = await attemptDelivery(engine.ctx, d);
        expect(out.outcome).toBe('success');
        await eventually(
          async () => (await jobState(0, a.d.id)) === 'waiting' && (await jobState(1, b.d.id)) === 'waiting',
        );
        expect(await redis.exists(keys.shard(0).parked(target.origin), keys.shard(1).parked(target.origin))).toBe(0);
      } finally {
        waker.close();
      }
    });

    it('a turned-away delivery that gets an answer wakes them, in a worker that has long had answers from it', async () => {
      const { target, a, b, waker } = await parkedThenTakenOver();
      try {
        // this worker's first answer from the receiver, before anything was parked in this test's eyes
        engine.ctx.origins.onReachable = undefined;
        expect((await attemptDelivery(engine.ctx, testDelivery(target))).outcome).toBe('success');
        engine.ctx.origins.onReachable = (origin) => waker.wake(origin);
        expect((await attemptDelivery(engine.ctx, testDelivery(target))).outcome).toBe('success');
        expect(await jobState(0, a.d.id)).toBe('delayed'); // an ordinary answer wakes nothing
        // the parked one's job runs in this worker (as a scout's would): its last attempt was turned away
        const back = await attemptDelivery(engine.ctx, { ...a.d, record: a.out.record });
        expect(back.outcome).toBe('success');
        await eventually(async () => (await jobState(1, b.d.id)) === 'waiting');
      } finally {
        waker.close();
      }
    });

    it('one that died in the middle of a wake leaves them parked, and the next worker wakes them', async () => {
      // the dying worker read the parked sets, then promoted nothing: its Redis connection is gone
      // (as when it is killed there). Before, a wake took the ids off the set first, and they then
      // waited for their fallback time, minutes later (a CI run of the crash-safety test, shard 6)
      const { target, a, b, waker } = await parkedThenTakenOver();
      const gone = new Redis(testRedisUrl(), { maxRetriesPerRequest: 0, enableOfflineQueue: false });
      const queue = new Queue(RETRY_QUEUE, { connection: gone, prefix: engine.ctx.queues.of(0).opts.prefix });
      try {
        await queue.waitUntilReady();
        gone.disconnect();
        const dying = { ...engine.ctx, queues: { of: () => queue } as unknown as typeof engine.ctx.queues };
        expect(await wakeParked(dying, target.origin)).toEqual({ woken: 0, kept: 2 });
        expect(await redis.zscore(keys.shard(0).parked(target.origin), a.d.id)).not.toBeNull();
        expect(await redis.zscore(keys.shard(1).parked(target.origin), b.d.id)).not.toBeNull();
        expect((await attemptDelivery(engine.ctx, testDelivery(target))).outcome).toBe('success');
        await eventually(
          async () => (await jobState(0, a.d.id)) === 'waiting' && (await jobState(1, b.d.id)) === 'waiting',
        );
        expect(await redis.exists(keys.shard(0).parked(target.origin), keys.shard(1).parked(target.origin))).toBe(0);
      } finally {
        waker.close();
        await queue.close().catch(() => undefined);
      }
    });

    it('a delivery parked again after its wake read it keeps its new place', async () => {
      // woken, run, turned away again and parked with a new time, all before the wake took it off
      const target = await refusingTarget();
      const { d, out } = await parkedOutcome(target);
      const w = new PendingWrites();
      w.settle(d, out, { asJob: false });
      await commit(engine.ctx, w);
      const key = keys.shard(0).parked(target.origin);
      const first = Number(await redis.zscore(key, d.id));
      const later = first + 5_000;
      expect(await luaCommands(redis).unpark(key, [[later, d.id]])).toBe(0);
      await parkDeliveries(engine.ctx, [{ shard: 0, origin: target.origin, id: d.id, runAt: later }]);
      expect(await luaCommands(redis).unpark(key, [[first, d.id]])).toBe(0); // the time the wake read
      expect(await redis.zscore(key, d.id)).toBe(String(later));
      expect(await luaCommands(redis).unpark(key, [[later, d.id]])).toBe(1);
    });

    describe('it died after adding their retry jobs, before parking them (delivery/commit.ts)', () => {
      /** As parkedThenTakenOver, without the parked sets: the worker that claims their entries looks at them. */
      async function neverParked() {
        const died = await parkedThenTakenOver();
        await redis.del(keys.shard(0).parked(died.target.origin), keys.shard(1).parked(died.target.origin));
        return died;
      }

      it('the worker that claims their entries parks them, and its first answer from the receiver wakes them', async () => {
        const { target, a, b, waker } = await neverParked();
        try {
          expect(await settledBefore(engine.ctx, [a.d, b.d])).toEqual([true, true]);
          expect(await redis.zscore(keys.shard(0).parked(target.origin), a.d.id)).not.toBeNull();
          expect(await redis.zscore(keys.shard(1).parked(target.origin), b.d.id)).not.toBeNull();
          expect(await jobState(0, a.d.id)).toBe('delayed'); // no answer in this worker yet
          expect((await attemptDelivery(engine.ctx, testDelivery(target))).outcome).toBe('success');
          await eventually(
            async () => (await jobState(0, a.d.id)) === 'waiting' && (await jobState(1, b.d.id)) === 'waiting',
          );
        } finally {
          waker.close();
        }
      });

      it('a worker that already has answers from the receiver wakes them when it claims their entries', async () => {
        const { target, a, b, waker } = await neverParked();
        try {
          engine.ctx.origins.onReachable = undefined;
          expect((await attemptDelivery(engine.ctx, testDelivery(target))).outcome).toBe('success');
          engine.ctx.origins.onReachable = (origin) => waker.wake(origin);
          expect(await jobState(0, a.d.id)).toBe('delayed');
          expect(await settledBefore(engine.ctx, [a.d, b.d])).toEqual([true, true]);
          await eventually(
            async () => (await jobState(0, a.d.id)) === 'waiting' && (await jobState(1, b.d.id)) === 'waiting',
          );
          expect(await redis.exists(keys.shard(0).parked(target.origin), keys.shard(1).parked(target.origin))).toBe(0);
        } finally {
          waker.close();
        }
      });
    });
  });
});
