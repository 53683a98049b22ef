/**
 * The delivery log: one JSON record per delivery (kept DEVHOOKS_LOG_TTL) and, per webhook, a
 * sorted set of its deliveries by creation time, bounded in size.
 */
import type { ChainableCommander, Redis } from 'ioredis';
import { deliveryHour, deliveryMs, type DeliveryTopic, type Keys } from '@devhooks/core';
import { luaCommands } from '../redis/lua-commands';
import { filterLogPage } from './log-filter';

export type DeliveryStatus = 'pending' | 'succeeded' | 'failed';

export interface AttemptRecord {
  at: string;
  status_code: number | null;
  duration_ms: number;
  /** A short code (`timeout`, `connection_refused`, `blocked_address`, `circuit_open`, …) or null. */
  error: string | null;
  /** What the code stands for, in words. */
  error_message?: string;
  response_headers?: Record<string, string>;
  /** The first 4 KiB of the response body. */
  response_body?: string;
  /** `manual` for retries asked for by hand. */
  trigger?: 'manual';
}

export interface DeliveryRecord {
  id: string;
  org_id: string;
  webhook_id: string;
  event_ids: string[];
  /** Stream entries holding the events (the body is rebuilt from them, never stored twice). */
  entry_ids: string[];
  topic: DeliveryTopic;
  /** The `webhook-id` header: the same on every attempt. */
  message_id: string;
  url: string;
  status: DeliveryStatus;
  attempts: number;
  status_code: number | null;
  error: string | null;
  created_at: string;
  updated_at: string;
  next_attempt_at: string | null;
  attempt_log: AttemptRecord[];
}

/** Most attempts one record keeps (manual retries could otherwise grow it without bound). */
export const MAX_ATTEMPT_LOG = 30;
const HOUR_MS = 3_600_000;

/** The public shape of contract §3. */
export type DeliveryView = Omit<DeliveryRecord, 'entry_ids' | 'attempt_log' | 'org_id'>;

export function deliveryView(r: DeliveryRecord): DeliveryView {
  const { entry_ids: _e, attempt_log: _a, org_id: _o, ...view } = r;
  return view;
}

export interface DeliveryFilter {
  status?: DeliveryStatus;
  topic?: string;
  status_code?: number;
  /** Inclusive bounds on `created_at`, in ms. */
  since?: number;
  until?: number;
}

/** Whether a filter names a field only the records hold (so the index alone cannot answer it). */
export function needsRecords(filter: DeliveryFilter): boolean {
  return filter.status !== undefined || filter.topic !== undefined || filter.status_code !== undefined;
}

export interface LogOptions {
  ttlMs: number;
  /** Most deliveries kept per webhook. */
  maxPerWebhook: number;
}

export class DeliveryLog {
  constructor(
    private readonly redis: Redis,
    private readonly keys: Keys,
    private readonly log: LogOptions,
  ) {}

  /** The hourly hash holding a delivery's record, or undefined for an id that is not ours. */
  private bucketOf(id: string): { key: string; hour: number } | undefined {
    const hour = deliveryHour(id);
    return hour === undefined ? undefined : { key: this.keys.deliveries(hour), hour };
  }

  async get(id: string): Promise<DeliveryRecord | undefined> {
    const b = this.bucketOf(id);
    if (!b) return undefined;
    const raw = await this.redis.hget(b.key, id);
    return raw ? (JSON.parse(raw) as DeliveryRecord) : undefined;
  }

  async getMany(ids: string[]): Promise<Array<DeliveryRecord | undefined>> {
    if (!ids.length) return [];
    const p = this.redis.pipeline();
    for (const id of ids) {
      const b = this.bucketOf(id);
      if (b) p.hget(b.key, id);
      else p.echo(''); // keeps positions aligned; an unknown id has no record
    }
    const res = (await p.exec()) ?? [];
    return res.map(([err, raw]) => (err || !raw ? undefined : (JSON.parse(raw as string) as DeliveryRecord)));
  }

  /** Which of `ids` have a record. */
  async exist(ids: string[]): Promise<boolean[]> {
    if (!ids.length) return [];
    const p = this.redis.pipeline();
    for (const id of ids) {
      const b = this.bucketOf(id);
      if (b) p.hexists(b.key, id);
      else p.echo('0');
    }
    const res = (await p.exec()) ?? [];
    return res.map(([err, n]) => !err && Number(n) === 1);
  }

  /**
   * Queues the writes of records into a pipeline: one HSET per hour bucket and, for new records,
   * one ZADD per webhook, however many records (the worker commits hundreds at a time).
   */
  queueWrite(p: ChainableCommander, records: DeliveryRecord[], isNew: boolean): void {
    if (!records.length) return;
    const buckets = new Map<number, string[]>();
    const byWebhook = isNew ? new Map<string, Array<string | number>>() : undefined;
    for (const r of records) {
      // the id carries when its first event was accepted: it files the record in its hourly bucket
      // and scores it in the webhook's index (= created_at), so both expire together
      const ms = deliveryMs(r.id);
      if (ms === undefined) continue;
      const hour = Math.floor(ms / HOUR_MS);
      let args = buckets.get(hour);
      if (!args) buckets.set(hour, (args = []));
      args.push(r.id, JSON.stringify(r));
      if (byWebhook) {
        let scored = byWebhook.get(r.webhook_id);
        if (!scored) byWebhook.set(r.webhook_id, (scored = []));
        scored.push(ms, r.id);
      }
    }
    for (const [hour, args] of buckets) {
      const key = this.keys.deliveries(hour);
      p.hset(key, ...args);
      // an hour's records all go DEVHOOKS_LOG_TTL after the hour ends
      p.pexpireat(key, (hour + 1) * HOUR_MS + this.log.ttlMs);
    }
    for (const [w, args] of byWebhook ?? []) {
      const index = this.keys.webhookDeliveries(w);
      p.zadd(index, ...args);
      p.pexpire(index, this.log.ttlMs + HOUR_MS);
    }
  }

  async write(records: DeliveryRecord[], isNew: boolean): Promise<void> {
    const p = this.redis.pipeline();
    this.queueWrite(p, records, isNew);
    await p.exec();
  }

  private readonly sinceTrim = new Map<string, number>();

  /**
   * Counts new records per webhook and says which webhooks are due a trim: every tenth of the
   * bound, so the log never exceeds it by more than that between trims.
   */
  dueForTrim(records: DeliveryRecord[]): string[] {
    const every = Math.max(100, Math.floor(this.log.maxPerWebhook / 10));
    const due: string[] = [];
    for (const r of records) {
      const n = (this.sinceTrim.get(r.webhook_id) ?? 0) + 1;
      if (n >= every) {
        due.push(r.webhook_id);
        this.sinceTrim.delete(r.webhook_id);
      } else this.sinceTrim.set(r.webhook_id, n);
    }
    return due;
  }

  /** Drops a webhook's deliveries beyond the TTL and the size bound, records included. */
  async trim(webhookId: string, now = Date.now()): Promise<number> {
    return luaCommands(this.redis).trimLog(
      this.keys.webhookDeliveries(webhookId),
      now - this.log.ttlMs,
      this.log.maxPerWebhook,
      this.keys.deliveries(0).slice(0, -1), // the buckets' common prefix
    );
  }

  /** A webhook's deliveries, newest first, filtered, with the total that match. */
  async list(
    webhookId: string,
    filter: DeliveryFilter,
    offset: number,
    limit: number,
  ): Promise<{ total: number; deliveries: DeliveryRecord[] }> {
    const index = this.keys.webhookDeliveries(webhookId);
    await this.trim(webhookId);
    const max = filter.until ?? '+inf';
    const min = filter.since ?? '-inf';
    if (!needsRecords(filter)) {
      const total = await this.redis.zcount(index, min, max);
      const ids = await this.redis.zrevrangebyscore(index, max, min, 'LIMIT', offset, limit);
      const records = (await this.getMany(ids)).filter((r): r is DeliveryRecord => !!r);
      return { total, deliveries: records };
    }
    // Filters on record fields: the records of the (bounded) window are looked at inside Redis.
    const all = await this.redis.zrevrangebyscore(index, max, min);
    const { total, ids } = await filterLogPage(this.redis, this.keys, all, filter, offset, limit);
    const records = (await this.getMany(ids)).filter((r): r is DeliveryRecord => !!r);
    return { total, deliveries: records };
  }
}
