/**
 * A worker host: the engine's worker runtime, a small HTTP endpoint for probes and metrics, and a
 * drain on SIGTERM / SIGINT with a deadline.
 */
import http from 'node:http';
import type { Registry } from 'prom-client';
import { checkReady, startWorkerRuntime, type Logger, type WorkerRuntime } from '@devhooks/engine';
import type { WorkerConfig } from './config';

export interface WorkerHost {
  runtime: WorkerRuntime;
  port?: number;
  stop(): Promise<boolean>;
}

export async function startWorker(config: WorkerConfig, logger: Logger, registry: Registry): Promise<WorkerHost> {
  const runtime = await startWorkerRuntime(config, logger, registry);
  let server: http.Server | undefined;
  let port: number | undefined;
  if (config.port !== undefined) {
    server = http.createServer((req, res) => {
      const send = (status: number, body: string, type = 'application/json') => {
        res.writeHead(status, { 'content-type': type });
        res.end(body);
      };
      if (req.url === '/healthz') return send(200, '{"status":"ok"}');
      if (req.url === '/readyz') {
        const c = runtime.context;
        checkReady(c.redis, c.keys, c.shards).then(
          () => send(200, '{"status":"ready"}'),
          () => send(503, '{"error":{"code":"not_ready","message":"Redis is not answering"}}'),
        );
        return;
      }
      if (req.url === '/metrics') {
        registry.metrics().then(
          (m) => send(200, m, registry.contentType),
          () => send(500, 'metrics failed', 'text/plain'),
        );
        return;
      }
      send(404, '{"error":{"code":"not_found","message":"try /healthz, /readyz or /metrics"}}');
    });
    port = await new Promise<number>((resolve, reject) => {
      server!.once('error', reject);
      server!.listen(config.port, config.host, () => {
        const a = server!.address();
        resolve(typeof a === 'object' && a ? a.port : config.port!);
      });
    });
    logger.info('worker metrics listening', { host: config.host, port });
  }
  return {
    runtime,
    port,
    async stop() {
      const drained = await runtime.stop(config.shutdownMs);
      if (server) await new Promise<void>((r) => server!.close(() => r()));
      return drained;
    },
  };
}
