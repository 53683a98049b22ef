// Over 250 lines on purpose: the delivery log's one store (records, faceted indexes, bounds); its
// query planning and Lua live beside it (delivery-log-query.ts, redis/delivery-log-lua.ts).
/**
 * The delivery log: one JSON record per delivery (kept DEVHOOKS_LOG_TTL) in hourly hashes and, per
 * webhook and per org, an index of deliveries by creation time split by status, topic and status
 * code, so filtered listings cost about what unfiltered ones do. A webhook's log is bounded in
 * size (DEVHOOKS_LOG_MAX_PER_WEBHOOK) at every write. See docs/decisions/0003-delivery-log-indexes.md.
 */
import type { ChainableCommander, Redis } from 'ioredis';
import {
  deliveryHour,
  deliveryMs,
  type AttemptRecord,
  type DeliveryFacet,
  type DeliveryStatus,
  type DeliveryView,
  type Keys,
} from '@devhooks/core';
import { execWithLogScripts, queueWriteLog, trimLog } from '../redis/delivery-log-lua';
import { listIndex, type LogListing, type LogPage, type LogScope } from './delivery-log-query';

export type { LogListing, LogPage } from './delivery-log-query';

const HOUR_MS = 3_600_000;
/** Most records one script call of a write takes. */
const WRITE_CHUNK = 1_000;

export type { AttemptRecord, DeliveryStatus, DeliveryView };

/** A delivery as the engine keeps it: the public shape and what only the engine needs. */
export interface DeliveryRecord extends DeliveryView {
  org_id: string;
  /** Stream entries holding the events (the body is rebuilt from them, never stored twice). */
  entry_ids: string[];
  /** The event-stream shard holding them (absent: shard 0). */
  shard?: number;
  /** The shard of each entry, when they are not all on `shard` (a Mist batch across shards). */
  entry_shards?: number[];
  attempt_log: AttemptRecord[];
  /** Ordered delivery (docs/contract.md §8): the device whose chain it is in (never shown). */
  order_key?: string;
}

export interface WriteOptions {
  /** New records (first write): also indexed under their webhook. */
  created: boolean;
}

/** Most attempts one record keeps (manual retries could otherwise grow it without bound). */
export const MAX_ATTEMPT_LOG = 30;

export function deliveryView(r: DeliveryRecord): DeliveryView {
  const { entry_ids: _e, attempt_log: _a, org_id: _o, shard: _s, entry_shards: _es, order_key: _k, ...view } = r;
  if (view.held_by && view.status !== 'pending') delete view.held_by;
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
  /** Most index entries one listing walks (default 10,000). */
  scanIndexEntries?: number;
  /** Most records one listing reads to check a filter its index has no facet for (default 1,000). */
  scanRecords?: number;
}

/**
 * Which filter values have a facet (redis/delivery-log-lua.ts keeps the same rule): every topic,
 * but only the exceptional statuses and codes (`pending`, `failed`, codes other than 2xx). Most
 * deliveries succeed at once with a 2xx, and a facet of those would cost as much as the index.
 */
export function hasFacet(facet: DeliveryFacet, value: string): boolean {
  if (facet === 'status') return value !== 'succeeded';
  if (facet === 'code') return !/^2\d\d$/.test(value);
  return true;
}

/** `succeeded`: what the pending and failed facets do not hold. */
function complement(facet: DeliveryFacet, value: string, key: (f: DeliveryFacet, v: string) => string) {
  return facet === 'status' && value === 'succeeded' ? [key('status', 'pending'), key('status', 'failed')] : undefined;
}

export class DeliveryLog {
  constructor(
    private readonly redis: Redis,
    private readonly keys: Keys,
    private readonly log: LogOptions,
  ) {
    this.bucketPrefix = keys.deliveries(0).slice(0, -1); // the hourly buckets' common prefix
  }

  private readonly bucketPrefix: string;
  /** What reads cost, counted (tests and metrics): records read, index entries walked by listings. */
  readonly stats = { recordsRead: 0, indexEntriesScanned: 0 };

  /** The hourly hash holding a delivery's record, or undefined for an id that is not ours. */
  private bucketOf(id: string): { key: string; hour: number } | undefined {
    const hour = deliveryHour(id);
    return hour === undefined ? undefined : { key: this.keys.deliveries(hour), hour };
  }

  async get(id: string): Promise<DeliveryRecord | undefined> {
    const b = this.bucketOf(id);
    if (!b) return undefined;
    this.stats.recordsRead++;
    const raw = await this.redis.hget(b.key, id);
    return raw ? (JSON.parse(raw) as DeliveryRecord) : undefined;
  }

  async getMany(ids: string[]): Promise<Array<DeliveryRecord | undefined>> {
    if (!ids.length) return [];
    this.stats.recordsRead += ids.length;
    const p = this.redis.pipeline();
    for (const id of ids) {
      const b = this.bucketOf(id);
      if (b) p.hget(b.key, id);
      else p.echo(''); // keeps positions aligned; an unknown id has no record
    }
    const res = (await p.exec()) ?? [];
    return res.map(([err, raw]) => (err || !raw ? undefined : (JSON.parse(raw as string) as DeliveryRecord)));
  }

  /** Which of `ids` have a record. A read that failed throws: it is not "no record" (that would redo settled deliveries). */
  async exist(ids: string[]): Promise<boolean[]> {
    if (!ids.length) return [];
    const p = this.redis.pipeline();
    for (const id of ids) {
      const b = this.bucketOf(id);
      if (b) p.hexists(b.key, id);
      else p.echo('0');
    }
    const res = (await p.exec()) ?? [];
    const failed = res.find(([err]) => err);
    if (failed) throw failed[0];
    return res.map(([, n]) => Number(n) === 1);
  }

  /**
   * Queues the writes of records into a pipeline: one script call however many records (the
   * worker commits hundreds at a time). It files each record in its hourly bucket and keeps the
   * indexes in step: new records join their webhook's and org's indexes and facets (status,
   * topic, status code), updates move between facets, and the webhook's log is trimmed to its
   * bounds whenever new records arrive (see delivery-log-lua.ts).
   */
  queueWrite(p: ChainableCommander, records: DeliveryRecord[], o: WriteOptions): void {
    const isNew = o.created;
    if (!records.length) return;
    // a commit can gather many thousands of records: each script call and HSET gets a bounded
    // share (arguments are spread into calls, and a call takes only so many)
    if (records.length > WRITE_CHUNK) {
      for (let i = 0; i < records.length; i += WRITE_CHUNK) this.queueWrite(p, records.slice(i, i + WRITE_CHUNK), o);
      return;
    }
    const groups = new Map<string, { org: string; args: Array<string | number> }>();
    const buckets = new Map<number, string[]>();
    for (const r of records) {
      // the id carries when its first event was accepted: it files the record in its hourly bucket
      // and scores it in the indexes (= created_at), so they expire together
      const ms = deliveryMs(r.id);
      if (ms === undefined) continue;
      let g = groups.get(r.webhook_id);
      if (!g) groups.set(r.webhook_id, (g = { org: r.org_id, args: [] }));
      g.args.push(r.id, ms, r.status, r.status_code ?? 'none', r.topic);
      const hour = Math.floor(ms / HOUR_MS);
      let fields = buckets.get(hour);
      if (!fields) buckets.set(hour, (fields = []));
      fields.push(r.id, JSON.stringify(r));
    }
    // the records first (one HSET per hour, which expires as a whole the TTL after it ends), then
    // the script that indexes them and trims what is now beyond the bound
    for (const [hour, fields] of buckets) {
      const key = this.keys.deliveries(hour);
      p.hset(key, ...fields);
      p.pexpireat(key, (hour + 1) * HOUR_MS + this.log.ttlMs);
    }
    const keys: string[] = [];
    const args: Array<string | number> = [isNew ? 1 : 0, this.bucketPrefix, this.log.ttlMs, this.log.maxPerWebhook];
    args.push(Date.now());
    for (const [w, g] of groups) {
      keys.push(this.keys.webhookDeliveries(w), this.keys.orgDeliveries(g.org));
      args.push(g.args.length / 5, ...g.args);
    }
    if (keys.length) queueWriteLog(p, keys, args);
  }

  async write(records: DeliveryRecord[], o: WriteOptions): Promise<void> {
    const p = this.redis.pipeline();
    this.queueWrite(p, records, o);
    for (const [err] of await execWithLogScripts(this.redis, p)) if (err) throw err;
  }

  private readonly sinceTrim = new Map<string, number>();

  /**
   * Counts new records per webhook and says which webhooks are due a separate trim: every tenth of
   * the bound. (Every write of new records already trims its webhooks to the bound; this is upkeep,
   * e.g. for a bound lowered since.)
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

  /** Drops a webhook's deliveries beyond the TTL and the size bound, records and index entries included. */
  async trim(webhookId: string, now = Date.now()): Promise<number> {
    const org = await this.redis.get(this.keys.webhookOrg(webhookId));
    const index = this.keys.webhookDeliveries(webhookId);
    const orgIndex = org ? this.keys.orgDeliveries(org) : '';
    return trimLog(this.redis, index, orgIndex, this.bucketPrefix, now - this.log.ttlMs, this.log.maxPerWebhook);
  }

  private listing(scope: LogScope, filter: DeliveryFilter, page: LogPage): Promise<LogListing> {
    return listIndex(this.redis, scope, filter, page, {
      oldestMs: Date.now() - this.log.ttlMs,
      limits: { indexEntries: this.log.scanIndexEntries ?? 10_000, records: this.log.scanRecords ?? 1_000 },
      fetch: (ids) => this.getMany(ids),
      scanned: (n) => (this.stats.indexEntriesScanned += n),
    });
  }

  /** A webhook's deliveries, newest first, filtered (see delivery-log-query.ts for the costs). */
  list(webhookId: string, filter: DeliveryFilter, page: LogPage): Promise<LogListing> {
    const index = this.keys.webhookDeliveries(webhookId);
    const key = (f: DeliveryFacet, v: string) => this.keys.webhookDeliveryFacet(webhookId, f, v);
    return this.listing(
      { index, facet: (f, v) => (hasFacet(f, v) ? key(f, v) : undefined), complement: (f, v) => complement(f, v, key) },
      filter,
      page,
    );
  }

  /**
   * An org's deliveries over all its webhooks, newest first, filtered: status from its facets,
   * topic and status code checked on records (at most `scanRecords` per call).
   */
  listOrg(org: string, filter: DeliveryFilter, page: LogPage): Promise<LogListing> {
    const index = this.keys.orgDeliveries(org);
    const key = (f: DeliveryFacet, v: string) => this.keys.orgDeliveryFacet(org, f, v);
    const facet = (f: DeliveryFacet, v: string) => (f === 'status' && hasFacet(f, v) ? key(f, v) : undefined);
    return this.listing({ index, facet, complement: (f, v) => complement(f, v, key) }, filter, page);
  }
}
