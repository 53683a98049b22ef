/** Liveness, readiness, metrics and the OpenAPI description (contract §1). */
import type { Router } from 'express';
import type { Registry } from 'prom-client';
import { checkReady } from '@devhooks/engine';
import type { ApiDeps } from '../deps';
import { routeGroup } from '../http/routing';
import { openApiDocument } from '../openapi/document';

export function healthRoutes(d: ApiDeps, registry: Registry): Router {
  const r = routeGroup();

  r.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });

  r.get('/readyz', async (_req, res) => {
    try {
      await checkReady(d.redis, d.keys, d.shardLayout.most);
      res.json({ status: 'ready' });
    } catch (err) {
      res
        .status(503)
        .json({ error: { code: 'not_ready', message: `Redis is not answering: ${(err as Error).message}` } });
    }
  });

  r.get('/metrics', async (_req, res) => {
    res.set('Content-Type', registry.contentType);
    res.send(await registry.metrics());
  });

  const openapi = openApiDocument();
  r.get('/openapi.json', (_req, res) => {
    res.json(openapi);
  });

  return r;
}
