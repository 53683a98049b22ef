/**
 * Bull Board at /admin/queues, behind the root token: the retry queues (one per shard when there
 * are several), what each job state means for a delivery, a link to the failing-receivers page,
 * and only the actions that agree with the delivery log (Retry and Promote are recorded as manual
 * attempts; destructive ones are refused: the delivery log is the record, not the queue).
 */
import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { ExpressAdapter } from '@bull-board/express';
import type { BeforeHook, HookContext } from '@bull-board/api/typings/app';
import type { Router } from 'express';
import type { Queue } from 'bullmq';
import {
  reopenForManualAttempt,
  retryRequestedLine,
  type DeliveryLog,
  type Logger,
  type RetryJobData,
} from '@devhooks/engine';
import { boardErrorResponse } from './http/errors';

export const BOARD_PATH = '/admin/queues';
export const FAILING_PATH = '/admin/failing';

/** What each job state means for a delivery (Bull Board shows it beside the queue's name). */
export const QUEUE_DESCRIPTION =
  'Deliveries that need another attempt. Delayed: waiting for its next attempt (see "Will run at"). ' +
  'Waiting: due now. Active: attempt in progress. Completed: delivered. ' +
  'Failed: failed for good; Retry runs one more attempt now, recorded in the delivery log.';

export interface BoardQueue {
  queue: Queue<RetryJobData>;
  /** The event-stream shard the queue serves, when there is one queue per shard. */
  shard?: number;
}

export interface BoardOptions {
  queues: BoardQueue[];
  deliveries: DeliveryLog;
  logger: Logger;
}

/** Actions the board may take, by route; every other write is refused. */
const ALLOWED_WRITES = new Set([
  'put /api/queues/:queueName/:jobId/retry',
  'put /api/queues/:queueName/:jobId/promote',
  'put /api/queues/:queueName/retry/:queueStatus',
  'put /api/queues/:queueName/promote',
  'put /api/queues/:queueName/pause',
  'put /api/queues/:queueName/resume',
  'put /api/queues/pause',
  'put /api/queues/resume',
]);
/**
 * Actions on one job that run an attempt now, and the state they act on: recorded as manual, like
 * POST /v1/deliveries/{id}/retry.
 */
const BY_HAND: Record<string, { action: string; from: string }> = {
  'put /api/queues/:queueName/:jobId/retry': { action: 'Retry', from: 'failed' },
  'put /api/queues/:queueName/:jobId/promote': { action: 'Promote', from: 'delayed' },
};

/** The board's label of a queue: `retries`, or `retries (shard 3)` when there is one per shard. */
export function queueLabel(q: BoardQueue): string {
  return q.shard === undefined ? q.queue.name : `${q.queue.name} (shard ${q.shard})`;
}

/**
 * A queue's name on the board (its URL segment): several queues of one name (one per shard, each
 * under its own hash tag) are told apart by an `s<shard>-` prefix.
 */
export function boardQueueName(q: BoardQueue, o: { repeated: boolean }): string {
  return `${boardPrefix(q, o)}${q.queue.name}`;
}

function boardPrefix(q: BoardQueue, o: { repeated: boolean }): string {
  return o.repeated && q.shard !== undefined ? `s${q.shard}-` : '';
}

/** One board entry per retry queue: with several, each carries its shard. */
export function boardQueuesOf(queues: Array<Queue<RetryJobData>>): BoardQueue[] {
  return queues.map((queue, shard) => ({ queue, shard: queues.length > 1 ? shard : undefined }));
}

export function boardRouter(o: BoardOptions): Router {
  const adapter = new ExpressAdapter();
  adapter.setBasePath(BOARD_PATH);
  const byName = new Map<string, Queue<RetryJobData>>();
  const repeated = new Set(o.queues.map((q) => q.queue.name)).size < o.queues.length;
  const adapters = o.queues.map((q) => {
    const a = new BullMQAdapter(q.queue, {
      description: QUEUE_DESCRIPTION,
      displayName: queueLabel(q),
      // several queues of one name (one per shard, each under its own hash tag): names must differ
      prefix: boardPrefix(q, { repeated }),
      allowRetries: true,
    });
    byName.set(a.getName(), q.queue);
    return a;
  });
  createBullBoard({
    queues: adapters,
    serverAdapter: adapter,
    options: {
      uiConfig: {
        boardTitle: 'devhooks retries',
        miscLinks: [{ text: 'Failing receivers', url: FAILING_PATH }],
      },
      handlerHooks: { before: boardGuard(o, byName) },
    },
  });
  adapter.setErrorHandler(boardErrorResponse as Parameters<ExpressAdapter['setErrorHandler']>[0]);
  return adapter.getRouter() as Router;
}

function boardGuard(o: BoardOptions, byName: Map<string, Queue<RetryJobData>>): BeforeHook {
  return async (c: HookContext) => {
    const route = `${c.method} ${c.route}`;
    if (c.method === 'get') return;
    if (!ALLOWED_WRITES.has(route)) {
      return {
        allow: false,
        status: 403,
        message:
          'refused on the devhooks dashboard: jobs mirror the delivery log, so they are not cleaned, removed, ' +
          'edited or added here (use the delivery API)',
      };
    }
    const byHand = BY_HAND[route];
    if (byHand)
      await markByHand(o, byName.get(String(c.request.params.queueName)), String(c.request.params.jobId), byHand);
  };
}

/** Flags the job's next attempt as manual and reopens its delivery, before the board retries or promotes it. */
async function markByHand(
  o: BoardOptions,
  queue: Queue<RetryJobData> | undefined,
  jobId: string,
  { action, from }: { action: string; from: string },
) {
  const job = queue && (await queue.getJob(jobId));
  // the board answers a missing job, or one in another state, itself (404, 400): nothing to record
  if (!job || (await job.getState()) !== from) return;
  const rec = await o.deliveries.get(job.data.deliveryId ?? jobId);
  if (rec && rec.status !== 'pending') await reopenForManualAttempt(o.deliveries, rec);
  await job.updateData({ ...job.data, manual: true, park: undefined });
  await job.log(retryRequestedLine('dashboard', action));
  o.logger.info('manual retry', { org_id: rec?.org_id, delivery_id: jobId, webhook_id: rec?.webhook_id, how: action });
}
