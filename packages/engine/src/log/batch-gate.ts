/**
 * The reading side of batches across shards (see ingest/ingest.ts): an entry that carries a batch
 * id is delivered only once its batch is committed. Entries of an aborted batch were taken back
 * (acknowledged here, never delivered); entries whose batch has no marker wait until
 * BATCH_DECIDE_MS after they were appended, then count as committed if they are still in the
 * stream (an abort deletes them).
 */
import type { Redis } from 'ioredis';
import type { Keys, StoredEvent } from '@devhooks/core';
import { BATCH_DECIDE_MS } from '../ingest/ingest';
import { entryTime } from './stream-codec';

export interface GateItem {
  entryId: string;
  event: StoredEvent;
}

export interface Gated<T extends GateItem> {
  /** Deliver now. */
  ready: T[];
  /** Aborted (or taken back): acknowledge, never deliver. */
  dropped: T[];
  /** Undecided and young: look again shortly. */
  waiting: T[];
}

export class BatchGate {
  constructor(
    private readonly redis: Redis,
    private readonly keys: Keys,
    private readonly stream: string,
  ) {}

  async sort<T extends GateItem>(items: T[], now = Date.now()): Promise<Gated<T>> {
    const out: Gated<T> = { ready: [], dropped: [], waiting: [] };
    const gated = items.filter((i) => i.event.batch);
    if (!gated.length) {
      out.ready = items;
      return out;
    }
    const batches = [...new Set(gated.map((i) => i.event.batch!))];
    const marks = await this.redis.mget(...batches.map((b) => this.keys.batchMarker(b)));
    const mark = new Map(batches.map((b, i) => [b, marks[i]]));
    const undecided: T[] = [];
    for (const item of items) {
      const m = item.event.batch ? mark.get(item.event.batch) : 'c';
      if (m === 'c') out.ready.push(item);
      else if (m === 'a') out.dropped.push(item);
      else if (now - entryTime(item.entryId) < BATCH_DECIDE_MS) out.waiting.push(item);
      else undecided.push(item);
    }
    if (undecided.length) {
      // no marker and old: committed, unless an abort deleted the entry
      const p = this.redis.pipeline();
      for (const u of undecided) p.xrange(this.stream, u.entryId, u.entryId);
      const rows = (await p.exec()) ?? [];
      undecided.forEach((u, i) => {
        const [err, found] = rows[i] ?? [null, []];
        if (err) throw err;
        ((found as unknown[]).length ? out.ready : out.dropped).push(u);
      });
    }
    return out;
  }
}
