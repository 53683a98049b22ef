/**
 * The commit loop over a real Redis: scheduled commits persist what settled, the final commit
 * persists at once, a failing commit is retried and, while stopping, given up after a few tries.
 */
import { CONSUMER_GROUP, deliveryHour } from '@devhooks/core';
import {
  capturedLogger,
  testDelivery,
  testEngine,
  testWebhook,
  type TestEngine,
} from '../../../../test/support/engine';
import { eventually } from '../../../../test/support/receiver';
import { redisForTestFile } from '../../../../test/support/redis';
import { decide } from './attempt';
import { CommitLoop } from './commit-loop';
import type { Delivery } from './delivery';

const { keys, redis } = redisForTestFile(__filename);
let engine: TestEngine;

beforeEach(() => {
  engine = testEngine(redis, keys);
});
afterEach(() => engine.close());

function settleOne(loop: CommitLoop, status = 200): Delivery {
  const d = testDelivery(testWebhook());
  loop.writes.settle(d, decide(engine.ctx, d, { statusCode: status, durationMs: 1 }, Date.now()), { asJob: true });
  return d;
}

/** Makes writing `d`'s record fail (WRONGTYPE: its hour bucket holds a string) until `repair`. */
async function breakRecordOf(d: Delivery): Promise<{ repair(): Promise<number> }> {
  const bucket = keys.deliveries(deliveryHour(d.id)!);
  await redis.set(bucket, 'not a hash');
  return { repair: () => redis.del(bucket) };
}

describe('CommitLoop', () => {
  it('a scheduled commit persists what settled, and writes settled meanwhile follow', async () => {
    const loop = new CommitLoop(engine.ctx, 10);
    const first = settleOne(loop);
    loop.schedule();
    const second = settleOne(loop);
    loop.schedule();
    await eventually(async () => (await engine.ctx.deliveries.exist([first.id, second.id])).every(Boolean));
    const third = settleOne(loop);
    loop.schedule();
    await eventually(() => engine.ctx.deliveries.get(third.id));
    expect(loop.writes.empty).toBe(true);
  });

  it('the final commit persists at once, without a schedule', async () => {
    const loop = new CommitLoop(engine.ctx, 60_000);
    const d = settleOne(loop, 503);
    await loop.final();
    expect(await engine.ctx.deliveries.get(d.id)).toMatchObject({ status: 'pending', error: 'http_503' });
    expect(loop.writes.empty).toBe(true);
  });

  it('retries a failing commit until it goes through', async () => {
    const logs = capturedLogger();
    engine.ctx.logger = logs.logger;
    const loop = new CommitLoop(engine.ctx, 1);
    const d = settleOne(loop);
    const broken = await breakRecordOf(d);
    loop.schedule();
    await eventually(() => logs.lines.some((l) => l.message === 'commit failed'));
    await broken.repair();
    expect(await eventually(() => engine.ctx.deliveries.get(d.id))).toMatchObject({ status: 'succeeded' });
    expect(String(logs.lines.find((l) => l.message === 'commit failed')!.error)).toMatch(/WRONGTYPE/);
  });

  it('while stopping, gives a failing commit up after three tries: the entries stay pending', async () => {
    const logs = capturedLogger();
    engine.ctx.logger = logs.logger;
    const s = keys.shard(3);
    await redis.xgroup('CREATE', s.stream, CONSUMER_GROUP, '0', 'MKSTREAM');
    const entry = (await redis.xadd(s.stream, '*', 'n', '1'))!;
    await redis.xreadgroup('GROUP', CONSUMER_GROUP, 'c1', 'STREAMS', s.stream, '>');
    const loop = new CommitLoop(engine.ctx, 60_000);
    const d = settleOne(loop);
    loop.writes.ack(3, entry);
    const broken = await breakRecordOf(d);
    await loop.final();
    await broken.repair();
    expect(logs.lines.filter((l) => l.message === 'commit failed').map((l) => l.attempt)).toEqual([1, 2, 3]);
    expect(await engine.ctx.deliveries.get(d.id)).toBeUndefined();
    const pending = (await redis.xpending(s.stream, CONSUMER_GROUP)) as [number, ...unknown[]];
    expect(pending[0]).toBe(1);
  });
});
