/**
 * The API's configuration: the environment of docs/contract.md §1, checked at boot. Nothing else reads
 * process.env.
 */
import {
  INTEGER_PATTERN,
  readEnv,
  SHARED_ENV_PROPERTIES,
  sharedSettings,
  type EnvSchema,
  type SharedSettings,
} from '@devhooks/core';

export interface ApiConfig extends SharedSettings {
  adminToken: string;
  port: number;
  host: string;
  maxBacklog: number;
  /** Replicas that must hold accepted events before 202 (docs/contract.md §7). */
  ingestReplicas: number;
  /** The delivery-log read pool (apps/api/src/http/read-pool.ts). */
  logReads: { concurrency: number; queue: number; perCaller: number };
}

export const apiEnvSchema: EnvSchema = {
  type: 'object',
  required: ['DEVHOOKS_ADMIN_TOKEN'],
  properties: {
    ...SHARED_ENV_PROPERTIES,
    DEVHOOKS_ADMIN_TOKEN: { type: 'string', minLength: 1, maxLength: 512 },
    DEVHOOKS_PORT: { type: 'string', pattern: INTEGER_PATTERN },
    DEVHOOKS_HOST: { type: 'string', minLength: 1 },
    DEVHOOKS_MAX_BACKLOG: { type: 'string', pattern: INTEGER_PATTERN },
    DEVHOOKS_INGEST_REPLICAS: { type: 'string', pattern: '^[0-9]$' },
    DEVHOOKS_LOG_READ_CONCURRENCY: { type: 'string', pattern: '^[1-9]\\d*$' },
    DEVHOOKS_LOG_READ_QUEUE: { type: 'string', pattern: INTEGER_PATTERN },
    DEVHOOKS_LOG_READ_PER_KEY: { type: 'string', pattern: '^[1-9]\\d*$' },
  },
};

export function loadApiConfig(env: Record<string, string | undefined> = process.env): ApiConfig {
  const e = readEnv(apiEnvSchema, env);
  const port = Number(e.DEVHOOKS_PORT ?? 8080);
  if (port > 65535) throw new Error('invalid configuration:\n  DEVHOOKS_PORT must be at most 65535');
  return {
    ...sharedSettings(e),
    adminToken: e.DEVHOOKS_ADMIN_TOKEN!,
    port,
    host: e.DEVHOOKS_HOST ?? '127.0.0.1',
    maxBacklog: Number(e.DEVHOOKS_MAX_BACKLOG ?? 1_000_000),
    ingestReplicas: Number(e.DEVHOOKS_INGEST_REPLICAS ?? 0),
    logReads: {
      concurrency: Number(e.DEVHOOKS_LOG_READ_CONCURRENCY ?? 4),
      queue: Number(e.DEVHOOKS_LOG_READ_QUEUE ?? 32),
      perCaller: Number(e.DEVHOOKS_LOG_READ_PER_KEY ?? 4),
    },
  };
}
