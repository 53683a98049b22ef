/**
 * The re-encryption pass: rewrites every stored webhook whose secret or header values are not
 * sealed under the current DEVHOOKS_ENCRYPTION_KEY (plain values written before a key was set,
 * values sealed under DEVHOOKS_ENCRYPTION_KEY_OLD). Run by every worker at start and by
 * `npm run reencrypt`.
 *
 * Idempotent and safe to run concurrently (with itself, and with API writes): each webhook is
 * rewritten by a compare-and-set on its hash field, so a concurrent writer (whose value is
 * already sealed under the current key) always wins, and a value already in its target form is
 * left alone. The plain values do not change, so no webhook version is bumped.
 */
import type { Redis } from 'ioredis';
import {
  openWebhook,
  SecretKeyUnavailable,
  sealWebhook,
  webhookNeedsReseal,
  type Keys,
  type SecretBox,
  type Webhook,
} from '@devhooks/core';
import { luaCommands } from '../redis/lua-commands';
import { orgIds } from './org-ids';

export interface ResealReport {
  /** Webhooks looked at. */
  webhooks: number;
  /** Webhooks rewritten by this pass. */
  resealed: number;
  /** Webhooks sealed under a key that is not configured (left as they are). */
  unavailable: number;
  /** The key ids those are sealed with. */
  unavailableKeys: string[];
}

const ATTEMPTS = 5;

export async function resealWebhookSecrets(redis: Redis, keys: Keys, box: SecretBox): Promise<ResealReport> {
  const report: ResealReport = { webhooks: 0, resealed: 0, unavailable: 0, unavailableKeys: [] };
  const lua = luaCommands(redis);
  const missing = new Set<string>();

  /** One webhook: sealed again under the current key, unless a concurrent writer got there first. */
  async function reseal(hash: string, id: string, raw: string): Promise<void> {
    let current: string | null = raw;
    for (let attempt = 0; current !== null && attempt < ATTEMPTS; attempt++) {
      const stored = JSON.parse(current) as Webhook;
      if (!webhookNeedsReseal(stored, box)) return;
      let next: string;
      try {
        next = JSON.stringify(sealWebhook(openWebhook(stored, box), box));
      } catch (err) {
        if (!(err instanceof SecretKeyUnavailable)) throw err;
        report.unavailable++;
        missing.add(err.kid);
        return;
      }
      if (await lua.replaceField(hash, id, current, next)) {
        report.resealed++;
        return;
      }
      current = await redis.hget(hash, id); // changed meanwhile (or deleted): look again
    }
  }

  for await (const org of orgIds(redis, keys)) {
    const hash = keys.orgWebhooks(org);
    for (const [id, raw] of Object.entries(await redis.hgetall(hash))) {
      report.webhooks++;
      await reseal(hash, id, raw);
    }
  }
  report.unavailableKeys = [...missing];
  return report;
}
