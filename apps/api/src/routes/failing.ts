/** GET /admin/failing: the failing-receivers summary beside the dashboard, behind the root token. */
import type { RequestHandler, Router } from 'express';
import { routeGroup } from '../http/routing';
import { failingReceivers } from '@devhooks/engine';
import { BOARD_PATH, boardQueueName, boardQueuesOf, FAILING_PATH } from '../board';
import type { ApiDeps } from '../deps';
import { rootOnly } from '../http/auth';
import { FAILING_PAGE_CSP, failingPage } from '../http/failing-page';
import { QueryReader } from '../http/query';

export function failingRoutes(d: ApiDeps): Router {
  const r = routeGroup();
  // built on first use: the route factory touches no dependency until a request comes
  let guard: RequestHandler | undefined;
  const rootToken: RequestHandler = (req, res, next) => (guard ??= rootOnly(d.config.adminToken))(req, res, next);

  r.get(FAILING_PATH, rootToken, async (req, res) => {
    const q = new QueryReader(req);
    const format = q.oneOf('format', ['html', 'json'] as const) ?? 'html';
    q.done();
    const report = await failingReceivers({ redis: d.redis, keys: d.keys, queues: d.queues.all });
    res.set('cache-control', 'no-store');
    if (format === 'json') {
      res.json(report);
      return;
    }
    res.set('content-security-policy', FAILING_PAGE_CSP);
    // the first retry queue's delayed jobs, named as the board names it (s0-retries with several shards)
    const board = boardQueuesOf(d.queues.all);
    const repeated = new Set(board.map((q) => q.queue.name)).size < board.length;
    const jobs = `${BOARD_PATH}/queue/${encodeURIComponent(boardQueueName(board[0], { repeated }))}?status=delayed`;
    res.type('html').send(failingPage(report, { board: BOARD_PATH, jobs }));
  });

  return r;
}
