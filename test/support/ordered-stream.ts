/**
 * Fixtures for ordered delivery's unit tests (packages/engine/src/ordering/): events appended to a
 * shard's real stream and read through the group (pending, not planned yet), and their deliveries
 * to a webhook with `ordering: device`.
 */
import type { Redis } from 'ioredis';
import { CONSUMER_GROUP, type Keys, type StoredEvent } from '@devhooks/core';
import {
  heldRecord,
  makeDelivery,
  newRecordOf,
  planOrdered,
  toTarget,
  type Delivery,
  type EngineContext,
  type Target,
} from '@devhooks/engine';
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
    /**
     * `n` events of `device` to `t`, planned together: the first is its chain's head, the others
     * held behind it, their records written as the fan-out's commit would.
     */
    async chain(
      ctx: EngineContext,
      t: Target,
      device: string,
      n = 2,
    ): Promise<{ es: AppendedEvent[]; ds: Delivery[] }> {
      const es: AppendedEvent[] = [];
      for (let i = 0; i < n; i++) es.push(await this.append(device));
      const ds = es.map((e) => this.delivery(t, e));
      await planOrdered(
        ctx,
        shard,
        es.map((e) => e.entryId),
        ds,
      );
      const held = ds.slice(1).map((d, i) => heldRecord(newRecordOf(d), ds[i].id));
      if (held.length) await ctx.deliveries.write(held, { created: true });
      return { es, ds };
    },
    /** Plans and acknowledges every entry read so far, so none holds the watermark in the next test. */
    async catchUp(ctx: EngineContext): Promise<void> {
      const pending = (await redis.xpending(sk.stream, CONSUMER_GROUP, '-', '+', 10_000)) as Array<[string]>;
      const ids = pending.map((p) => p[0]);
      await planOrdered(ctx, shard, ids, []);
      if (ids.length) await redis.xack(sk.stream, CONSUMER_GROUP, ...ids);
    },
  };
}
