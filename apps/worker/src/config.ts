/** The worker's configuration: the environment of contract §1, checked at boot. Nothing else reads process.env. */
import {
  BOOLEAN_PATTERN,
  DEFAULT_RETRY_SCHEDULE,
  DURATION_PATTERN,
  INTEGER_PATTERN,
  envBoolean,
  parseDuration,
  parseRetrySchedule,
  readEnv,
  type EnvSchema,
} from '@devhooks/core';
import type { WorkerRuntimeConfig } from '@devhooks/engine';

export interface WorkerConfig extends WorkerRuntimeConfig {
  /** Port for /healthz, /readyz and /metrics of this worker; undefined: not served. */
  port?: number;
  host: string;
  /** SIGTERM drain deadline. */
  shutdownMs: number;
  logLevel: string;
}

const duration = { type: 'string', pattern: DURATION_PATTERN };
const integer = { type: 'string', pattern: INTEGER_PATTERN };
export const workerEnvSchema: EnvSchema = {
  type: 'object',
  properties: {
    DEVHOOKS_REDIS_URL: { type: 'string', pattern: '^rediss?://' },
    DEVHOOKS_PREFIX: { type: 'string', pattern: '^[A-Za-z0-9._-]{1,64}$' },
    DEVHOOKS_ALLOW_PRIVATE_TARGETS: { type: 'string', pattern: BOOLEAN_PATTERN },
    DEVHOOKS_RETRY_SCHEDULE: { type: 'string', minLength: 1 },
    DEVHOOKS_DELIVERY_TIMEOUT: duration,
    DEVHOOKS_BATCH_WINDOW: duration,
    DEVHOOKS_LOG_TTL: duration,
    DEVHOOKS_LOG_MAX_PER_WEBHOOK: integer,
    DEVHOOKS_LOG_LEVEL: { type: 'string', enum: ['error', 'warn', 'info', 'debug'] },
    DEVHOOKS_WORKER_PORT: integer,
    DEVHOOKS_WORKER_HOST: { type: 'string', minLength: 1 },
    DEVHOOKS_ENDPOINT_CONCURRENCY: integer,
    DEVHOOKS_RETRY_CONCURRENCY: integer,
    DEVHOOKS_MAX_IN_PROGRESS: integer,
    DEVHOOKS_CLAIM_IDLE: duration,
    DEVHOOKS_SHUTDOWN_TIMEOUT: duration,
  },
};

export function loadWorkerConfig(env: Record<string, string | undefined> = process.env): WorkerConfig {
  const e = readEnv(workerEnvSchema, env);
  const num = (v: string | undefined, d: number) => (v === undefined ? d : Number(v));
  const deliveryTimeoutMs = parseDuration(e.DEVHOOKS_DELIVERY_TIMEOUT ?? '15s', 'DEVHOOKS_DELIVERY_TIMEOUT');
  const batchWindowMs = parseDuration(e.DEVHOOKS_BATCH_WINDOW ?? '1s', 'DEVHOOKS_BATCH_WINDOW');
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
  const port = e.DEVHOOKS_WORKER_PORT === undefined ? undefined : Number(e.DEVHOOKS_WORKER_PORT);
  if (port !== undefined && port > 65535) problems.push('DEVHOOKS_WORKER_PORT must be at most 65535');
  if (problems.length) throw new Error(`invalid configuration:\n  ${problems.join('\n  ')}`);
  const maxInProgress = Math.max(100, num(e.DEVHOOKS_MAX_IN_PROGRESS, 300));
  return {
    redisUrl: e.DEVHOOKS_REDIS_URL ?? 'redis://127.0.0.1:6379',
    prefix: e.DEVHOOKS_PREFIX ?? 'devhooks',
    allowPrivateTargets: envBoolean(e.DEVHOOKS_ALLOW_PRIVATE_TARGETS, false),
    schedule: parseRetrySchedule(e.DEVHOOKS_RETRY_SCHEDULE ?? DEFAULT_RETRY_SCHEDULE),
    deliveryTimeoutMs,
    batchWindowMs,
    logTtlMs: parseDuration(e.DEVHOOKS_LOG_TTL ?? '7d', 'DEVHOOKS_LOG_TTL'),
    logMaxPerWebhook: num(e.DEVHOOKS_LOG_MAX_PER_WEBHOOK, 10_000),
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
    retryConcurrency: Math.max(1, num(e.DEVHOOKS_RETRY_CONCURRENCY, 100)),
    disableAfterFailingMs: 5 * 86_400_000,
    port,
    host: e.DEVHOOKS_WORKER_HOST ?? '127.0.0.1',
    shutdownMs: e.DEVHOOKS_SHUTDOWN_TIMEOUT
      ? parseDuration(e.DEVHOOKS_SHUTDOWN_TIMEOUT, 'DEVHOOKS_SHUTDOWN_TIMEOUT')
      : deliveryTimeoutMs + batchWindowMs + 5_000,
    logLevel: e.DEVHOOKS_LOG_LEVEL ?? 'info',
  };
}
