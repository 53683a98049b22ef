/**
 * What a retry job shows on the dashboard after an attempt: its data (the delivery as it stands),
 * its log line, and, when it waits for its next attempt, the time that attempt runs.
 */
import type { Job } from 'bullmq';
import type { Redis } from 'ioredis';
import type { AttemptOutcome } from '../delivery/attempt';
import { luaCommands } from '../redis/lua-commands';
import { attemptLines, type AttemptLineOptions } from './retry-job-log';
import { retryJobData, type RetryJobData, type RetryTarget } from './retry-queue';

/** The job's data and log follow the attempt (the manual flag, if any, is spent). */
export async function showAttempt(
  job: Job<RetryJobData>,
  out: AttemptOutcome,
  target: RetryTarget,
  o: AttemptLineOptions,
): Promise<void> {
  // sent together, in order, on one connection: the lines keep their order
  await Promise.all([
    job.updateData(retryJobData(out.record, target, o.attemptsTotal)),
    ...attemptLines(out, o).map((line) => job.log(line)),
  ]);
}

/** Moves the job (active, locked by `token`) to delayed until `runAt`, and makes the board show that time. */
export async function delayJobUntil(
  redis: Redis,
  job: Job<RetryJobData>,
  runAt: number,
  token: string | undefined,
): Promise<void> {
  await job.moveToDelayed(runAt, token);
  const q = job.queueQualifiedName;
  await luaCommands(redis).showRunAt(`${q}:${job.id}`, `${q}:delayed`, job.id!, runAt);
}
