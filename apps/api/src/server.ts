/** The API: express wiring over the engine. `createApi` builds it; `main.ts` runs it. */
import http from 'node:http';
import express from 'express';
import type { Registry } from 'prom-client';
import { redisKeys } from '@devhooks/core';
import {
  checkTarget,
  connectRedis,
  createStores,
  Pings,
  queueGauges,
  ShardCountError,
  ShardLayout,
  type Logger,
} from '@devhooks/engine';
import { BOARD_PATH, boardQueuesOf, boardRouter } from './board';
import type { ApiConfig } from './config';
import type { ApiDeps } from './deps';
import { authenticate, rootOnly } from './http/auth';
import { errorHandler, notFoundRoute } from './http/errors';
import { eventsFastPath } from './routes/events-fast-path';
import { jsonBody } from './http/json-body';
import { isV1Path } from './http/routing';
import { applyServerLimits, serverOptions } from './http/server-limits';
import { apiMetrics, requestMetrics } from './http/metrics';
import { controlRoutes } from './routes/controls';
import { consoleRoutes } from './routes/console';
import { deliveryRoutes } from './routes/deliveries';
import { eventTypeRoutes } from './routes/event-types';
import { failingRoutes } from './routes/failing';
import { eventRoutes } from './routes/events';
import { healthRoutes } from './routes/health';
import { orgRoutes } from './routes/orgs';
import { webhookRoutes } from './routes/webhooks';

export interface Api {
  app: express.Express;
  deps: ApiDeps;
  /** Listens on the configured host and port (0: any free port); resolves with the bound port. */
  listen(): Promise<number>;
  close(): Promise<void>;
}

/**
 * How long the API waits for Redis to answer one command (and a new connection's ready check)
 * before the request fails with 503: far above any command it sends (every read is bounded), so
 * only a Redis that took the connection and went silent reaches it, and no request hangs on one.
 */
export const API_COMMAND_TIMEOUT_MS = 10_000;

export function createApi(
  config: ApiConfig,
  logger: Logger,
  registry: Registry,
  overrides: Partial<ApiDeps> = {},
): Api {
  const keys = redisKeys(config.prefix);
  const redis = connectRedis(config, { name: 'devhooks-api', commandTimeoutMs: API_COMMAND_TIMEOUT_MS });
  redis.on('error', (err) => logger.warn('redis error', { error: err.message }));
  const stores = createStores(redis, keys, config, logger);
  const { queues } = stores;
  queueGauges(registry, redis, keys, queues.all);
  const pingWaiter = connectRedis(config, { name: 'devhooks-api-ping', blocking: true, lazy: true });
  pingWaiter.on('error', () => undefined);
  const deps: ApiDeps = {
    config,
    logger,
    redis,
    keys,
    ...stores,
    shardLayout: new ShardLayout(redis, keys, config.shards, logger),
    pings: new Pings(redis, pingWaiter, keys, config.shards),
    metrics: apiMetrics(registry),
    checkTarget: (url) => checkTarget(url),
    ...overrides,
  };

  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.set('query parser', 'simple');
  app.set('case sensitive routing', true);
  app.use(requestMetrics(deps.metrics));
  // /v1: a JSON body and a caller, then the routes, events first (the hot path walks the fewest
  // layers). Plain middleware rather than a nested router: measured, each router level costs
  // kilobytes of allocation per request. The guard takes every path a router could match to a /v1
  // route, in any case (http/routing.ts).
  const body = jsonBody();
  const auth = authenticate(deps.orgs, config.adminToken);
  app.use((req, res, next) => (isV1Path(req.path) ? body(req, res, next) : next()));
  app.use((req, res, next) => (isV1Path(req.path) ? auth(req, res, next) : next()));
  app.use(eventRoutes(deps), webhookRoutes(deps), controlRoutes(deps), deliveryRoutes(deps), orgRoutes(deps));
  app.use(eventTypeRoutes());
  app.use(healthRoutes(deps, registry), consoleRoutes());
  app.use(failingRoutes(deps));
  const boardQueues = boardQueuesOf(queues.all);
  app.use(
    BOARD_PATH,
    rootOnly(config.adminToken),
    boardRouter({ queues: boardQueues, deliveries: deps.deliveries, logger }),
  );
  app.use(notFoundRoute);
  app.use(errorHandler(logger));

  let server: http.Server | undefined;
  return {
    app,
    deps,
    listen: async () => {
      // fewer shards than the deployment has used would leave events unread: refuse to serve
      const checked = deps.shardLayout.record();
      checked.catch(() => undefined); // past the wait below, a late answer is not the start's concern
      const later = new Promise<void>((r) => setTimeout(r, 2_000).unref());
      await Promise.race([checked, later]).catch((err) => {
        if (err instanceof ShardCountError) throw err;
        logger.warn('could not check the shard count (Redis not answering yet)', { error: (err as Error).message });
      });
      // a count grown by processes started later is followed (runtime/shard-count.ts)
      deps.shardLayout.start();
      return new Promise<number>((resolve, reject) => {
        const fast = eventsFastPath(deps);
        server = http.createServer(serverOptions(config.http), (req, res) => {
          if (!fast(req, res)) app(req, res);
        });
        applyServerLimits(server, config.http);
        server.once('error', reject);
        server.listen(config.port, config.host, () => {
          const addr = server!.address();
          resolve(typeof addr === 'object' && addr ? addr.port : config.port);
        });
      });
    },
    close: async () => {
      if (server) {
        await new Promise<void>((resolve) => {
          server!.close(() => resolve());
          server!.closeIdleConnections();
        });
      }
      // quit politely while Redis answers; never wait on a Redis that is gone
      deps.shardLayout.stop();
      deps.pings.close();
      const closing = Promise.all([queues.close(), redis.quit().catch(() => undefined)]);
      const gaveUp = await Promise.race([
        closing.then(() => false),
        new Promise<boolean>((r) => setTimeout(() => r(true), 2_000).unref()),
      ]);
      if (gaveUp) redis.disconnect(false);
    },
  };
}
