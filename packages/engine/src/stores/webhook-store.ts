/**
 * Webhooks as stored in Redis: one hash per org (id → JSON), a per-org hash of service-set
 * `disabled_reason`s, and a per-org version bumped on every change so workers reload at once.
 * Secrets and header values are sealed on the way in and opened on the way out (`SecretBox`):
 * everything above this store sees plain webhooks, Redis never does once a key is set.
 */
import type { Redis } from 'ioredis';
import {
  newId,
  openWebhook,
  SecretBox,
  sealWebhook,
  type Keys,
  type Webhook,
  type WebhookFields,
} from '@devhooks/core';

export class WebhookStore {
  constructor(
    private readonly redis: Redis,
    private readonly keys: Keys,
    private readonly box: SecretBox = new SecretBox(),
  ) {}

  private stored(w: Webhook): string {
    return JSON.stringify(sealWebhook(w, this.box));
  }

  private merge(raw: string, reason: string | null | undefined): Webhook {
    const w = openWebhook(JSON.parse(raw) as Webhook, this.box);
    if (reason) {
      w.enabled = false;
      w.disabled_reason = reason;
    }
    return w;
  }

  /** Creates all of them in one transaction. */
  async create(org: string, list: WebhookFields[]): Promise<Webhook[]> {
    const now = new Date().toISOString();
    const created = list.map((f): Webhook => ({
      id: newId('wh'),
      org_id: org,
      ...f,
      created_at: now,
      updated_at: now,
    }));
    const m = this.redis.multi();
    for (const w of created) {
      m.hset(this.keys.orgWebhooks(org), w.id, this.stored(w));
      m.set(this.keys.webhookOrg(w.id), org);
    }
    m.hincrby(this.keys.webhookVersions, org, 1);
    await m.exec();
    return created;
  }

  async get(org: string, id: string): Promise<Webhook | undefined> {
    const [raw, reason] = await Promise.all([
      this.redis.hget(this.keys.orgWebhooks(org), id),
      this.redis.hget(this.keys.orgWebhookState(org), id),
    ]);
    return raw ? this.merge(raw, reason) : undefined;
  }

  /** Every webhook of the org, oldest first. */
  async list(org: string): Promise<Webhook[]> {
    const [all, state] = await Promise.all([
      this.redis.hgetall(this.keys.orgWebhooks(org)),
      this.redis.hgetall(this.keys.orgWebhookState(org)),
    ]);
    return Object.entries(all)
      .map(([id, raw]) => this.merge(raw, state[id]))
      .sort((a, b) => a.created_at.localeCompare(b.created_at) || a.id.localeCompare(b.id));
  }

  /**
   * Writes new fields over an existing webhook. A write that sets `enabled` (PUT always does)
   * clears a service-set `disabled_reason`: the admin has decided.
   */
  async update(existing: Webhook, fields: WebhookFields, o: { setsEnabled: boolean }): Promise<Webhook> {
    const org = existing.org_id;
    const w: Webhook = {
      id: existing.id,
      org_id: org,
      ...fields,
      created_at: existing.created_at,
      updated_at: new Date().toISOString(),
    };
    const m = this.redis.multi().hset(this.keys.orgWebhooks(org), w.id, this.stored(w));
    // setting `enabled` clears a disable by the service (410, failing 5 days)
    if (o.setsEnabled) m.hdel(this.keys.orgWebhookState(org), w.id);
    m.hincrby(this.keys.webhookVersions, org, 1);
    await m.exec();
    return (await this.get(org, w.id)) ?? w;
  }

  /** Deletes all of `ids` or, when any is unknown in this org, none; returns the unknown ones. */
  async remove(org: string, ids: string[]): Promise<string[]> {
    const unique = [...new Set(ids)];
    const exists = await this.redis.hmget(this.keys.orgWebhooks(org), ...unique);
    const missing = unique.filter((_, i) => exists[i] === null);
    if (missing.length) return missing;
    const m = this.redis
      .multi()
      .hdel(this.keys.orgWebhooks(org), ...unique)
      .hdel(this.keys.orgWebhookState(org), ...unique);
    for (const id of unique) m.del(this.keys.webhookOrg(id));
    m.hdel(this.keys.failingSince, ...unique).hincrby(this.keys.webhookVersions, org, 1);
    await m.exec();
    return [];
  }

  /** The service disables a webhook (410 Gone, or failing for 5 days). */
  async disable(org: string, id: string, reason: string): Promise<void> {
    await this.redis
      .multi()
      .hset(this.keys.orgWebhookState(org), id, reason)
      .hincrby(this.keys.webhookVersions, org, 1)
      .exec();
  }

  async orgOf(id: string): Promise<string | undefined> {
    return (await this.redis.get(this.keys.webhookOrg(id))) ?? undefined;
  }
}
