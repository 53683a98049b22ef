/**
 * Fixtures for ordered delivery's unit tests (packages/engine/src/ordering/): events appended to a
 * shard's real stream and read through the group (pending, not planned yet), and their deliveries
 * to a webhook with `ordering: device`.
 */
import type { Redis } from 'ioredis';
import { CONSUMER_GROUP, type Keys, type StoredEvent } from '@devhooks/core';
import { makeDelivery, planOrdered, toTarget, type Delivery, type EngineContext, type Target } from '@devhooks/engine';
import { testEvent, testWebhook } from './engine';

export interface AppendedEvent {
  entryId: string;
  event: StoredEvent;
}

export function orderedStream(redis: Redis, keys: Keys, shard = 0) {
  const sk = keys.shard(shard);
  return {
    sk,
    /** Creates the shard's stream and consumer group. */
    async create(): Promise<void> {
      await redis.xgroup('CREATE', sk.stream, CONSUMER_GROUP, '$', 'MKSTREAM');
    },
    /** A webhook with `ordering: device`. */
    webhook: (): Target => toTarget(testWebhook({ ordering: 'device' })),
    /** Appends an event of `device` and reads it as `consumer` (pending, not planned). */
    async append(device: string, consumer = 'c1'): Promise<AppendedEvent> {
      const entryId = (await redis.xadd(sk.stream, '*', 'x', '1'))!;
      await redis.xreadgroup('GROUP', CONSUMER_GROUP, consumer, 'COUNT', 1000, 'STREAMS', sk.stream, '>');
      return { entryId, event: testEvent({ device_id: device }) };
    },
    delivery: (t: Target, e: AppendedEvent): Delivery =>
      makeDelivery(t, 'deviceauth', [e.event], [e.entryId], { shard, orderKey: e.event.device_id }),
    /** Plans and acknowledges every entry read so far, so none holds the watermark in the next test. */
    async catchUp(ctx: EngineContext): Promise<void> {
      const pending = (await redis.xpending(sk.stream, CONSUMER_GROUP, '-', '+', 10_000)) as Array<[string]>;
      const ids = pending.map((p) => p[0]);
      await planOrdered(ctx, shard, ids, []);
      if (ids.length) await redis.xack(sk.stream, CONSUMER_GROUP, ...ids);
    },
  };
}
