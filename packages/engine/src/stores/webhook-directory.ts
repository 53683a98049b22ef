/**
 * The worker's view of webhooks: per org, the parsed webhooks and a match index, reloaded when the
 * org's webhook version changes. One HMGET per read batch keeps it exact: a webhook disabled or
 * deleted before an event is read never receives it.
 */
import { createSecretKey, type KeyObject } from 'node:crypto';
import type { Redis } from 'ioredis';
import { SecretBox, signingKey, VERSION, WebhookIndex, type Keys, type Webhook } from '@devhooks/core';
import { WebhookStore } from './webhook-store';

export interface Target extends Webhook {
  /** `scheme://host:port` of the url (connection pools and endpoint limits are per origin). */
  origin: string;
  /** Path and query of the url. */
  path: string;
  /** The decoded signing key, or undefined: no signature. */
  key?: KeyObject;
  /** A rotated-out key `standard` still signs with until `previousKeyExpiresAt` (ms). */
  previousKey?: KeyObject;
  previousKeyExpiresAt?: number;
  /**
   * The headers every attempt sends, as undici's flat [name, value, ...] list: content-type,
   * user-agent, then the webhook's own (names lowercased, so they override rather than repeat).
   */
  baseHeaders: string[];
}

interface OrgView {
  version: string;
  byId: Map<string, Target>;
  index: WebhookIndex<Target>;
}

export function toTarget(w: Webhook, userAgent = `devhooks/${VERSION}`): Target {
  const u = new URL(w.url);
  const headers: Record<string, string> = { 'content-type': 'application/json', 'user-agent': userAgent };
  for (const [k, v] of Object.entries(w.headers)) headers[k.toLowerCase()] = v;
  const t: Target = {
    ...w,
    origin: u.origin,
    path: (u.pathname || '/') + u.search,
    baseHeaders: Object.entries(headers).flat(),
  };
  if (w.secret) t.key = createSecretKey(signingKey(w.signing, w.secret));
  const expires = w.previous_secret_expires_at ? Date.parse(w.previous_secret_expires_at) : NaN;
  if (w.previous_secret && w.signing === 'standard' && expires > Date.now()) {
    t.previousKey = createSecretKey(signingKey(w.signing, w.previous_secret));
    t.previousKeyExpiresAt = expires;
  }
  return t;
}

/** The previous key while its grace period lasts at `now` (ms), else undefined: it expires on its own. */
export function previousKeyAt(t: Target, now: number): KeyObject | undefined {
  return t.previousKey && now < t.previousKeyExpiresAt! ? t.previousKey : undefined;
}

export class WebhookDirectory {
  private readonly orgs = new Map<string, OrgView>();
  private readonly store: WebhookStore;

  constructor(
    private readonly redis: Redis,
    private readonly keys: Keys,
    /** Opens the secrets and header values the worker signs and sends with. */
    box: SecretBox = new SecretBox(),
  ) {
    this.store = new WebhookStore(redis, keys, box);
  }

  /** Makes sure the views of `orgs` are current (one round trip, plus a reload per changed org). */
  async refresh(orgs: Iterable<string>): Promise<void> {
    const list = [...new Set(orgs)];
    if (!list.length) return;
    const versions = await this.redis.hmget(this.keys.webhookVersions, ...list);
    await Promise.all(
      list.map(async (org, i) => {
        const v = versions[i] ?? '0';
        const cur = this.orgs.get(org);
        if (cur && cur.version === v) return;
        const all = v === '0' ? [] : await this.store.list(org);
        const targets: Target[] = [];
        for (const w of all) {
          try {
            targets.push(toTarget(w));
          } catch {
            // an unparsable url cannot be stored through the API; skip it rather than stall the org
          }
        }
        this.orgs.set(org, {
          version: v,
          byId: new Map(targets.map((t) => [t.id, t])),
          index: new WebhookIndex(targets),
        });
      }),
    );
  }

  index(org: string): WebhookIndex<Target> | undefined {
    return this.orgs.get(org)?.index;
  }

  get(org: string, id: string): Target | undefined {
    return this.orgs.get(org)?.byId.get(id);
  }

  /** Refreshes the org and returns the webhook. */
  async fetch(org: string, id: string): Promise<Target | undefined> {
    await this.refresh([org]);
    return this.get(org, id);
  }
}
