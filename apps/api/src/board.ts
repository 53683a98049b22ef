/** Bull Board at /admin/queues, behind the root token: retries, failed deliveries, retry by hand. */
import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { ExpressAdapter } from '@bull-board/express';
import type { Router } from 'express';
import type { Queue } from 'bullmq';
import { boardErrorResponse } from './http/errors';

export const BOARD_PATH = '/admin/queues';

export function boardRouter(queue: Queue): Router {
  const adapter = new ExpressAdapter();
  adapter.setBasePath(BOARD_PATH);
  createBullBoard({
    queues: [new BullMQAdapter(queue, { description: 'delivery retries; failed = exhausted or failed for good' })],
    serverAdapter: adapter,
    options: { uiConfig: { boardTitle: 'devhooks' } },
  });
  adapter.setErrorHandler(boardErrorResponse as Parameters<ExpressAdapter['setErrorHandler']>[0]);
  return adapter.getRouter() as Router;
}
