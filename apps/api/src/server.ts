/** The API: express wiring over the engine. `createApi` builds it; `main.ts` runs it. */
import http from 'node:http';
import express from 'express';
import type { Registry } from 'prom-client';
import { redisKeys } from '@devhooks/core';
import {
  checkTarget,
  connectRedis,
  createRetryQueue,
  DeliveryLog,
  OrgStore,
  queueGauges,
  WebhookStore,
  type Logger,
} from '@devhooks/engine';
import { BOARD_PATH, boardRouter } from './board';
import type { ApiConfig } from './config';
import type { ApiDeps } from './deps';
import { authenticate, rootOnly } from './http/auth';
import { errorHandler, notFoundRoute } from './http/errors';
import { eventsFastPath } from './http/fast-events';
import { jsonBody } from './http/json-body';
import { apiMetrics, requestMetrics } from './http/metrics';
import { consoleRoutes } from './routes/console';
import { deliveryRoutes } from './routes/deliveries';
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

export function createApi(
  config: ApiConfig,
  logger: Logger,
  registry: Registry,
  overrides: Partial<ApiDeps> = {},
): Api {
  const keys = redisKeys(config.prefix);
  const redis = connectRedis(config.redisUrl, { name: 'devhooks-api' });
  redis.on('error', (err) => logger.warn('redis error', { error: err.message }));
  const queue = createRetryQueue(redis, keys, config.logTtlMs, (err) =>
    logger.warn('retry queue error', { error: err.message }),
  );
  queueGauges(registry, redis, keys, queue);
  const deps: ApiDeps = {
    config,
    logger,
    redis,
    keys,
    orgs: new OrgStore(redis, keys),
    webhooks: new WebhookStore(redis, keys),
    deliveries: new DeliveryLog(redis, keys, { ttlMs: config.logTtlMs, maxPerWebhook: config.logMaxPerWebhook }),
    queue,
    metrics: apiMetrics(registry),
    checkTarget: (url) => checkTarget(url),
    ...overrides,
  };

  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.set('query parser', 'simple');
  app.use(requestMetrics(deps.metrics));
  // /v1: a JSON body and a caller, then the routes, events first (the hot path walks the fewest
  // layers). Plain middleware rather than a nested router: measured, each router level costs
  // kilobytes of allocation per request.
  const isV1 = (path: string) => path.startsWith('/v1/') || path === '/v1';
  const body = jsonBody();
  const auth = authenticate(deps.orgs, config.adminToken);
  app.use((req, res, next) => (isV1(req.path) ? body(req, res, next) : next()));
  app.use((req, res, next) => (isV1(req.path) ? auth(req, res, next) : next()));
  app.use(eventRoutes(deps), webhookRoutes(deps), deliveryRoutes(deps), orgRoutes(deps));
  app.use(healthRoutes(deps, registry), consoleRoutes());
  app.use(BOARD_PATH, rootOnly(config.adminToken), boardRouter(queue));
  app.use(notFoundRoute);
  app.use(errorHandler(logger));

  let server: http.Server | undefined;
  return {
    app,
    deps,
    listen: () =>
      new Promise((resolve, reject) => {
        const fast = eventsFastPath(deps);
        server = http.createServer((req, res) => {
          if (!fast(req, res)) app(req, res);
        });
        server.keepAliveTimeout = 65_000;
        server.once('error', reject);
        server.listen(config.port, config.host, () => {
          const addr = server!.address();
          resolve(typeof addr === 'object' && addr ? addr.port : config.port);
        });
      }),
    close: async () => {
      if (server) {
        await new Promise<void>((resolve) => {
          server!.close(() => resolve());
          server!.closeIdleConnections();
        });
      }
      // quit politely while Redis answers; never wait on a Redis that is gone
      const closing = Promise.all([queue.close().catch(() => undefined), redis.quit().catch(() => undefined)]);
      const gaveUp = await Promise.race([
        closing.then(() => false),
        new Promise<boolean>((r) => setTimeout(() => r(true), 2_000).unref()),
      ]);
      if (gaveUp) redis.disconnect(false);
    },
  };
}
