/**
 * Mist-style batching: events of one topic for one webhook are gathered for at most the batch
 * window, or until 100 are waiting, and leave as one delivery.
 */
import { MAX_BATCH_EVENTS, type DeliveryTopic, type StoredEvent } from '@devhooks/core';
import type { Target } from '../stores/webhook-directory';

export interface Batch {
  target: Target;
  topic: DeliveryTopic;
  events: StoredEvent[];
  entryIds: string[];
  /** The shard of each entry: a worker batches what all its shards read. */
  entryShards: number[];
}

interface OpenBatch extends Batch {
  timer: NodeJS.Timeout;
}

export class Batcher {
  private readonly open = new Map<string, OpenBatch>();

  constructor(
    private readonly windowMs: number,
    private readonly onBatch: (b: Batch) => void,
  ) {}

  add(target: Target, event: StoredEvent, entryId: string, shard: number): void {
    const key = `${target.id}\u0000${event.topic}`;
    let b = this.open.get(key);
    if (!b) {
      b = {
        target,
        topic: event.topic,
        events: [],
        entryIds: [],
        entryShards: [],
        timer: setTimeout(() => this.close(key), this.windowMs),
      };
      this.open.set(key, b);
    }
    b.events.push(event);
    b.entryIds.push(entryId);
    b.entryShards.push(shard);
    if (b.events.length >= MAX_BATCH_EVENTS) this.close(key);
  }

  private close(key: string): void {
    const b = this.open.get(key);
    if (!b) return;
    this.open.delete(key);
    clearTimeout(b.timer);
    const { timer: _t, ...batch } = b;
    this.onBatch(batch);
  }

  /** Sends every open batch now (shutdown). */
  closeAll(): void {
    for (const key of [...this.open.keys()]) this.close(key);
  }

  get waiting(): number {
    let n = 0;
    for (const b of this.open.values()) n += b.events.length;
    return n;
  }
}
