/** The BullMQ queue that holds retries (one job per delivery, its id the delivery id). */
import { Queue, type JobsOptions } from 'bullmq';
import type { Redis } from 'ioredis';
import { RETRY_QUEUE, type Keys } from '@devhooks/core';

export interface RetryJobData {
  deliveryId: string;
  /** Asked for by hand (API or Bull Board): one attempt now, whatever the delivery's state. */
  manual?: boolean;
  /** What asked for it, when not a plain retry by hand (recorded in the attempt log). */
  trigger?: 'recover';
  /** Failed at its first attempt: the job only parks it in the failed list for the dashboard. */
  park?: boolean;
}

export const RETRY_JOB_NAME = 'deliver';

export function retryJobOptions(logTtlMs: number): JobsOptions {
  return {
    // attempts here count internal errors only (Redis hiccups); HTTP attempts follow the schedule
    attempts: 8,
    backoff: { type: 'exponential', delay: 1_000 },
    removeOnComplete: true,
    // exhausted deliveries stay in Bull Board's failed list as long as the delivery log keeps them
    removeOnFail: { age: Math.ceil(logTtlMs / 1000) },
  };
}

export function createRetryQueue(
  connection: Redis,
  keys: Keys,
  logTtlMs: number,
  onError?: (err: Error) => void,
): Queue<RetryJobData> {
  const queue = new Queue<RetryJobData>(RETRY_QUEUE, {
    connection,
    prefix: keys.tag,
    defaultJobOptions: retryJobOptions(logTtlMs),
  });
  // an 'error' event without a listener would crash the process (e.g. closing while connecting)
  queue.on('error', onError ?? (() => undefined));
  return queue;
}

/**
 * Runs a delivery's next attempt now, whatever state its job is in: a failed job is retried, a
 * delayed one promoted, a missing or completed one re-created. Returns what was done.
 */
export async function retryNow(
  queue: Queue<RetryJobData>,
  deliveryId: string,
  o: { trigger?: 'recover' } = {},
): Promise<'retried' | 'promoted' | 'queued' | 'running'> {
  const data: RetryJobData = o.trigger
    ? { deliveryId, manual: true, trigger: o.trigger }
    : { deliveryId, manual: true };
  const job = await queue.getJob(deliveryId);
  if (job) {
    const state = await job.getState();
    if (state === 'failed') {
      await job.updateData(data);
      await job.retry('failed');
      return 'retried';
    }
    if (state === 'delayed') {
      await job.updateData(data);
      await job.promote();
      return 'promoted';
    }
    if (state === 'active' || state === 'waiting' || state === 'prioritized' || state === 'waiting-children')
      return 'running';
    await job.remove().catch(() => undefined);
  }
  await queue.add(RETRY_JOB_NAME, data, { jobId: deliveryId });
  return 'queued';
}
