/**
 * Recover (contract §9): one new attempt now for every `failed` delivery of a webhook created in a
 * window, through the manual retry path (so each attempt is recorded in its delivery's attempt log,
 * and paced by the webhook's rate limit at admission like any other attempt).
 */
import type { Redis } from 'ioredis';
import type { Keys, Window } from '@devhooks/core';
import type { DeliveryLog, DeliveryRecord } from '../stores/delivery-log';
import { retryNow, type RetryQueues, type RetryTarget } from './retry-queue';

/** Most deliveries one recover call retries; the answer says where to start the next call. */
export const MAX_RECOVER_DELIVERIES = 10_000;
const PAGE = 500;
const PARALLEL = 16;

/** `since`/`until`: inclusive bounds on `created_at`, in ms. */
export interface RecoverOptions extends Pick<Window, 'since' | 'until'> {
  redis: Redis;
  keys: Keys;
  deliveries: DeliveryLog;
  /** The retry queues: each delivery's own shard's. */
  queues: RetryQueues;
  webhookId: string;
  /** The webhook's name and receiver origin (the retry jobs are named for them). */
  target: RetryTarget;
  /** Attempts in the schedule (the jobs say "attempt n of m"). */
  attemptsTotal: number;
  max?: number;
}

export interface RecoverResult {
  /** Failed deliveries given a new attempt. */
  deliveries: number;
  /** Set when the window holds more failed deliveries than one call takes: `since` for the next call. */
  next_since?: string;
}

/** Oldest first, so a call that stops at the bound can be continued from `next_since`. */
export async function recoverFailed(o: RecoverOptions): Promise<RecoverResult> {
  const max = o.max ?? MAX_RECOVER_DELIVERIES;
  const index = o.keys.webhookDeliveries(o.webhookId);
  let recovered = 0;
  for (let offset = 0; ; offset += PAGE) {
    const ids = await o.redis.zrangebyscore(index, o.since, o.until, 'LIMIT', offset, PAGE);
    const failed = (await o.deliveries.getMany(ids)).filter((r): r is DeliveryRecord => r?.status === 'failed');
    const take = failed.slice(0, max - recovered);
    if (take.length) await retryAll(o, take);
    recovered += take.length;
    if (take.length < failed.length) return { deliveries: recovered, next_since: failed[take.length].created_at };
    if (ids.length < PAGE) return { deliveries: recovered };
  }
}

async function retryAll(o: RecoverOptions, records: DeliveryRecord[]): Promise<void> {
  const now = new Date().toISOString();
  const reopened = records.map((r): DeliveryRecord => ({
    ...r,
    status: 'pending',
    next_attempt_at: now,
    updated_at: now,
  }));
  await o.deliveries.write(reopened, { created: false });
  for (let i = 0; i < reopened.length; i += PARALLEL) {
    await Promise.all(
      reopened.slice(i, i + PARALLEL).map((record) =>
        retryNow(o.queues.of(record.shard), {
          record,
          target: o.target,
          attemptsTotal: o.attemptsTotal,
          via: 'recover',
          trigger: 'recover',
        }),
      ),
    );
  }
}
