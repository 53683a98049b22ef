/**
 * The worker's configuration: the environment of docs/contract.md §1, checked at boot. Nothing else
 * reads process.env.
 */
import {
  DURATION_PATTERN,
  INTEGER_PATTERN,
  parseDuration,
  readEnv,
  SHARED_ENV_PROPERTIES,
  sharedSettings,
  type EnvSchema,
} from '@devhooks/core';
import type { WorkerRuntimeConfig } from '@devhooks/engine';

export interface WorkerConfig extends WorkerRuntimeConfig {
  /** Port for /healthz, /readyz and /metrics of this worker; undefined: not served. */
  port?: number;
  host: string;
  /** SIGTERM drain deadline. */
  shutdownMs: number;
}

const duration = { type: 'string', pattern: DURATION_PATTERN };
const integer = { type: 'string', pattern: INTEGER_PATTERN };
export const workerEnvSchema: EnvSchema = {
  type: 'object',
  properties: {
    ...SHARED_ENV_PROPERTIES,
    DEVHOOKS_WORKER_PORT: integer,
    DEVHOOKS_WORKER_HOST: { type: 'string', minLength: 1 },
    DEVHOOKS_ENDPOINT_CONCURRENCY: integer,
    DEVHOOKS_RETRY_CONCURRENCY: integer,
    DEVHOOKS_MAX_IN_PROGRESS: integer,
    DEVHOOKS_CLAIM_IDLE: duration,
    DEVHOOKS_ORIGIN_IN_PROGRESS: integer,
    DEVHOOKS_WORKER_LIVENESS: duration,
    DEVHOOKS_SHUTDOWN_TIMEOUT: duration,
    DEVHOOKS_ORDER_HOLD_MAX: integer,
  },
};

export function loadWorkerConfig(env: Record<string, string | undefined> = process.env): WorkerConfig {
  const e = readEnv(workerEnvSchema, env);
  const num = (v: string | undefined, d: number) => (v === undefined ? d : Number(v));
  const shared = sharedSettings(e);
  const { deliveryTimeoutMs, batchWindowMs } = shared;
  const concurrency = Math.max(1, num(e.DEVHOOKS_ENDPOINT_CONCURRENCY, 64));
  const problems: string[] = [];
  if (deliveryTimeoutMs < 100) problems.push('DEVHOOKS_DELIVERY_TIMEOUT must be at least 100ms');
  const claimIdleMs = e.DEVHOOKS_CLAIM_IDLE
    ? parseDuration(e.DEVHOOKS_CLAIM_IDLE, 'DEVHOOKS_CLAIM_IDLE')
    : 2 * deliveryTimeoutMs + batchWindowMs + 5_000;
  if (claimIdleMs <= deliveryTimeoutMs + batchWindowMs) {
    problems.push(
      'DEVHOOKS_CLAIM_IDLE must be longer than DEVHOOKS_DELIVERY_TIMEOUT + DEVHOOKS_BATCH_WINDOW (or an attempt could run twice)',
    );
  }
  const livenessMs = e.DEVHOOKS_WORKER_LIVENESS
    ? parseDuration(e.DEVHOOKS_WORKER_LIVENESS, 'DEVHOOKS_WORKER_LIVENESS')
    : 3_000;
  if (livenessMs < 500) problems.push('DEVHOOKS_WORKER_LIVENESS must be at least 500ms');
  const port = e.DEVHOOKS_WORKER_PORT === undefined ? undefined : Number(e.DEVHOOKS_WORKER_PORT);
  if (port !== undefined && port > 65535) problems.push('DEVHOOKS_WORKER_PORT must be at most 65535');
  const orderHoldMax = num(e.DEVHOOKS_ORDER_HOLD_MAX, 10_000);
  if (orderHoldMax < 1) problems.push('DEVHOOKS_ORDER_HOLD_MAX must be at least 1');
  if (problems.length) throw new Error(`invalid configuration:\n  ${problems.join('\n  ')}`);
  const maxInProgress = Math.max(100, num(e.DEVHOOKS_MAX_IN_PROGRESS, 300));
  const perOrigin = e.DEVHOOKS_ORIGIN_IN_PROGRESS;
  return {
    ...shared,
    endpoint: {
      concurrency,
      maxWaitMs: Math.max(5_000, deliveryTimeoutMs),
      breakerThreshold: 5,
      breakerCooldownMs: 10_000,
      breakerMaxCooldownMs: 300_000,
    },
    readCount: 500,
    maxInProgress,
    claimIdleMs,
    // undefined: an eighth of DEVHOOKS_MAX_IN_PROGRESS, at least 8
    maxInProgressPerOrigin: perOrigin === undefined ? undefined : Math.max(1, Number(perOrigin)),
    livenessMs,
    retryConcurrency: Math.max(1, num(e.DEVHOOKS_RETRY_CONCURRENCY, 100)),
    orderHoldMax,
    disableAfterFailingMs: 5 * 86_400_000,
    port,
    host: e.DEVHOOKS_WORKER_HOST ?? '127.0.0.1',
    shutdownMs: e.DEVHOOKS_SHUTDOWN_TIMEOUT
      ? parseDuration(e.DEVHOOKS_SHUTDOWN_TIMEOUT, 'DEVHOOKS_SHUTDOWN_TIMEOUT')
      : deliveryTimeoutMs + batchWindowMs + 5_000,
  };
}
