/** Bull Board at /admin/queues, behind the root token: retries, failed deliveries, retry by hand. */
import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { ExpressAdapter } from '@bull-board/express';
import type { Router } from 'express';
import type { Queue } from 'bullmq';

export const BOARD_PATH = '/admin/queues';

/** Bull Board over every shard's retry queue, each labelled with its shard. */
export function boardRouter(queues: Queue[]): Router {
  const adapter = new ExpressAdapter();
  adapter.setBasePath(BOARD_PATH);
  createBullBoard({
    queues: queues.map(
      (queue, shard) =>
        new BullMQAdapter(queue, {
          description: `delivery retries${queues.length > 1 ? ` of shard ${shard}` : ''}; failed = exhausted or failed for good`,
          // the board tells queues apart by prefix + name: every shard's queue is named `retries`
          ...(queues.length > 1 ? { displayName: `retries (shard ${shard})`, prefix: `s${shard}-` } : {}),
        }),
    ),
    serverAdapter: adapter,
    options: { uiConfig: { boardTitle: 'devhooks' } },
  });
  return adapter.getRouter() as Router;
}
