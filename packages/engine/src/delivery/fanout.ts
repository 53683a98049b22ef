/**
 * The stream consumer: reads events with a consumer group, fans each out to every matching webhook,
 * makes first attempts at once, hands retries to BullMQ, and acknowledges an entry only when every
 * delivery it produced has succeeded, failed for good, or been handed to the retry queue.
 *
 * Crash safety: entries a dead worker held stay pending in the group and are claimed by a live one
 * (XAUTOCLAIM) once idle for `claimIdleMs`; a live worker keeps its own entries fresh (XCLAIM
 * JUSTID) so a slow delivery is never claimed, and run twice, while it is still in progress.
 */
import { CONSUMER_GROUP, isBatchedTopic, type StoredEvent } from '@devhooks/core';
import type { Redis } from 'ioredis';
import { attemptDelivery, makeDelivery, newRecord, type AttemptOutcome, type Delivery } from './attempt';
import { Batcher, type Batch } from './batcher';
import { PendingWrites, commit } from './commit';
import type { EngineContext } from '../runtime/engine-context';
import { decodeEvent } from '../log/stream-codec';
import type { Target } from '../stores/webhook-directory';

export interface ConsumerOptions {
  /** Unique per process: host, pid and a random part. */
  consumer: string;
  shard: number;
  /** Entries per XREADGROUP. */
  readCount: number;
  /** Deliveries (event × webhook) held in memory before reading pauses. */
  maxInProgress: number;
  /** Entries idle this long in another consumer's hands are claimed. */
  claimIdleMs: number;
  blockMs: number;
  /** Longest wait before persisting settled deliveries and acknowledging their entries. */
  flushMs: number;
}

type RawEntry = [string, string[]];

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export class StreamConsumer {
  /** Entries in progress here → deliveries (event × webhook) still unsettled. */
  private readonly entries = new Map<string, number>();
  private inProgress = 0;
  private effects = new PendingWrites();
  private flushTimer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> | undefined;
  private stopping = false;
  private readonly loops: Promise<void>[] = [];
  private readonly timers: NodeJS.Timeout[] = [];
  private capacityWaiter: (() => void) | undefined;
  private idleWaiter: (() => void) | undefined;
  private readonly batcher: Batcher;
  private readonly stream: string;

  constructor(
    private readonly ctx: EngineContext,
    private readonly reader: Redis,
    private readonly o: ConsumerOptions,
  ) {
    this.stream = ctx.keys.shard(o.shard).stream;
    this.batcher = new Batcher(ctx.batchWindowMs, (b) => this.onBatch(b));
  }

  async start(): Promise<void> {
    await this.ensureGroup();
    this.loops.push(this.readLoop());
    this.timers.push(setInterval(() => void this.claimOnce(), Math.max(250, Math.floor(this.o.claimIdleMs / 4))));
    this.timers.push(setInterval(() => void this.heartbeat(), Math.max(250, Math.floor(this.o.claimIdleMs / 3))));
  }

  /**
   * Drains: stops taking work, sends open batches, waits for deliveries in flight up to the
   * deadline, persists and acknowledges what settled. What did not settle stays pending in the
   * group and is claimed by another worker.
   */
  async stop(deadlineMs: number): Promise<{ drained: boolean }> {
    this.stopping = true;
    for (const t of this.timers) clearInterval(t);
    this.reader.disconnect();
    this.capacityWaiter?.();
    this.batcher.closeAll();
    const deadline = Date.now() + deadlineMs;
    while (this.inProgress > 0 && Date.now() < deadline) {
      await Promise.race([
        new Promise<void>((r) => (this.idleWaiter = r)),
        sleep(Math.max(0, Math.min(100, deadline - Date.now()))),
      ]);
    }
    await Promise.allSettled(this.loops);
    await this.flush();
    return { drained: this.inProgress === 0 };
  }

  get held(): number {
    return this.inProgress;
  }

  private async ensureGroup(): Promise<void> {
    try {
      await this.ctx.redis.xgroup('CREATE', this.stream, CONSUMER_GROUP, '0', 'MKSTREAM');
    } catch (err) {
      if (!String((err as Error).message).includes('BUSYGROUP')) throw err;
    }
  }

  private async readLoop(): Promise<void> {
    while (!this.stopping) {
      if (this.inProgress >= this.o.maxInProgress) {
        await new Promise<void>((r) => (this.capacityWaiter = r));
        continue;
      }
      let reply: Array<[string, RawEntry[]]> | null;
      try {
        reply = (await this.reader.xreadgroup(
          'GROUP',
          CONSUMER_GROUP,
          this.o.consumer,
          'COUNT',
          this.o.readCount,
          'BLOCK',
          this.o.blockMs,
          'STREAMS',
          this.stream,
          '>',
        )) as Array<[string, RawEntry[]]> | null;
      } catch (err) {
        if (this.stopping) return;
        if (String((err as Error).message).includes('NOGROUP')) await this.ensureGroup().catch(() => undefined);
        else this.ctx.logger.error('stream read failed', { error: (err as Error).message });
        await sleep(500);
        continue;
      }
      if (!reply) continue;
      for (const [, entries] of reply) {
        await this.handle(entries, false).catch((err) => this.handleFailed(entries, err));
      }
    }
  }

  /** Entries whose fan-out could not even start (Redis down): released to be claimed again. */
  private handleFailed(entries: RawEntry[], err: unknown): void {
    this.ctx.logger.error('fan-out failed; entries left pending for a retry', {
      error: (err as Error).message,
      entries: entries.length,
    });
  }

  private async claimOnce(): Promise<void> {
    if (this.stopping || this.inProgress >= this.o.maxInProgress) return;
    try {
      let cursor = '0-0';
      do {
        const [next, entries] = (await this.ctx.redis.xautoclaim(
          this.stream,
          CONSUMER_GROUP,
          this.o.consumer,
          this.o.claimIdleMs,
          cursor,
          'COUNT',
          200,
        )) as [string, RawEntry[], string[]];
        cursor = next;
        const fresh = entries.filter((e) => e && !this.entries.has(e[0]));
        if (fresh.length) {
          this.ctx.logger.info('claimed entries left by another worker', { entries: fresh.length });
          await this.handle(fresh, true);
        }
      } while (cursor !== '0-0' && !this.stopping && this.inProgress < this.o.maxInProgress);
    } catch (err) {
      if (!this.stopping) this.ctx.logger.warn('claim failed', { error: (err as Error).message });
    }
  }

  /** Keeps this worker's entries from looking idle while their deliveries are in progress. */
  private async heartbeat(): Promise<void> {
    if (this.stopping) return;
    const ids = [...this.entries.keys()];
    try {
      for (let i = 0; i < ids.length; i += 1000) {
        await this.ctx.redis.xclaim(
          this.stream,
          CONSUMER_GROUP,
          this.o.consumer,
          0,
          ...ids.slice(i, i + 1000),
          'JUSTID',
        );
      }
    } catch (err) {
      this.ctx.logger.warn('heartbeat failed', { error: (err as Error).message });
    }
  }

  private async handle(raw: RawEntry[], reclaimed: boolean): Promise<void> {
    const items: Array<{ entryId: string; event: StoredEvent }> = [];
    for (const [entryId, fields] of raw) {
      if (this.entries.has(entryId)) continue;
      try {
        items.push({ entryId, event: decodeEvent(fields) });
      } catch (err) {
        // an entry nothing can read would block its slot forever: acknowledge it, loudly
        this.ctx.logger.error('unreadable stream entry acknowledged', {
          entry_id: entryId,
          error: (err as Error).message,
        });
        this.effects.acks.push(entryId);
      }
    }
    await this.ctx.directory.refresh(items.map((i) => i.event.org));

    const singles: Delivery[] = [];
    const batched: Array<{ target: Target; event: StoredEvent; entryId: string }> = [];
    for (const { entryId, event } of items) {
      const targets = this.targetsOf(event);
      if (!targets.length) {
        this.effects.acks.push(entryId);
        continue;
      }
      this.entries.set(entryId, targets.length);
      this.inProgress += targets.length;
      let body: string | undefined; // built once per event, shared by every webhook it goes to
      for (const t of targets) {
        if (isBatchedTopic(event.topic) && !t.single_event_per_message) batched.push({ target: t, event, entryId });
        else {
          const d = makeDelivery(t, event.topic, [event], [entryId], undefined, body);
          body = d.body;
          singles.push(d);
        }
      }
    }
    let toLaunch = singles;
    if (reclaimed && singles.length) {
      // a delivery with a record was already settled (or handed to the retry queue) before the crash
      const existing = await this.ctx.deliveries.exist(singles.map((d) => d.id));
      toLaunch = singles.filter((d, i) => {
        if (!existing[i]) return true;
        this.release(d.entryIds);
        return false;
      });
    }
    for (const b of batched) this.batcher.add(b.target, b.event, b.entryId);
    for (const d of toLaunch) this.launch(d);
    this.scheduleFlush();
  }

  private targetsOf(e: StoredEvent): Target[] {
    if (e.webhook) {
      const t = this.ctx.directory.get(e.org, e.webhook);
      return t ? [t] : [];
    }
    return this.ctx.directory.index(e.org)?.match(e) ?? [];
  }

  private onBatch(b: Batch): void {
    this.launch(makeDelivery(b.target, b.topic, b.events, b.entryIds));
  }

  private launch(d: Delivery): void {
    const first = this.ctx.schedule[0] ?? 0;
    if (first > 0) {
      // the schedule delays even the first attempt: straight to the retry queue
      const record = newRecord(d, Date.now());
      record.next_attempt_at = new Date(Date.now() + first).toISOString();
      this.settle(d, { record, decision: { kind: 'retry', delayMs: first, consumed: false }, outcome: 'deferred' });
      return;
    }
    attemptDelivery(this.ctx, d).then(
      (out) => this.settle(d, out),
      (err) => {
        // a bug, not a receiver problem: keep the delivery, retry it shortly without using an attempt
        this.ctx.logger.error('attempt crashed', {
          delivery_id: d.id,
          webhook_id: d.target.id,
          error: (err as Error).stack,
        });
        const record = newRecord(d, Date.now());
        this.settle(d, { record, decision: { kind: 'retry', delayMs: 5_000, consumed: false }, outcome: 'deferred' });
      },
    );
  }

  private settle(d: Delivery, out: AttemptOutcome): void {
    this.effects.settle(d, out, false);
    if (out.decision.kind !== 'succeeded') {
      // attempts that failed are worth an operator's eye; deliveries merely put off are not
      this.ctx.logger.log(
        out.outcome === 'deferred' ? 'debug' : 'info',
        out.outcome === 'deferred' ? 'delivery deferred' : 'delivery attempt',
        {
          delivery_id: d.id,
          webhook_id: d.target.id,
          event_id: d.events.length === 1 ? d.events[0].id : undefined,
          events: d.events.length,
          status: out.record.status,
          status_code: out.record.status_code,
          error: out.record.error,
          next_attempt_at: out.record.next_attempt_at,
        },
      );
    }
    this.release(d.entryIds);
    this.scheduleFlush();
  }

  /** One delivery of each of these entries settled. */
  private release(entryIds: string[]): void {
    for (const id of entryIds) {
      const left = (this.entries.get(id) ?? 1) - 1;
      this.inProgress--;
      if (left <= 0) {
        this.entries.delete(id);
        this.effects.acks.push(id);
      } else this.entries.set(id, left);
    }
    this.ctx.metrics.inMemory.set(this.inProgress);
    if (this.inProgress < this.o.maxInProgress && this.capacityWaiter) {
      const w = this.capacityWaiter;
      this.capacityWaiter = undefined;
      w();
    }
    if (this.inProgress === 0) this.idleWaiter?.();
  }

  private scheduleFlush(): void {
    if (this.flushTimer) return;
    const delay = this.effects.size >= 512 ? 0 : this.o.flushMs;
    this.flushTimer = setTimeout(() => {
      this.flushTimer = undefined;
      void this.flush();
    }, delay);
  }

  /** Persists settled deliveries, then acknowledges their entries; one flush at a time. */
  private async flush(): Promise<void> {
    while (this.flushing) await this.flushing;
    if (this.effects.size === 0 && !this.effects.pings.length && !this.effects.disable.length) return;
    const batch = this.effects;
    this.effects = new PendingWrites();
    this.flushing = (async () => {
      for (let attempt = 1; ; attempt++) {
        try {
          await commit(this.ctx, batch, this.o.shard);
          return;
        } catch (err) {
          this.ctx.logger.error('commit failed', { error: (err as Error).message, attempt });
          if (attempt >= 20 || (this.stopping && attempt >= 3)) return; // entries stay pending: claimed and redone later
          await sleep(Math.min(250 * attempt, 2_000));
        }
      }
    })();
    try {
      await this.flushing;
    } finally {
      this.flushing = undefined;
    }
    if (this.effects.size) this.scheduleFlush();
  }
}
