/**
 * A worker's fan-out over every shard: one stream consumer per shard, and one batcher they share,
 * so Mist-style topics are batched per webhook whatever shard their events were read from. A batch
 * goes out through the consumer of its first entry's shard; each entry is released by its own
 * shard's consumer.
 */
import type { EngineContext } from '../runtime/engine-context';
import { Batcher } from './batcher';
import { makeDelivery } from './delivery';
import { OriginSlots } from './origin-slots';
import type { StreamConsumer } from './fanout';

export class FanoutGroup {
  readonly batcher: Batcher;
  /** Every shard's consumer shares the process's per-origin shares of in-progress slots. */
  readonly slots: OriginSlots;
  private readonly consumers = new Map<number, StreamConsumer>();
  private total = 0;

  constructor(
    private readonly ctx: EngineContext,
    /** Deliveries to one origin (not known to be fast) this process holds in progress. */
    perOrigin: number,
  ) {
    this.slots = new OriginSlots(ctx.origins, { perOrigin });
    this.batcher = new Batcher(ctx.batchWindowMs, (b) => {
      const shard = b.entryShards[0];
      const opts = { shard, entryShards: b.entryShards };
      this.of(shard).launch(makeDelivery(b.target, b.topic, b.events, b.entryIds, opts));
    });
  }

  add(shard: number, consumer: StreamConsumer): void {
    this.consumers.set(shard, consumer);
  }

  /** The consumer of a shard. */
  of(shard: number): StreamConsumer {
    const c = this.consumers.get(shard);
    if (!c) throw new Error(`no stream consumer for shard ${shard}`);
    return c;
  }

  /** Deliveries held in memory by every consumer, for the gauge. */
  held(delta: number): void {
    this.total += delta;
    this.ctx.metrics.inMemory.set(this.total);
  }

  async start(): Promise<void> {
    await Promise.all([...this.consumers.values()].map((c) => c.start()));
  }

  /** Drains every consumer; true when nothing was left behind. */
  async stop(deadlineMs: number): Promise<boolean> {
    this.batcher.closeAll();
    const results = await Promise.all([...this.consumers.values()].map((c) => c.stop(deadlineMs)));
    return results.every((r) => r.drained);
  }
}
