// Over 250 lines on purpose: one class owns a shard's in-progress accounting (entries held, slots,
// releases, acknowledgements); split, the counts would have to be shared between objects.
/**
 * Fan-out: the stream consumer of one shard. It takes entries from its lease on the stream (new
 * ones, and ones a dead worker left), fans each event out to every matching webhook, makes first
 * attempts at once (Mist-style topics through the batcher), hands retries to BullMQ, and
 * acknowledges an entry only when every delivery it produced has succeeded, failed for good, or
 * been handed to the retry queue (docs/contract.md §5, §6).
 *
 * Back-pressure: at most `maxInProgress` deliveries are held in memory; reading pauses past it.
 * Writes are gathered in PendingWrites and committed every `flushMs` (or sooner when many wait).
 */
import { isBatchedTopic, type StoredEvent } from '@devhooks/core';
import { BatchGate } from '../log/batch-gate';
import { decodeEvent } from '../log/stream-codec';
import type { RawEntry, StreamLease } from '../log/stream-lease';
import type { EngineContext } from '../runtime/engine-context';
import { traceFanout, tracingOn } from '../ops/tracing';
import type { Target } from '../stores/webhook-directory';
import type { FanoutGroup } from './fanout-group';
import { orderKeyOf, heldRecord, ORDER_WAIT_MS, type OrderState } from '../ordering/chains';
import { orderBatch } from '../ordering/fanout-order';
import { attemptDelivery, deferred, endedWithout, type AttemptOutcome } from './attempt';
import { CommitLoop } from './commit-loop';
import { settledBefore } from './reclaim';
import { makeDelivery, newRecord, type Delivery } from './delivery';

export interface ConsumerOptions {
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
  /** How often to look for workers whose liveness lapsed (log/liveness.ts). */
  deadCheckMs?: number;
}

/** A crash of ours in an attempt: tried again this much later, without using an attempt. */
const CRASH_RETRY_MS = 5_000;

/** How soon entries of an undecided batch are looked at again. */
const PARK_RECHECK_MS = 50;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export class StreamConsumer {
  /** Entries in progress here → deliveries (event × webhook) still unsettled. */
  private readonly entries = new Map<string, number>();
  private inProgress = 0;
  private readonly commits: CommitLoop;
  private stopping = false;
  private readonly loops: Promise<void>[] = [];
  private readonly timers: NodeJS.Timeout[] = [];
  private capacityWaiter: (() => void) | undefined;
  private idleWaiter: (() => void) | undefined;
  /** Entries of batches across shards not yet committed: looked at again shortly (log/batch-gate.ts). */
  private readonly parked = new Map<string, { entry: RawEntry; reclaimed: boolean }>();
  private parkTimer: NodeJS.Timeout | undefined;
  private readonly gate: BatchGate;
  /**
   * Entries done here and waiting for the commit that acknowledges them. Until then they are
   * still pending in the group: kept fresh and never claimed back by this worker, which would
   * deliver them again (a slow commit under a large backlog did, 2,000 times in one bench run).
   */
  private readonly acking = new Set<string>();
  /**
   * Entries being fanned out (read or claimed, their Redis reads not all answered yet): neither in
   * progress nor acknowledged, so kept fresh and never claimed back by this worker. A fan-out
   * slower than the claim-idle time (Redis busy) would otherwise claim its own entry again and
   * attempt its deliveries twice at once; for an ordered delivery, the second copy could reach the
   * receiver after the next event of its device (this worker's own lease lets both through).
   */
  private readonly handling = new Set<string>();

  constructor(
    private readonly ctx: EngineContext,
    private readonly lease: StreamLease,
    private readonly o: ConsumerOptions,
    /** The worker's consumers of every shard, and the batcher they share. */
    private readonly group: FanoutGroup,
  ) {
    this.commits = new CommitLoop(ctx, o.flushMs, {
      // acknowledged, or given up (then claimed and redone later, as a dead worker's would be)
      onCommitEnd: (batch) => {
        for (const id of batch.acks.get(o.shard) ?? []) this.acking.delete(id);
      },
    });
    this.gate = new BatchGate(ctx.redis, ctx.keys, lease.stream);
  }

  async start(): Promise<void> {
    await this.lease.ensureGroup();
    this.loops.push(this.readLoop());
    const every = (ms: number, fn: () => Promise<void>) => this.timers.push(setInterval(() => void fn(), ms));
    every(Math.max(250, Math.floor(this.o.claimIdleMs / 4)), () =>
      this.claimOnce((take) => this.lease.claimIdle(this.o.claimIdleMs, take)),
    );
    if (this.o.deadCheckMs) every(this.o.deadCheckMs, () => this.claimOnce((take) => this.lease.claimFromDead(take)));
    every(Math.max(250, Math.floor(this.o.claimIdleMs / 3)), () => this.heartbeat());
  }

  /**
   * Drains: stops taking work, sends open batches, waits for deliveries in flight up to the
   * deadline, persists and acknowledges what settled. What did not settle stays pending in the
   * group and is claimed by another worker.
   */
  async stop(deadlineMs: number): Promise<{ drained: boolean }> {
    this.stopping = true;
    for (const t of this.timers) clearInterval(t);
    if (this.parkTimer) clearTimeout(this.parkTimer);
    this.lease.close();
    this.capacityWaiter?.();
    this.group.batcher.closeAll();
    const deadline = Date.now() + deadlineMs;
    while (this.inProgress > 0 && Date.now() < deadline) {
      await Promise.race([
        new Promise<void>((r) => (this.idleWaiter = r)),
        sleep(Math.max(0, Math.min(100, deadline - Date.now()))),
      ]);
    }
    await Promise.allSettled(this.loops);
    await this.commits.final();
    return { drained: this.inProgress === 0 };
  }

  get held(): number {
    return this.inProgress;
  }

  private get full(): boolean {
    return this.inProgress >= this.o.maxInProgress;
  }

  private async readLoop(): Promise<void> {
    while (!this.stopping) {
      if (this.full) {
        await new Promise<void>((r) => (this.capacityWaiter = r));
        continue;
      }
      let entries: RawEntry[] | null;
      try {
        entries = await this.lease.read(this.o.readCount, this.o.blockMs);
      } catch (err) {
        if (this.stopping) return;
        this.ctx.logger.error('stream read failed', { shard: this.o.shard, error: (err as Error).message });
        await sleep(500);
        continue;
      }
      if (entries?.length) await this.handle(entries, { reclaimed: false });
    }
  }

  /** Claims entries left by another worker: idle ones, or a dead worker's (log/liveness.ts). */
  private async claimOnce(claim: (take: (claimed: RawEntry[]) => Promise<boolean>) => Promise<unknown>): Promise<void> {
    if (this.stopping || this.full) return;
    try {
      await claim(async (claimed) => {
        const fresh = claimed.filter((e) => !this.holds(e[0]));
        if (fresh.length) {
          this.ctx.logger.info('claimed entries left by another worker', {
            shard: this.o.shard,
            entries: fresh.length,
          });
          await this.handle(fresh, { reclaimed: true });
        }
        return !this.stopping && !this.full;
      });
    } catch (err) {
      if (!this.stopping) this.ctx.logger.warn('claim failed', { shard: this.o.shard, error: (err as Error).message });
    }
  }

  /** Keeps this worker's entries from looking idle while their deliveries are in progress. */
  private async heartbeat(): Promise<void> {
    if (this.stopping || !(this.entries.size + this.parked.size + this.acking.size + this.handling.size)) return;
    try {
      await this.lease.heartbeat([...this.entries.keys(), ...this.parked.keys(), ...this.acking, ...this.handling]);
    } catch (err) {
      this.ctx.logger.warn('heartbeat failed', { shard: this.o.shard, error: (err as Error).message });
    }
  }

  /** Decodes entries; an entry nothing can read would block its slot forever: acknowledged, loudly. */
  private decode(raw: RawEntry[]): Array<{ entryId: string; event: StoredEvent }> {
    const items: Array<{ entryId: string; event: StoredEvent }> = [];
    for (const [entryId, fields] of raw) {
      if (this.entries.has(entryId)) continue;
      try {
        items.push({ entryId, event: decodeEvent(fields) });
      } catch (err) {
        this.ctx.logger.error('unreadable stream entry acknowledged', {
          entry_id: entryId,
          error: (err as Error).message,
        });
        this.ack(entryId);
      }
    }
    return items;
  }

  /**
   * Fans entries out. Nothing is registered as in progress until every Redis read it needs has
   * answered: if one fails, the entries stay pending in the group (claimed and redone later) and
   * this worker holds nothing for them.
   */
  private async handle(all: RawEntry[], o: { reclaimed: boolean }): Promise<void> {
    // an entry this worker already holds in any way is not fanned out twice
    const raw = all.filter((e) => !this.holds(e[0]));
    for (const [id] of raw) this.handling.add(id);
    // entries put aside for their batch (`park`): no longer this call's, even while it goes on
    let putAside: Set<string> | undefined;
    try {
      const gated = await this.gate.sort(this.decode(raw));
      for (const x of gated.dropped) this.ack(x.entryId);
      if (gated.waiting.length) {
        // held as parked from here: the recheck may come while this call still waits on Redis, and
        // must not find them still being handled here (it would skip them, and nothing would hold
        // them until their claim-idle time: the ~40 s tail of the bench's cluster runs)
        putAside = new Set(gated.waiting.map((w) => w.entryId));
        for (const id of putAside) this.handling.delete(id);
        this.park(raw, gated.waiting, o);
      }
      const items = gated.ready;
      await this.ctx.directory.refresh(items.map((i) => i.event.org));
      const { singles, batched, fanned } = this.plan(items);
      let toLaunch = singles;
      let settled: Delivery[] = [];
      if (o.reclaimed && singles.length) {
        // a delivery with a record was already settled (or handed to the retry queue) before the crash
        const existing = await settledBefore(this.ctx, singles);
        toLaunch = singles.filter((_, i) => !existing[i]);
        settled = singles.filter((_, i) => existing[i]);
      }
      // ordered delivery (ordering/): nothing to do, not even an await, for batches without it
      const order =
        toLaunch.some((d) => d.orderKey) || settled.some((d) => d.orderKey)
          ? await orderBatch(this.ctx, this.o.shard, {
              marks: [...items.map((i) => i.entryId), ...gated.dropped.map((x) => x.entryId)],
              launch: toLaunch,
              settled,
              consumer: this.lease.consumer,
            })
          : undefined;
      // every read answered: from here on, nothing can fail before the deliveries are under way
      for (const [entryId, n] of fanned) {
        if (n === 0) this.ack(entryId);
        else {
          this.entries.set(entryId, n);
          this.inProgress += n;
          this.group.held(n);
        }
      }
      for (const d of settled) this.release(d);
      for (const b of batched) this.group.batcher.add(b.target, b.event, b.entryId, this.o.shard);
      for (const d of toLaunch) {
        const s = order?.get(d.id);
        if (s) this.ordered(d, s);
        else this.launch(d);
      }
    } catch (err) {
      this.ctx.logger.error('fan-out failed; entries left pending for a retry', {
        shard: this.o.shard,
        error: (err as Error).message,
        entries: raw.length,
      });
    } finally {
      for (const [id] of raw) if (!putAside?.has(id)) this.handling.delete(id);
    }
    this.commits.schedule();
  }

  /** Whether this worker holds the entry: being fanned out, in progress, parked or being acknowledged. */
  private holds(entryId: string): boolean {
    return (
      this.handling.has(entryId) || this.entries.has(entryId) || this.parked.has(entryId) || this.acking.has(entryId)
    );
  }

  /** Holds entries of undecided batches and hands them to `handle` again shortly. */
  private park(raw: RawEntry[], waiting: Array<{ entryId: string }>, o: { reclaimed: boolean }): void {
    const byId = new Map(raw.map((r) => [r[0], r]));
    for (const w of waiting) this.parked.set(w.entryId, { entry: byId.get(w.entryId)!, reclaimed: o.reclaimed });
    this.parkTimer ??= setTimeout(() => {
      this.parkTimer = undefined;
      const again = [...this.parked.values()];
      this.parked.clear();
      if (this.stopping) return;
      // each as it came: a claimed entry's deliveries may have settled before (reclaim.ts)
      for (const reclaimed of [false, true]) {
        const entries = again.filter((p) => p.reclaimed === reclaimed).map((p) => p.entry);
        if (entries.length) void this.handle(entries, { reclaimed });
      }
    }, PARK_RECHECK_MS);
  }

  /** Which deliveries the events make: single ones at once, batched ones through the batcher. */
  private plan(items: Array<{ entryId: string; event: StoredEvent }>) {
    const singles: Delivery[] = [];
    const batched: Array<{ target: Target; event: StoredEvent; entryId: string }> = [];
    const fanned: Array<[string, number]> = [];
    for (const { entryId, event } of items) {
      const targets = this.targetsOf(event);
      fanned.push([entryId, targets.length]);
      if (tracingOn()) traceFanout(event, { entryId, webhooks: targets.length, shard: this.o.shard });
      let body: string | undefined; // built once per event, shared by every webhook it goes to
      for (const t of targets) {
        // ordered (docs/contract.md §8): a device's events go one per message, through its chain
        const orderKey = orderKeyOf(t, event);
        if (isBatchedTopic(event.topic) && !t.single_event_per_message && !orderKey)
          batched.push({ target: t, event, entryId });
        else {
          const d = makeDelivery(t, event.topic, [event], [entryId], { shard: this.o.shard, body, orderKey });
          body = d.body;
          singles.push(d);
        }
      }
    }
    return { singles, batched, fanned };
  }

  private targetsOf(e: StoredEvent): Target[] {
    if (e.webhook) {
      const t = this.ctx.directory.get(e.org, e.webhook);
      return t ? [t] : [];
    }
    return this.ctx.directory.index(e.org)?.match(e) ?? [];
  }

  /** Makes a delivery's first attempt (or hands it to the retry queue), then settles it. */
  launch(d: Delivery): void {
    const first = this.ctx.schedule[0] ?? 0;
    // the schedule delays even the first attempt: straight to the retry queue
    if (first > 0) return this.settle(d, deferred(d, first));
    // past the origin's share of in-progress slots: deferred to the retry queue, no attempt used
    const attempt = this.group.slots.run(d, () => attemptDelivery(this.ctx, d));
    attempt.then(
      // taken over by another worker while this one stalled: that worker settles it
      (out) => (out.takenOver ? this.dropTakenOver(d) : this.settle(d, out)),
      (err) => {
        // a bug, not a receiver problem: keep the delivery, retry it shortly without using an attempt
        this.ctx.logger.error('attempt crashed', {
          delivery_id: d.id,
          webhook_id: d.target.id,
          error: (err as Error).stack,
        });
        this.settle(d, deferred(d, CRASH_RETRY_MS));
      },
    );
  }

  /** An ordered delivery (ordering/): attempted when its chain's head, else held or looked at shortly. */
  private ordered(d: Delivery, s: OrderState): void {
    if (s.kind === 'go') d.chainHead = true;
    if (s.kind === 'go' || s.kind === 'free') return this.launch(d);
    // settled by the worker that had the entry before, or still being attempted by it (alive, only
    // slow to say so): nothing to do here
    if (s.kind === 'done' || s.kind === 'busy') {
      this.release(d);
      return this.commits.schedule();
    }
    if (s.kind === 'wait') return this.settle(d, deferred(d, ORDER_WAIT_MS));
    if (s.kind === 'overflow') return this.settle(d, endedWithout(newRecord(d, Date.now()), 'hold_overflow'));
    // held: its record only, no job; its entry is acknowledged like a delivery handed to the retry queue
    this.commits.writes.hold(heldRecord(newRecord(d, Date.now()), s.heldBy), { created: true });
    this.release(d);
    this.commits.schedule();
  }

  private dropTakenOver(d: Delivery): void {
    this.ctx.logger.info('ordered delivery taken over by another worker while this one stalled: left to it', {
      delivery_id: d.id,
      webhook_id: d.target.id,
    });
    this.release(d);
    this.commits.schedule();
  }

  private settle(d: Delivery, out: AttemptOutcome): void {
    this.commits.writes.settle(d, out, { asJob: false });
    this.ctx.attemptLog.attempt(d, out);
    this.release(d);
    this.commits.schedule();
  }

  /** A delivery settled: one delivery of each of its entries, on whichever shard's consumer holds it. */
  private release(d: Delivery): void {
    d.entryIds.forEach((id, i) => {
      const shard = d.entryShards[i];
      (shard === this.o.shard ? this : this.group.of(shard)).releaseEntry(id);
    });
  }

  /** The entry is done here: acknowledged by the next commit. */
  private ack(entryId: string): void {
    this.acking.add(entryId);
    this.commits.writes.ack(this.o.shard, entryId);
  }

  /** One delivery of this entry settled. */
  releaseEntry(id: string): void {
    const left = (this.entries.get(id) ?? 1) - 1;
    this.inProgress--;
    this.group.held(-1);
    if (left <= 0) {
      this.entries.delete(id);
      this.ack(id);
    } else this.entries.set(id, left);
    this.commits.schedule();
    if (!this.full && this.capacityWaiter) {
      const w = this.capacityWaiter;
      this.capacityWaiter = undefined;
      w();
    }
    if (this.inProgress === 0) this.idleWaiter?.();
  }
}
