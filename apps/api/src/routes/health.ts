/** Liveness, readiness, metrics and the OpenAPI description (contract §1). */
import type { Router } from 'express';
import type { Registry } from 'prom-client';
import type { ApiDeps } from '../deps';
import openapi from '../openapi.json';
import { routeGroup } from '../http/routing';

export function healthRoutes(d: ApiDeps, registry: Registry): Router {
  const r = routeGroup();

  r.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });

  r.get('/readyz', async (_req, res) => {
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        d.redis.ping(),
        new Promise((_, reject) => {
          timer = setTimeout(() => reject(new Error('Redis did not answer within 1s')), 1_000);
        }),
      ]);
      res.json({ status: 'ready' });
    } catch (err) {
      res
        .status(503)
        .json({ error: { code: 'not_ready', message: `Redis is not answering: ${(err as Error).message}` } });
    } finally {
      clearTimeout(timer);
    }
  });

  r.get('/metrics', async (_req, res) => {
    res.set('Content-Type', registry.contentType);
    res.send(await registry.metrics());
  });

  r.get('/openapi.json', (_req, res) => {
    res.json(openapi);
  });

  return r;
}
