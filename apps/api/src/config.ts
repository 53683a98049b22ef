/** The API's configuration: the environment of contract §1, checked at boot. Nothing else reads process.env. */
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

export interface ApiConfig {
  adminToken: string;
  port: number;
  host: string;
  redisUrl: string;
  prefix: string;
  allowPrivateTargets: boolean;
  retrySchedule: number[];
  deliveryTimeoutMs: number;
  logTtlMs: number;
  logMaxPerWebhook: number;
  maxBacklog: number;
  logLevel: string;
}

const duration = { type: 'string', pattern: DURATION_PATTERN };
export const apiEnvSchema: EnvSchema = {
  type: 'object',
  required: ['DEVHOOKS_ADMIN_TOKEN'],
  properties: {
    DEVHOOKS_ADMIN_TOKEN: { type: 'string', minLength: 1, maxLength: 512 },
    DEVHOOKS_PORT: { type: 'string', pattern: INTEGER_PATTERN },
    DEVHOOKS_HOST: { type: 'string', minLength: 1 },
    DEVHOOKS_REDIS_URL: { type: 'string', pattern: '^rediss?://' },
    DEVHOOKS_PREFIX: { type: 'string', pattern: '^[A-Za-z0-9._-]{1,64}$' },
    DEVHOOKS_ALLOW_PRIVATE_TARGETS: { type: 'string', pattern: BOOLEAN_PATTERN },
    DEVHOOKS_RETRY_SCHEDULE: { type: 'string', minLength: 1 },
    DEVHOOKS_DELIVERY_TIMEOUT: duration,
    DEVHOOKS_BATCH_WINDOW: duration,
    DEVHOOKS_LOG_TTL: duration,
    DEVHOOKS_LOG_MAX_PER_WEBHOOK: { type: 'string', pattern: INTEGER_PATTERN },
    DEVHOOKS_MAX_BACKLOG: { type: 'string', pattern: INTEGER_PATTERN },
    DEVHOOKS_LOG_LEVEL: { type: 'string', enum: ['error', 'warn', 'info', 'debug'] },
  },
};

export function loadApiConfig(env: Record<string, string | undefined> = process.env): ApiConfig {
  const e = readEnv(apiEnvSchema, env);
  const port = Number(e.DEVHOOKS_PORT ?? 8080);
  if (port > 65535) throw new Error('invalid configuration:\n  DEVHOOKS_PORT must be at most 65535');
  return {
    adminToken: e.DEVHOOKS_ADMIN_TOKEN!,
    port,
    host: e.DEVHOOKS_HOST ?? '127.0.0.1',
    redisUrl: e.DEVHOOKS_REDIS_URL ?? 'redis://127.0.0.1:6379',
    prefix: e.DEVHOOKS_PREFIX ?? 'devhooks',
    allowPrivateTargets: envBoolean(e.DEVHOOKS_ALLOW_PRIVATE_TARGETS, false),
    retrySchedule: parseRetrySchedule(e.DEVHOOKS_RETRY_SCHEDULE ?? DEFAULT_RETRY_SCHEDULE),
    deliveryTimeoutMs: parseDuration(e.DEVHOOKS_DELIVERY_TIMEOUT ?? '15s', 'DEVHOOKS_DELIVERY_TIMEOUT'),
    logTtlMs: parseDuration(e.DEVHOOKS_LOG_TTL ?? '7d', 'DEVHOOKS_LOG_TTL'),
    logMaxPerWebhook: Number(e.DEVHOOKS_LOG_MAX_PER_WEBHOOK ?? 10_000),
    maxBacklog: Number(e.DEVHOOKS_MAX_BACKLOG ?? 1_000_000),
    logLevel: e.DEVHOOKS_LOG_LEVEL ?? 'info',
  };
}
