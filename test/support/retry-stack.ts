/** The usual test stack with a retry schedule of its own, and a handle on its BullMQ retry queue. */
import { Queue } from 'bullmq';
import { RETRY_QUEUE } from '@devhooks/core';
import type { RetryJobData } from '@devhooks/engine';
import { startStack, type Stack } from './stack';

export interface RetryStack {
  s: Stack;
  /** The retry queue, as the dashboard reads it. */
  queue: Queue<RetryJobData>;
  close(): Promise<void>;
}

export async function startRetryStack(file: string, schedule: string): Promise<RetryStack> {
  const s = await startStack(file, {
    api: { DEVHOOKS_RETRY_SCHEDULE: schedule },
    worker: { DEVHOOKS_RETRY_SCHEDULE: schedule },
  });
  const queue = new Queue<RetryJobData>(RETRY_QUEUE, { connection: s.redis, prefix: s.keys.tag });
  return {
    s,
    queue,
    async close() {
      await queue.close();
      await s.close();
    },
  };
}

/** A Mender-style event for one device: one delivery per matching webhook. */
export const statusEvent = (id: string, device = 'dev') => ({
  id,
  type: 'device-status-changed',
  data: { id: device, status: 'rejected' },
});
