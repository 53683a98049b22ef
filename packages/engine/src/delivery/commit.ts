/**
 * Persisting what attempts decided, in as few round trips as possible: delivery records, retry
 * jobs, webhook health (410, failing for 5 days), ping results, and only then the stream
 * acknowledgements of the entries whose deliveries are all settled.
 */
import { CONSUMER_GROUP } from '@devhooks/core';
import type { AttemptOutcome, Delivery } from './attempt';
import type { EngineContext } from '../runtime/engine-context';
import type { DeliveryRecord } from '../stores/delivery-log';
import { RETRY_JOB_NAME, type RetryJobData } from '../retry/retry-queue';
import { luaCommands } from '../redis/lua-commands';

export interface PingResult {
  delivery_id: string;
  status: DeliveryRecord['status'];
  status_code: number | null;
  duration_ms: number;
  error: string | null;
}

export interface RetryJob {
  deliveryId: string;
  delayMs: number;
  /** Already failed for good: the job only parks it in the failed list (dashboard, manual retry). */
  park?: boolean;
}

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
  acks: string[] = [];

  /**
   * Records what an attempt decided. `asJob`: the delivery already is a retry job (its job moves
   * itself), so no job is added for it here.
   */
  settle(d: Delivery, out: AttemptOutcome, asJob: boolean): void {
    const r = out.record;
    const w = d.target.id;
    if (d.record) this.updated.push(r);
    else this.created.push(r);
    switch (out.decision.kind) {
      case 'succeeded':
        this.succeeded.set(w, r.org_id);
        break;
      case 'retry':
        if (!asJob) this.jobs.push({ deliveryId: r.id, delayMs: out.decision.delayMs });
        if (out.decision.consumed) this.failing.set(w, r.org_id);
        break;
      case 'failed':
        if (!asJob) this.jobs.push({ deliveryId: r.id, delayMs: 0, park: true });
        this.failing.set(w, r.org_id);
        if (out.decision.disable) this.disable.push({ org: r.org_id, webhook: w, reason: out.decision.disable });
        break;
    }
    if (d.topic === 'ping' && r.attempts <= 1) {
      const last = r.attempt_log[r.attempt_log.length - 1];
      this.pings.push({
        delivery_id: r.id,
        status: r.status,
        status_code: r.status_code,
        duration_ms: last?.duration_ms ?? 0,
        error: r.error,
      });
    }
  }

  get size(): number {
    return this.created.length + this.updated.length + this.jobs.length + this.acks.length;
  }
}

export const FAILING_REASON = 'every delivery has failed for 5 days';
const ACK_CHUNK = 5_000;

export async function commit(ctx: EngineContext, e: PendingWrites, shard = 0): Promise<void> {
  const { keys, redis } = ctx;
  const now = Date.now();
  const p = redis.pipeline();
  ctx.deliveries.queueWrite(p, e.created, true);
  ctx.deliveries.queueWrite(p, e.updated, false);
  if (e.succeeded.size) p.hdel(keys.failingSince, ...e.succeeded.keys());
  const failing = [...e.failing.keys()].filter((w) => !e.succeeded.has(w));
  for (const w of failing) p.hsetnx(keys.failingSince, w, now);
  const sinceAt = failing.length ? (p.length as unknown as number) : -1;
  if (failing.length) p.hmget(keys.failingSince, ...failing);
  for (const ping of e.pings) {
    p.lpush(keys.pingResult(ping.delivery_id), JSON.stringify(ping));
    p.pexpire(keys.pingResult(ping.delivery_id), 120_000);
  }
  const results = p.length ? await p.exec() : [];
  for (const [err] of results ?? []) if (err) throw err;

  if (failing.length && results) {
    const since = results[sinceAt]?.[1] as Array<string | null>;
    failing.forEach((w, i) => {
      const t = Number(since?.[i] ?? now);
      if (now - t >= ctx.disableAfterFailingMs)
        e.disable.push({ org: e.failing.get(w)!, webhook: w, reason: FAILING_REASON });
    });
  }

  for (const w of ctx.deliveries.dueForTrim(e.created)) await ctx.deliveries.trim(w);

  if (e.jobs.length) {
    await ctx.queue.addBulk(
      e.jobs.map((j) => ({
        name: RETRY_JOB_NAME,
        data: (j.park ? { deliveryId: j.deliveryId, park: true } : { deliveryId: j.deliveryId }) as RetryJobData,
        opts: { jobId: j.deliveryId, delay: Math.max(0, Math.round(j.delayMs)) },
      })),
    );
  }

  for (const d of e.disable) {
    await ctx.webhooks.disable(d.org, d.webhook, d.reason);
    if (d.reason === FAILING_REASON) await redis.hdel(keys.failingSince, d.webhook);
    ctx.metrics.webhooksDisabled.inc({ reason: d.reason === FAILING_REASON ? 'failing_5_days' : 'gone_410' });
    ctx.logger.warn('webhook disabled', { webhook_id: d.webhook, org_id: d.org, reason: d.reason });
  }

  if (e.acks.length) {
    const shardKeys = keys.shard(shard);
    const s = luaCommands(redis);
    for (let i = 0; i < e.acks.length; i += ACK_CHUNK) {
      await s.ack(shardKeys.stream, shardKeys.backlog, CONSUMER_GROUP, e.acks.slice(i, i + ACK_CHUNK));
    }
  }
}
