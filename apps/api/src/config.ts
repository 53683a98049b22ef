/**
 * The API's configuration: the environment of docs/contract.md §1, checked at boot. Nothing else reads
 * process.env.
 */
import {
  DURATION_PATTERN,
  INTEGER_PATTERN,
  parseDuration,
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
  http: HttpLimits;
}

/** How long slow clients may hold the API's connections, and how many it keeps open. */
export interface HttpLimits {
  /** Longest wait for a request's headers (ms). */
  headersTimeoutMs: number;
  /** Longest wait for a whole request, headers and body (ms); at least the headers timeout. */
  requestTimeoutMs: number;
  /** How long an idle keep-alive connection stays open (ms). */
  keepAliveTimeoutMs: number;
  /** Most open connections; further ones are closed at once. */
  maxConnections: number;
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
    DEVHOOKS_HTTP_HEADERS_TIMEOUT: { type: 'string', pattern: DURATION_PATTERN },
    DEVHOOKS_HTTP_REQUEST_TIMEOUT: { type: 'string', pattern: DURATION_PATTERN },
    DEVHOOKS_HTTP_KEEPALIVE_TIMEOUT: { type: 'string', pattern: DURATION_PATTERN },
    DEVHOOKS_HTTP_MAX_CONNECTIONS: { type: 'string', pattern: INTEGER_PATTERN },
  },
};

export function loadApiConfig(env: Record<string, string | undefined> = process.env): ApiConfig {
  const e = readEnv(apiEnvSchema, env);
  const port = Number(e.DEVHOOKS_PORT ?? 8080);
  if (port > 65535) throw new Error('invalid configuration:\n  DEVHOOKS_PORT must be at most 65535');
  const http = httpLimits(e);
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
    http,
  };
}

function httpLimits(e: Record<string, string | undefined>): HttpLimits {
  const ms = (name: string, dflt: string) => parseDuration(e[name] ?? dflt, name);
  const limits: HttpLimits = {
    headersTimeoutMs: ms('DEVHOOKS_HTTP_HEADERS_TIMEOUT', '10s'),
    requestTimeoutMs: ms('DEVHOOKS_HTTP_REQUEST_TIMEOUT', '30s'),
    keepAliveTimeoutMs: ms('DEVHOOKS_HTTP_KEEPALIVE_TIMEOUT', '65s'),
    maxConnections: Number(e.DEVHOOKS_HTTP_MAX_CONNECTIONS ?? 4096),
  };
  const problems: string[] = [];
  if (limits.headersTimeoutMs < 1) problems.push('DEVHOOKS_HTTP_HEADERS_TIMEOUT must be more than 0');
  if (limits.requestTimeoutMs < limits.headersTimeoutMs) {
    problems.push('DEVHOOKS_HTTP_REQUEST_TIMEOUT must be at least DEVHOOKS_HTTP_HEADERS_TIMEOUT');
  }
  if (limits.maxConnections < 1) problems.push('DEVHOOKS_HTTP_MAX_CONNECTIONS must be at least 1');
  if (problems.length) throw new Error(`invalid configuration:\n  ${problems.join('\n  ')}`);
  return limits;
}
