/**
 * The worker's configuration: the environment of docs/contract.md §1, checked at boot. Nothing else
 * reads process.env.
 */
import { appEnvSchema, ENV_VALUE, loadConfig } from '@devhooks/core';
import type { WorkerRuntimeConfig } from '@devhooks/engine';

export interface WorkerConfig extends WorkerRuntimeConfig {
  /** Port for /healthz, /readyz and /metrics of this worker; undefined: not served. */
  port?: number;
  host: string;
  /** SIGTERM drain deadline. */
  shutdownMs: number;
}

const { duration, integer } = ENV_VALUE;
export const workerEnvSchema = appEnvSchema({
  DEVHOOKS_WORKER_PORT: integer,
  DEVHOOKS_WORKER_HOST: ENV_VALUE.text,
  DEVHOOKS_ENDPOINT_CONCURRENCY: integer,
  DEVHOOKS_RETRY_CONCURRENCY: integer,
  DEVHOOKS_MAX_IN_PROGRESS: integer,
  DEVHOOKS_CLAIM_IDLE: duration,
  DEVHOOKS_ORIGIN_IN_PROGRESS: integer,
  DEVHOOKS_WORKER_LIVENESS: duration,
  DEVHOOKS_SHUTDOWN_TIMEOUT: duration,
  DEVHOOKS_ORDER_HOLD_MAX: integer,
});

export function loadWorkerConfig(env: Record<string, string | undefined> = process.env): WorkerConfig {
  return loadConfig(workerEnvSchema, env, (e) => {
    const { deliveryTimeoutMs, batchWindowMs } = e.shared;
    if (deliveryTimeoutMs < 100) e.problem('DEVHOOKS_DELIVERY_TIMEOUT must be at least 100ms');
    const claimIdleMs = e.ms('DEVHOOKS_CLAIM_IDLE', `${2 * deliveryTimeoutMs + batchWindowMs + 5_000}ms`);
    if (claimIdleMs <= deliveryTimeoutMs + batchWindowMs) {
      e.problem(
        'DEVHOOKS_CLAIM_IDLE must be longer than DEVHOOKS_DELIVERY_TIMEOUT + DEVHOOKS_BATCH_WINDOW (or an attempt could run twice)',
      );
    }
    const livenessMs = e.ms('DEVHOOKS_WORKER_LIVENESS', '3s');
    if (livenessMs < 500) e.problem('DEVHOOKS_WORKER_LIVENESS must be at least 500ms');
    const port = e.values.DEVHOOKS_WORKER_PORT === undefined ? undefined : e.int('DEVHOOKS_WORKER_PORT', 0);
    if (port !== undefined && port > 65535) e.problem('DEVHOOKS_WORKER_PORT must be at most 65535');
    const orderHoldMax = e.int('DEVHOOKS_ORDER_HOLD_MAX', 10_000);
    if (orderHoldMax < 1) e.problem('DEVHOOKS_ORDER_HOLD_MAX must be at least 1');
    const perOrigin = e.values.DEVHOOKS_ORIGIN_IN_PROGRESS;
    return {
      ...e.shared,
      endpoint: {
        concurrency: Math.max(1, e.int('DEVHOOKS_ENDPOINT_CONCURRENCY', 64)),
        maxWaitMs: Math.max(5_000, deliveryTimeoutMs),
        breakerThreshold: 5,
        breakerCooldownMs: 10_000,
        breakerMaxCooldownMs: 300_000,
      },
      readCount: 500,
      maxInProgress: Math.max(100, e.int('DEVHOOKS_MAX_IN_PROGRESS', 300)),
      claimIdleMs,
      // undefined: an eighth of DEVHOOKS_MAX_IN_PROGRESS, at least 8
      maxInProgressPerOrigin: perOrigin === undefined ? undefined : Math.max(1, Number(perOrigin)),
      livenessMs,
      retryConcurrency: Math.max(1, e.int('DEVHOOKS_RETRY_CONCURRENCY', 100)),
      orderHoldMax,
      disableAfterFailingMs: 5 * 86_400_000,
      port,
      host: e.values.DEVHOOKS_WORKER_HOST ?? '127.0.0.1',
      shutdownMs: e.ms('DEVHOOKS_SHUTDOWN_TIMEOUT', `${deliveryTimeoutMs + batchWindowMs + 5_000}ms`),
    };
  });
}
