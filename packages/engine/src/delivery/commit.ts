/**
 * Persisting what attempts decided, in as few round trips as possible: delivery records, retry
 * jobs, webhook health (410, failing for 5 days), ping results, and only then the stream
 * acknowledgements of the entries whose deliveries are all settled.
 */
import { CONSUMER_GROUP } from '@devhooks/core';
import type { EngineContext } from '../runtime/engine-context';
import type { DeliveryRecord } from '../stores/delivery-log';
import { execWithLogScripts } from '../redis/delivery-log-lua';
import { luaCommands } from '../redis/lua-commands';
import { chainRefOfDelivery, letGoOfAttempts, releaseChains, type ChainRef } from '../ordering/chains';
import { logFirstAttempts, retryJobs, type RetryJob } from '../retry/retry-queue';
import type { AttemptOutcome } from './attempt';
import type { Delivery } from './delivery';
import { parkDeliveries, type ParkedDelivery } from './parked';
import { pingResultOf, queuePingResults, type PingResult } from './ping';

export interface SettleOptions {
  /** The delivery already is a retry job, which moves itself: no job is added for it here. */
  asJob: boolean;
}

/** Writes that attempts have decided and that the next commit persists. */
export class PendingWrites {
  created: DeliveryRecord[] = [];
  updated: DeliveryRecord[] = [];
  jobs: RetryJob[] = [];
  /** webhook id → org, for webhooks with a successful attempt. */
  succeeded = new Map<string, string>();
  /** webhook id → org, for webhooks with a failed attempt. */
  failing = new Map<string, string>();
  disable: Array<{ org: string; webhook: string; reason: string }> = [];
  pings: PingResult[] = [];
  /** shard → stream entries whose deliveries have all settled. */
  acks = new Map<number, string[]>();
  private ackCount = 0;
  /** Ordered deliveries settled for good: they leave their chains once their records are written. */
  releases: ChainRef[] = [];
  /** Ordered deliveries put off to the retry queue: this worker is no longer attempting them. */
  letGo: ChainRef[] = [];
  /** Deliveries an open breaker turned away, parked until a probe succeeds (parked.ts). */
  parked: ParkedDelivery[] = [];

  /** Records what an attempt decided. */
  settle(d: Delivery, out: AttemptOutcome, o: SettleOptions): void {
    const r = out.record;
    const w = d.target.id;
    if (d.record) this.updated.push(r);
    else this.created.push(r);
    switch (out.decision.kind) {
      case 'succeeded':
        this.succeeded.set(w, r.org_id);
        break;
      case 'retry':
        if (!o.asJob)
          this.jobs.push({ record: r, target: d.target, delayMs: out.decision.delayMs, decision: out.decision });
        if (out.decision.consumed) this.failing.set(w, r.org_id);
        break;
      case 'failed':
        if (!o.asJob) this.jobs.push({ record: r, target: d.target, delayMs: 0, park: true, decision: out.decision });
        this.failing.set(w, r.org_id);
        if (out.decision.disable) this.disable.push({ org: r.org_id, webhook: w, reason: out.decision.disable });
        break;
    }
    if (out.parked && out.decision.kind === 'retry' && r.next_attempt_at)
      this.parked.push({
        shard: r.shard ?? 0,
        origin: d.target.origin,
        id: r.id,
        runAt: Date.parse(r.next_attempt_at),
      });
    if (d.topic === 'ping' && r.attempts <= 1) this.pings.push(pingResultOf(r));
    const chain = chainRefOfDelivery(d);
    if (chain) (out.decision.kind === 'retry' ? this.letGo : this.releases).push(chain);
  }

  /** A delivery held behind another of its chain: its record only (no attempt, no job). */
  hold(record: DeliveryRecord, o: { created: boolean }): void {
    (o.created ? this.created : this.updated).push(record);
  }

  ack(shard: number, entryId: string): void {
    let list = this.acks.get(shard);
    if (!list) this.acks.set(shard, (list = []));
    list.push(entryId);
    this.ackCount++;
  }

  get size(): number {
    return this.created.length + this.updated.length + this.jobs.length + this.ackCount;
  }

  get empty(): boolean {
    return this.size === 0 && !this.pings.length && !this.disable.length && !this.releases.length && !this.letGo.length;
  }
}

export const FAILING_REASON = 'every delivery has failed for 5 days';
const ACK_CHUNK = 5_000;
/** Retry jobs per addBulk (one MULTI each). */
const JOB_CHUNK = 50;

export async function commit(ctx: EngineContext, e: PendingWrites): Promise<void> {
  const { keys, redis } = ctx;
  const now = Date.now();
  const p = redis.pipeline();
  ctx.deliveries.queueWrite(p, e.created, { created: true });
  ctx.deliveries.queueWrite(p, e.updated, { created: false });
  if (e.succeeded.size) p.hdel(keys.failingSince, ...e.succeeded.keys());
  const failing = [...e.failing.keys()].filter((w) => !e.succeeded.has(w));
  for (const w of failing) p.hsetnx(keys.failingSince, w, now);
  const sinceAt = failing.length ? (p.length as unknown as number) : -1;
  if (failing.length) p.hmget(keys.failingSince, ...failing);
  queuePingResults(p, keys, e.pings);
  const results = p.length ? await execWithLogScripts(redis, p) : [];
  for (const [err] of results) if (err) throw err;

  if (failing.length) {
    const since = results[sinceAt]?.[1] as Array<string | null>;
    failing.forEach((w, i) => {
      const t = Number(since?.[i] ?? now);
      if (now - t >= ctx.disableAfterFailingMs)
        e.disable.push({ org: e.failing.get(w)!, webhook: w, reason: FAILING_REASON });
    });
  }

  for (const w of ctx.deliveries.dueForTrim(e.created)) await ctx.deliveries.trim(w);

  if (e.jobs.length) {
    const byShard = new Map<number, RetryJob[]>();
    for (const j of e.jobs) {
      const s = j.record.shard ?? 0;
      const list = byShard.get(s);
      if (list) list.push(j);
      else byShard.set(s, [j]);
    }
    for (const [shard, list] of byShard) {
      // BullMQ adds a bulk in one MULTI, which Redis runs without a break: in chunks, the other
      // commands (a healthy webhook's reads and acks) get in between
      for (let i = 0; i < list.length; i += JOB_CHUNK) {
        const chunk = list.slice(i, i + JOB_CHUNK);
        const jobs = await ctx.queues.of(shard).addBulk(retryJobs(chunk, ctx.schedule.length));
        await logFirstAttempts(jobs, chunk, ctx.schedule.length);
      }
    }
  }

  // after their jobs exist, so a wake in between finds them (one that comes sooner still: parked.ts)
  if (e.parked.length) {
    await parkDeliveries(ctx, e.parked, now);
    ctx.metrics.parked.inc({ event: 'parked' }, e.parked.length);
  }

  // records first: a chain moves on only once what settled is written (a crash in between re-releases)
  if (e.releases.length) await releaseChains(ctx, e.releases, now);
  if (e.letGo.length) await letGoOfAttempts(ctx, e.letGo);

  for (const d of e.disable) {
    await ctx.webhooks.disable(d.org, d.webhook, d.reason);
    if (d.reason === FAILING_REASON) await redis.hdel(keys.failingSince, d.webhook);
    ctx.metrics.webhooksDisabled.inc({ reason: d.reason === FAILING_REASON ? 'failing_5_days' : 'gone_410' });
    ctx.logger.warn('webhook disabled', { webhook_id: d.webhook, org_id: d.org, reason: d.reason });
  }

  const lua = luaCommands(redis);
  for (const [shard, ids] of e.acks) {
    const s = keys.shard(shard);
    for (let i = 0; i < ids.length; i += ACK_CHUNK)
      await lua.ack(s.stream, s.backlog, CONSUMER_GROUP, ids.slice(i, i + ACK_CHUNK));
  }
}
