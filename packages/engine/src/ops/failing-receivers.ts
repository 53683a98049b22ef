/**
 * Which receivers are failing, for on-call engineers: per webhook, its deliveries waiting for
 * another attempt after a failed one and those failed for good in the last 24 h, the last error,
 * the oldest pending delivery's age, since when all its deliveries fail, and its origin's circuit
 * breaker. Read from the retry queues' job data (bounded ranges, newest first), the failing-since
 * hash and the breaker states workers publish: no scan of the delivery log.
 */
import type { Job, Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Keys } from '@devhooks/core';
import type { RetryJobData } from '../retry/retry-queue';
import { readBreakerStates, type OriginBreaker } from './breaker-states';

export const FAILED_WINDOW_MS = 24 * 3_600_000;

export interface FailingReceiver {
  webhook_id: string;
  webhook_name: string | null;
  org_id: string | null;
  receiver: string | null;
  /** Pending deliveries that have had at least one failed attempt. */
  pending: number;
  /** Deliveries failed for good in the last 24 h. */
  failed_24h: number;
  last_error: string | null;
  last_status_code: number | null;
  last_error_at: string | null;
  oldest_pending_at: string | null;
  oldest_pending_age_ms: number | null;
  next_attempt_at: string | null;
  /** Since when every delivery to the webhook has failed (cleared by one success). */
  failing_since: string | null;
  breaker: OriginBreaker | null;
}

export interface FailingReport {
  generated_at: string;
  /** Jobs read; `truncated` when a state held more than the bound (the counts are then lower bounds). */
  scanned: { pending_jobs: number; failed_jobs: number; truncated: boolean };
  receivers: FailingReceiver[];
}

export interface FailingReportOptions {
  redis: Redis;
  keys: Keys;
  queues: Array<Queue<RetryJobData>>;
  /** Jobs read per state and queue, newest first. */
  limit?: number;
  now?: number;
}

type Row = FailingReceiver & { lastAt: number };

function rowFor(rows: Map<string, Row>, d: RetryJobData): Row {
  const id = d.webhook_id!;
  let r = rows.get(id);
  if (!r) {
    r = {
      webhook_id: id,
      webhook_name: d.webhook_name ?? null,
      org_id: d.org_id ?? null,
      receiver: d.receiver ?? null,
      pending: 0,
      failed_24h: 0,
      last_error: null,
      last_status_code: null,
      last_error_at: null,
      oldest_pending_at: null,
      oldest_pending_age_ms: null,
      next_attempt_at: null,
      failing_since: null,
      breaker: null,
      lastAt: 0,
    };
    rows.set(id, r);
  }
  return r;
}

function noteError(r: Row, d: RetryJobData, at: number): void {
  if (at < r.lastAt || !d.last_error) return;
  r.lastAt = at;
  r.last_error = d.last_error;
  r.last_status_code = d.last_status_code ?? null;
  r.last_error_at = new Date(at).toISOString();
}

function earliest(a: string | null, b: string | null | undefined): string | null {
  if (!b) return a;
  return !a || Date.parse(b) < Date.parse(a) ? b : a;
}

export async function failingReceivers(o: FailingReportOptions): Promise<FailingReport> {
  const now = o.now ?? Date.now();
  const limit = o.limit ?? 1_000;
  const rows = new Map<string, Row>();
  let pendingJobs = 0;
  let failedJobs = 0;
  let truncated = false;
  for (const q of o.queues) {
    const [pending, failed, counts] = await Promise.all([
      q.getJobs(['delayed', 'wait', 'active'], 0, limit - 1, false),
      q.getJobs(['failed'], 0, limit - 1, false),
      q.getJobCounts('delayed', 'wait', 'active', 'failed'),
    ]);
    truncated ||= counts.delayed >= limit || counts.wait >= limit || counts.active >= limit || counts.failed >= limit;
    for (const job of pending.filter(Boolean) as Array<Job<RetryJobData>>) {
      const d = job.data;
      if (!d?.webhook_id || !d.attempt) continue; // not attempted yet (put off on our side)
      pendingJobs++;
      const r = rowFor(rows, d);
      r.pending++;
      noteError(r, d, job.processedOn ?? job.timestamp);
      r.oldest_pending_at = earliest(r.oldest_pending_at, d.created_at ?? new Date(job.timestamp).toISOString());
      r.next_attempt_at = earliest(r.next_attempt_at, d.next_attempt_at);
    }
    for (const job of failed.filter(Boolean) as Array<Job<RetryJobData>>) {
      const d = job.data;
      const at = job.finishedOn ?? job.timestamp;
      if (!d?.webhook_id || now - at > FAILED_WINDOW_MS) continue;
      failedJobs++;
      const r = rowFor(rows, d);
      r.failed_24h++;
      noteError(r, d, at);
    }
  }
  const list = [...rows.values()];
  const [since, breakers] = await Promise.all([
    list.length ? o.redis.hmget(o.keys.failingSince, ...list.map((r) => r.webhook_id)) : Promise.resolve([]),
    readBreakerStates(o.redis, o.keys, now),
  ]);
  const receivers = list.map(({ lastAt: _lastAt, ...r }, i) => {
    const s = since[i];
    return {
      ...r,
      failing_since: s ? new Date(Number(s)).toISOString() : null,
      oldest_pending_age_ms: r.oldest_pending_at ? Math.max(0, now - Date.parse(r.oldest_pending_at)) : null,
      breaker: (r.receiver && breakers.get(r.receiver)) || null,
    };
  });
  receivers.sort(
    (a, b) =>
      b.pending + b.failed_24h - (a.pending + a.failed_24h) ||
      (a.webhook_name ?? '').localeCompare(b.webhook_name ?? ''),
  );
  return {
    generated_at: new Date(now).toISOString(),
    scanned: { pending_jobs: pendingJobs, failed_jobs: failedJobs, truncated },
    receivers,
  };
}
