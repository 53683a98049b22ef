/**
 * The BullMQ queue that holds retries: one job per delivery, its id the delivery id. A job names
 * what it delivers (webhook and receiver) and carries what an on-call engineer needs to read it on
 * the dashboard (org, webhook, topic, attempt n of m, next attempt, last error); never secrets,
 * header values or bodies.
 */
import { Queue, type Job, type JobsOptions } from 'bullmq';
import type { Redis } from 'ioredis';
import { RETRY_QUEUE, type Keys } from '@devhooks/core';
import type { Decision } from '../delivery/attempt';
import type { DeliveryRecord } from '../stores/delivery-log';
import type { Target } from '../stores/webhook-directory';
import { attemptLines, retryRequestedLine } from './retry-job-log';

export interface RetryJobData {
  deliveryId: string;
  /** Asked for by hand (API or Bull Board): one attempt now, whatever the delivery's state. */
  manual?: boolean;
  /** What asked for it, when not a plain retry by hand (recorded in the attempt log). */
  trigger?: 'recover';
  /** Failed at its first attempt: the job only parks it in the failed list for the dashboard. */
  park?: boolean;
  // What the dashboard shows (read by nothing else):
  org_id?: string;
  webhook_id?: string;
  webhook_name?: string;
  receiver?: string;
  topic?: string;
  events?: number;
  /** When the delivery's (first) event was accepted: the oldest pending age is measured from it. */
  created_at?: string;
  attempt?: number;
  attempts_total?: number;
  next_attempt_at?: string | null;
  last_error?: string | null;
  last_status_code?: number | null;
}

/** A retry job to add: the delivery's record as it stands and where it goes. */
export interface RetryJob {
  record: DeliveryRecord;
  target: Pick<Target, 'name' | 'origin'>;
  delayMs: number;
  /** Already failed for good: the job only parks it in the failed list (dashboard, manual retry). */
  park?: boolean;
  /** What the first attempt decided (for the job's first log line). */
  decision?: Decision;
}

/** Where a retry job's webhook and receiver are named from. */
export type RetryTarget = Pick<Target, 'name' | 'origin'>;

export const RETRY_JOB_NAME = 'deliver';

/** `deliver → <webhook name> (<receiver origin>)`: what the dashboard lists. */
export function retryJobName(target: Pick<Target, 'name' | 'origin'>): string {
  return `${RETRY_JOB_NAME} → ${target.name} (${target.origin})`;
}

/** The dashboard's view of a delivery, kept in its job's data. */
export function retryJobData(
  r: DeliveryRecord,
  target: Pick<Target, 'name' | 'origin'>,
  attemptsTotal: number,
): RetryJobData {
  return {
    deliveryId: r.id,
    org_id: r.org_id,
    webhook_id: r.webhook_id,
    webhook_name: target.name,
    receiver: target.origin,
    topic: r.topic,
    events: r.event_ids.length,
    created_at: r.created_at,
    attempt: r.attempts,
    attempts_total: attemptsTotal,
    next_attempt_at: r.next_attempt_at,
    last_error: r.error,
    last_status_code: r.status_code,
  };
}

/** The jobs for `addBulk`. */
export function retryJobs(
  jobs: RetryJob[],
  attemptsTotal: number,
): Array<{ name: string; data: RetryJobData; opts: JobsOptions }> {
  return jobs.map((j) => ({
    name: retryJobName(j.target),
    data: { ...retryJobData(j.record, j.target, attemptsTotal), ...(j.park ? { park: true } : {}) },
    opts: { jobId: j.record.id, delay: Math.max(0, Math.round(j.delayMs)) },
  }));
}

export function retryJobOptions(logTtlMs: number): JobsOptions {
  return {
    // attempts here count internal errors only (Redis hiccups); HTTP attempts follow the schedule
    attempts: 8,
    // the Logs tab: one line per attempt (and per retry by hand), bounded
    keepLogs: 100,
    backoff: { type: 'exponential', delay: 1_000 },
    removeOnComplete: true,
    // exhausted deliveries stay in Bull Board's failed list as long as the delivery log keeps them
    removeOnFail: { age: Math.ceil(logTtlMs / 1000) },
  };
}

export type RetryQueue = Queue<RetryJobData>;

/** One retry queue per event-stream shard: a delivery's retries go to its shard's queue. */
export class RetryQueues {
  constructor(readonly all: RetryQueue[]) {}

  /** The queue of a shard (of a delivery record's `shard`). */
  of(shard: number | undefined): RetryQueue {
    return this.all[shard ?? 0] ?? this.all[0];
  }

  async close(): Promise<void> {
    await Promise.all(this.all.map((q) => q.close().catch(() => undefined)));
  }
}

export function createRetryQueues(
  connection: Redis,
  keys: Keys,
  o: { shards: number; logTtlMs: number },
  onError?: (err: Error) => void,
): RetryQueues {
  return new RetryQueues(
    Array.from({ length: o.shards }, (_, shard) => {
      const queue = new Queue<RetryJobData>(RETRY_QUEUE, {
        connection,
        prefix: keys.shard(shard).queuePrefix,
        defaultJobOptions: retryJobOptions(o.logTtlMs),
      });
      // an 'error' event without a listener would crash the process (e.g. closing while connecting)
      queue.on('error', onError ?? (() => undefined));
      return queue;
    }),
  );
}

/** The first log lines of jobs just added by the stream consumer: what its attempt came to. */
export async function logFirstAttempts(
  jobs: Array<Job<RetryJobData>>,
  added: RetryJob[],
  attemptsTotal: number,
): Promise<void> {
  // sent together, in order, on one connection (auto-pipelined): one round trip, lines in order
  await Promise.all(
    jobs.flatMap((job, i) => {
      const a = added[i];
      if (!a?.decision) return [];
      return attemptLines({ record: a.record, decision: a.decision }, { attemptsTotal }).map((line) => job.log(line));
    }),
  );
}

export interface RetryNowOptions {
  /** The delivery's record as it stands (the job's name and data are made from it). */
  record: DeliveryRecord;
  target: RetryTarget;
  attemptsTotal: number;
  /** Who asked, for the job's log. */
  via: 'API' | 'dashboard' | 'recover';
  /** What asked for it, when not a plain retry by hand (recorded in the attempt log). */
  trigger?: 'recover';
}

/**
 * Runs a delivery's next attempt now, whatever state its job is in: a failed job is retried, a
 * delayed one promoted, a missing or completed one re-created (named and described like any other).
 * Returns what was done.
 */
export async function retryNow(
  queue: RetryQueue,
  o: RetryNowOptions,
): Promise<'retried' | 'promoted' | 'queued' | 'running'> {
  const deliveryId = o.record.id;
  const data: RetryJobData = {
    ...retryJobData(o.record, o.target, o.attemptsTotal),
    manual: true,
    ...(o.trigger ? { trigger: o.trigger } : {}),
  };
  const job = await queue.getJob(deliveryId);
  if (job) {
    const state = await job.getState();
    if (state === 'failed') {
      await job.updateData(data);
      await job.log(retryRequestedLine(o.via, 'retried from the failed list'));
      await job.retry('failed');
      return 'retried';
    }
    if (state === 'delayed') {
      await job.updateData(data);
      await job.log(retryRequestedLine(o.via, 'promoted from delayed'));
      await job.promote();
      return 'promoted';
    }
    if (state === 'active' || state === 'waiting' || state === 'prioritized' || state === 'waiting-children')
      return 'running';
    await job.remove().catch(() => undefined);
  }
  const added = await queue.add(retryJobName(o.target), data, { jobId: deliveryId });
  await added.log(retryRequestedLine(o.via, 'queued'));
  return 'queued';
}
