/**
 * Indexes delivery records written before the delivery log had facets (status, topic, status
 * code) and an org index: for each webhook whose index has entries but no facets yet, its records
 * are written again as new ones (idempotent: same ids, same scores). Run by every worker at start;
 * once done it costs one EXISTS per webhook. Records older than that expire with the log TTL anyway.
 */
import type { Redis } from 'ioredis';
import type { Keys } from '@devhooks/core';
import type { DeliveryLog, DeliveryRecord } from './delivery-log';
import { orgIds } from './org-ids';

const CHUNK = 500;

/** Returns how many records were indexed. */
export async function backfillDeliveryIndexes(redis: Redis, keys: Keys, log: DeliveryLog): Promise<number> {
  let indexed = 0;
  for await (const org of orgIds(redis, keys)) {
    for (const webhook of await redis.hkeys(keys.orgWebhooks(org))) {
      const index = keys.webhookDeliveries(webhook);
      const [hasIndex, hasFacets] = await Promise.all([
        redis.exists(index),
        redis.exists(keys.webhookDeliveryFacets(webhook)),
      ]);
      if (!hasIndex || hasFacets) continue;
      const total = await redis.zcard(index);
      for (let at = 0; at < total; at += CHUNK) {
        const ids = await redis.zrange(index, at, at + CHUNK - 1);
        const records = (await log.getMany(ids)).filter((r): r is DeliveryRecord => !!r);
        if (records.length) await log.write(records, { created: true });
        indexed += records.length;
      }
    }
  }
  return indexed;
}
