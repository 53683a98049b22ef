/**
 * Ordered delivery's chains over a real Redis (ordering/chains.ts, redis/ordering-lua.ts): the
 * planned watermark, the gate (go, wait, held), release of the next head with its job, the hold
 * bound (hold_overflow), and a retry by hand joining at the end.
 */
import { CONSUMER_GROUP } from '@devhooks/core';
import { testEngine, type TestEngine } from '../../../../test/support/engine';
import { orderedStream } from '../../../../test/support/ordered-stream';
import { redisForTestFile } from '../../../../test/support/redis';
import {
  chainMember,
  chainRefOfDelivery,
  gateOrdered,
  heldByNow,
  letGoOfAttempts,
  planOrdered,
  rejoinAtEnd,
  releaseChains,
  releaseOrphans,
} from './chains';
import { attemptingConsumer } from '../redis/ordering-lua';

const { keys, redis } = redisForTestFile(__filename);
let engine: TestEngine;
const shard = 0;
const sk = keys.shard(shard);

beforeAll(async () => {
  engine = testEngine(redis, keys, { schedule: [0, 100, 100] });
  await os.create();
});
afterAll(async () => {
  await engine.close();
});

const os = orderedStream(redis, keys, shard);
const ordered = os.webhook;
const append = (device: string, consumer?: string) => os.append(device, consumer);
const delivery = os.delivery;
afterEach(() => os.catchUp(engine.ctx));

/** Appends one event per device given (in order), makes each one's delivery to `t`, and plans them together. */
async function appendAndPlan(t: ReturnType<typeof ordered>, devices: string[]) {
  const es = [];
  for (const device of devices) es.push(await append(device));
  const ds = es.map((e) => delivery(t, e));
  const states = await planOrdered(
    engine.ctx,
    shard,
    es.map((e) => e.entryId),
    ds,
  );
  return { es, ds, states };
}

describe('planOrdered and the gate', () => {
  it('lets the head go and holds the rest of its chain behind the one before each', async () => {
    const t = ordered();
    const { ds, states } = await appendAndPlan(t, ['d1', 'd1', 'd1', 'd2']);
    expect(states.get(ds[0].id)).toEqual({ kind: 'go' });
    expect(states.get(ds[1].id)).toEqual({ kind: 'held', heldBy: ds[0].id });
    expect(states.get(ds[2].id)).toEqual({ kind: 'held', heldBy: ds[1].id });
    // another device of the same webhook is a chain of its own
    expect(states.get(ds[3].id)).toEqual({ kind: 'go' });
    expect(await redis.zrange(sk.orderHeld, 0, -1)).toEqual(expect.arrayContaining([ds[1].id, ds[2].id]));
    expect(await heldByNow(engine.ctx, chainRefOfDelivery(ds[2])!)).toBe(ds[1].id);
    expect(await heldByNow(engine.ctx, chainRefOfDelivery(ds[0])!)).toBeUndefined();
  });

  it('makes a head wait while an earlier entry of the stream is not planned, then lets it go', async () => {
    const t = ordered();
    const early = await append('d1', 'worker-a'); // worker A read it and has not planned it yet
    const late = await append('d1', 'worker-b');
    const d = delivery(t, late);
    const states = await planOrdered(engine.ctx, shard, [late.entryId], [d]);
    expect(states.get(d.id)).toEqual({ kind: 'wait' });
    // worker A plans its entry (its device's delivery joins the chain ahead): the late one is held
    const first = delivery(t, early);
    const a = await planOrdered(engine.ctx, shard, [early.entryId], [first]);
    expect(a.get(first.id)).toEqual({ kind: 'go' });
    expect(await gateOrdered(engine.ctx, chainRefOfDelivery(d)!)).toEqual({ kind: 'held', heldBy: first.id });
  });

  it('counts an entry acknowledged without planning (no ordered delivery) as planned', async () => {
    const t = ordered();
    const other = await append('d9');
    const mine = await append('d3');
    const d = delivery(t, mine);
    expect((await planOrdered(engine.ctx, shard, [mine.entryId], [d])).get(d.id)).toEqual({ kind: 'wait' });
    await redis.xack(sk.stream, CONSUMER_GROUP, other.entryId);
    expect(await gateOrdered(engine.ctx, chainRefOfDelivery(d)!)).toEqual({ kind: 'go' });
    expect(await redis.get(sk.orderWatermark)).toBe(mine.entryId);
  });

  it('says free for a delivery in no chain', async () => {
    expect(await gateOrdered(engine.ctx, { id: 'dlv_none', shard, webhook: 'wh_x', device: 'd' })).toEqual({
      kind: 'free',
    });
  });
});

describe('release', () => {
  it('moves the chain on when its head settles for good and adds the job of the held next one', async () => {
    const t = ordered();
    // the held one's record is written (the fan-out's commit)
    const { ds } = await os.chain(engine.ctx, t, 'r1');
    await releaseChains(engine.ctx, [chainRefOfDelivery(ds[0])!]);
    const job = await engine.ctx.queues.of(shard).getJob(ds[1].id);
    expect(job?.data.deliveryId).toBe(ds[1].id);
    expect(await redis.zscore(sk.orderReleased, ds[1].id)).not.toBeNull();
    // its job runs: the gate lets it go and clears the released mark
    expect(await gateOrdered(engine.ctx, chainRefOfDelivery(ds[1])!)).toEqual({ kind: 'go' });
    expect(await redis.zscore(sk.orderReleased, ds[1].id)).toBeNull();
    expect(await redis.zscore(sk.orderHeld, ds[1].id)).toBeNull();
    // releasing again changes nothing
    await releaseChains(engine.ctx, [chainRefOfDelivery(ds[0])!]);
    expect(await gateOrdered(engine.ctx, chainRefOfDelivery(ds[1])!)).toEqual({ kind: 'go' });
    await job!.remove();
  });
});

describe('an entry planned again', () => {
  it('never puts back a delivery that already left its chain (claimed from a worker thought dead)', async () => {
    const t = ordered();
    const { es, ds } = await appendAndPlan(t, ['z1', 'z1']);
    await releaseChains(engine.ctx, [chainRefOfDelivery(ds[0])!]);
    // another worker claimed the first entry before its acknowledgement and plans it again
    const again = await planOrdered(engine.ctx, shard, [es[0].entryId], [ds[0]]);
    expect(again.get(ds[0].id)).toEqual({ kind: 'done' });
    expect(await gateOrdered(engine.ctx, chainRefOfDelivery(ds[0])!)).toEqual({ kind: 'done' });
    expect(await gateOrdered(engine.ctx, chainRefOfDelivery(ds[1])!)).toEqual({ kind: 'go' });
    // a retry by hand puts it back, at the end
    await rejoinAtEnd(engine.ctx, chainRefOfDelivery(ds[0])!, ds[0].acceptedAt);
    expect(await gateOrdered(engine.ctx, chainRefOfDelivery(ds[0])!)).toEqual({ kind: 'held', heldBy: ds[1].id });
    expect(await redis.zscore(sk.orderDone, ds[0].id)).toBeNull();
  });
});

describe('a head planned again by another worker', () => {
  it('is busy while the worker told to attempt it is alive, and goes once its liveness lapsed', async () => {
    const t = ordered();
    const e = await append('b1');
    const d = delivery(t, e);
    await redis.zadd(sk.liveness, Date.now() + 60_000, 'worker-a');
    expect((await planOrdered(engine.ctx, shard, [e.entryId], [d], { consumer: 'worker-a' })).get(d.id)).toEqual({
      kind: 'go',
    });
    // worker B claims the entry (A was slow to say it is alive) and plans it again: A is on it
    expect((await planOrdered(engine.ctx, shard, [e.entryId], [d], { consumer: 'worker-b' })).get(d.id)).toEqual({
      kind: 'busy',
    });
    // A's liveness lapses (it died mid-attempt): B attempts it
    await redis.zadd(sk.liveness, Date.now() - 1_000, 'worker-a');
    expect((await planOrdered(engine.ctx, shard, [e.entryId], [d], { consumer: 'worker-b' })).get(d.id)).toEqual({
      kind: 'go',
    });
    expect(attemptingConsumer(await redis.hget(sk.orderGoing, d.id))).toBe('worker-b');
    await releaseChains(engine.ctx, [chainRefOfDelivery(d)!]);
    expect(await redis.hget(sk.orderGoing, d.id)).toBeNull();
  });
});

describe('a worker taken for dead that was only stalled (docs/decisions/0007, "stalls")', () => {
  const as = (consumer: string, o: { leaseMs?: number } = {}) => ({
    ...engine.ctx,
    consumer,
    orderLeaseMs: o.leaseMs,
  });
  const alive = (consumer: string) => redis.zadd(sk.liveness, Date.now() + 60_000, consumer);
  const dead = (consumer: string) => redis.zadd(sk.liveness, Date.now() - 1_000, consumer);

  it('its late release leaves the head to the live worker that took it over, which moves the chain on', async () => {
    const t = ordered();
    const { es, ds } = await appendAndPlan(t, ['s1', 's1']);
    const [d, next] = ds;
    await dead('stalled-a'); // A told to attempt d, then its liveness lapsed
    await planOrdered(as('stalled-a'), shard, [es[0].entryId], [d], { consumer: 'stalled-a' });
    await alive('taker-b');
    expect((await planOrdered(engine.ctx, shard, [es[0].entryId], [d], { consumer: 'taker-b' })).get(d.id)).toEqual({
      kind: 'go',
    });
    await alive('stalled-a'); // A runs again and settles d late: B may still be sending it
    await releaseChains(as('stalled-a'), [chainRefOfDelivery(d)!]);
    expect(await gateOrdered(as('worker-c'), chainRefOfDelivery(next)!)).toEqual({ kind: 'held', heldBy: d.id });
    await releaseChains(as('taker-b'), [chainRefOfDelivery(d)!]);
    expect(await gateOrdered(as('worker-c'), chainRefOfDelivery(next)!)).toEqual({ kind: 'go' });
  });

  it("a retry job's gate is busy while another live worker attempts the head, and goes once it lets go", async () => {
    const t = ordered();
    const { ds } = await appendAndPlan(t, ['s2']);
    const ref = chainRefOfDelivery(ds[0])!;
    await alive('worker-a');
    expect(await gateOrdered(as('worker-a'), ref)).toEqual({ kind: 'go' });
    expect(await gateOrdered(as('worker-c'), ref)).toEqual({ kind: 'busy' });
    // A's attempt ended without settling it (put off to the retry queue)
    await letGoOfAttempts(as('worker-a'), [ref]);
    expect(await redis.hget(sk.orderGoing, ds[0].id)).toBeNull();
    expect(await gateOrdered(as('worker-c'), ref)).toEqual({ kind: 'go' });
    expect(attemptingConsumer(await redis.hget(sk.orderGoing, ds[0].id))).toBe('worker-c');
  });

  it('holds the head no longer than the lease, even for a live worker that never says it is done', async () => {
    const t = ordered();
    const { ds } = await appendAndPlan(t, ['s3']);
    const ref = chainRefOfDelivery(ds[0])!;
    await alive('worker-a');
    expect(await gateOrdered(as('worker-a', { leaseMs: 1 }), ref)).toEqual({ kind: 'go' });
    await new Promise((r) => setTimeout(r, 20));
    expect(await gateOrdered(as('worker-c'), ref)).toEqual({ kind: 'go' });
  });

  it('a release of a record gone from the log is never held back (nothing is left to send)', async () => {
    const t = ordered();
    const { ds } = await appendAndPlan(t, ['s4', 's4']);
    await alive('worker-a');
    expect(await gateOrdered(as('worker-a'), chainRefOfDelivery(ds[0])!)).toEqual({ kind: 'go' });
    await releaseOrphans(as('worker-c'), shard, [ds[0].id]);
    expect(await gateOrdered(as('worker-c'), chainRefOfDelivery(ds[1])!)).toEqual({ kind: 'go' });
  });
});

describe('the hold bound', () => {
  it('fails the oldest held deliveries past DEVHOOKS_ORDER_HOLD_MAX, never the head', async () => {
    engine.ctx.orderHoldMax = 3;
    try {
      const t = ordered();
      const { ds: ed } = await os.chain(engine.ctx, t, 'o1');
      const { ds: ld, states } = await appendAndPlan(t, ['o1', 'o1', 'o1']);
      // 5 chained, bound 3: the two oldest held (ed[1], ld[0]) go; the head ed[0] stays
      expect(states.get(ld[0].id)).toEqual({ kind: 'overflow' });
      expect(states.get(ld[1].id)).toEqual({ kind: 'held', heldBy: ed[0].id });
      expect(states.get(ld[2].id)).toEqual({ kind: 'held', heldBy: ld[1].id });
      const [rec] = await engine.ctx.deliveries.getMany([ed[1].id]);
      expect(rec).toMatchObject({ status: 'failed', error: 'hold_overflow' });
      expect(await redis.zcard(sk.orderChain(t.id, 'o1'))).toBe(3);
    } finally {
      engine.ctx.orderHoldMax = undefined;
    }
  });
});

describe('a retry by hand', () => {
  it('joins its chain at the end, behind every delivery already in it', async () => {
    const t = ordered();
    const { es, ds } = await appendAndPlan(t, ['m1', 'm1', 'm1']);
    // the first failed for good and left the chain; the second is head, the third held
    await releaseChains(engine.ctx, [chainRefOfDelivery(ds[0])!]);
    await rejoinAtEnd(engine.ctx, chainRefOfDelivery(ds[0])!, ds[0].acceptedAt);
    expect(await gateOrdered(engine.ctx, chainRefOfDelivery(ds[0])!)).toEqual({ kind: 'held', heldBy: ds[2].id });
    const members = await redis.zrange(sk.orderChain(t.id, 'm1'), 0, -1);
    expect(members[0]).toBe(chainMember(es[1].entryId, ds[1].id));
    expect(members[2].endsWith(`~|${ds[0].id}`)).toBe(true);
  });
});
