/**
 * The delivery log: one JSON record per delivery (kept DEVHOOKS_LOG_TTL) and, per webhook, a
 * sorted set of its deliveries by creation time, bounded in size.
 */
import type { ChainableCommander, Redis } from 'ioredis';
import type { DeliveryTopic, Keys } from '@devhooks/core';
import { scripts } from './scripts';

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

export interface LogOptions {
  ttlMs: number;
  /** Most deliveries kept per webhook. */
  maxPerWebhook: number;
}

export class DeliveryStore {
  constructor(
    private readonly redis: Redis,
    private readonly keys: Keys,
    private readonly log: LogOptions,
  ) {}

  async get(id: string): Promise<DeliveryRecord | undefined> {
    const raw = await this.redis.get(this.keys.delivery(id));
    return raw ? (JSON.parse(raw) as DeliveryRecord) : undefined;
  }

  async getMany(ids: string[]): Promise<Array<DeliveryRecord | undefined>> {
    if (!ids.length) return [];
    const raws = await this.redis.mget(...ids.map((id) => this.keys.delivery(id)));
    return raws.map((r) => (r ? (JSON.parse(r) as DeliveryRecord) : undefined));
  }

  /** Queues the writes of records into a pipeline (the worker batches many per round trip). */
  queueWrite(p: ChainableCommander, records: DeliveryRecord[], isNew: boolean): void {
    const ttlSec = Math.max(1, Math.ceil(this.log.ttlMs / 1000));
    for (const r of records) {
      p.set(this.keys.delivery(r.id), JSON.stringify(r), 'EX', ttlSec);
      if (isNew) p.zadd(this.keys.webhookDeliveries(r.webhook_id), Date.parse(r.created_at), r.id);
    }
    if (isNew) {
      for (const w of new Set(records.map((r) => r.webhook_id))) p.pexpire(this.keys.webhookDeliveries(w), this.log.ttlMs);
    }
  }

  async write(records: DeliveryRecord[], isNew: boolean): Promise<void> {
    const p = this.redis.pipeline();
    this.queueWrite(p, records, isNew);
    await p.exec();
  }

  /** Drops a webhook's deliveries beyond the TTL and the size bound. */
  async trim(webhookId: string, now = Date.now()): Promise<number> {
    return scripts(this.redis).trimLog(
      this.keys.webhookDeliveries(webhookId),
      now - this.log.ttlMs,
      this.log.maxPerWebhook,
      this.keys.delivery(''),
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
    const needRecords = filter.status !== undefined || filter.topic !== undefined || filter.status_code !== undefined;
    if (!needRecords) {
      const total = await this.redis.zcount(index, min, max);
      const ids = await this.redis.zrevrangebyscore(index, max, min, 'LIMIT', offset, limit);
      const records = (await this.getMany(ids)).filter((r): r is DeliveryRecord => !!r);
      return { total, deliveries: records };
    }
    // Filters on mutable fields: scan the (bounded) index in pages and count the matches.
    const all = await this.redis.zrevrangebyscore(index, max, min);
    const out: DeliveryRecord[] = [];
    let total = 0;
    for (let i = 0; i < all.length; i += 500) {
      const page = await this.getMany(all.slice(i, i + 500));
      for (const r of page) {
        if (!r) continue;
        if (filter.status !== undefined && r.status !== filter.status) continue;
        if (filter.topic !== undefined && r.topic !== filter.topic) continue;
        if (filter.status_code !== undefined && r.status_code !== filter.status_code) continue;
        if (total >= offset && out.length < limit) out.push(r);
        total++;
      }
    }
    return { total, deliveries: out };
  }
}
