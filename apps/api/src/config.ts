/**
 * The API's configuration: the environment of docs/contract.md §1, checked at boot. Nothing else reads
 * process.env.
 */
import { appEnvSchema, ENV_VALUE, loadConfig, type EnvReading, type SharedSettings } from '@devhooks/core';

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

const { duration, integer, positiveInteger } = ENV_VALUE;
export const apiEnvSchema = appEnvSchema(
  {
    DEVHOOKS_ADMIN_TOKEN: { type: 'string', minLength: 1, maxLength: 512 },
    DEVHOOKS_PORT: integer,
    DEVHOOKS_HOST: ENV_VALUE.text,
    DEVHOOKS_MAX_BACKLOG: integer,
    DEVHOOKS_INGEST_REPLICAS: { type: 'string', pattern: '^[0-9]$' },
    DEVHOOKS_LOG_READ_CONCURRENCY: positiveInteger,
    DEVHOOKS_LOG_READ_QUEUE: integer,
    DEVHOOKS_LOG_READ_PER_KEY: positiveInteger,
    DEVHOOKS_HTTP_HEADERS_TIMEOUT: duration,
    DEVHOOKS_HTTP_REQUEST_TIMEOUT: duration,
    DEVHOOKS_HTTP_KEEPALIVE_TIMEOUT: duration,
    DEVHOOKS_HTTP_MAX_CONNECTIONS: integer,
  },
  { required: ['DEVHOOKS_ADMIN_TOKEN'] },
);

export function loadApiConfig(env: Record<string, string | undefined> = process.env): ApiConfig {
  return loadConfig(apiEnvSchema, env, (e) => {
    const port = e.int('DEVHOOKS_PORT', 8080);
    if (port > 65535) e.problem('DEVHOOKS_PORT must be at most 65535');
    return {
      ...e.shared,
      adminToken: e.values.DEVHOOKS_ADMIN_TOKEN!,
      port,
      host: e.values.DEVHOOKS_HOST ?? '127.0.0.1',
      maxBacklog: e.int('DEVHOOKS_MAX_BACKLOG', 1_000_000),
      ingestReplicas: e.int('DEVHOOKS_INGEST_REPLICAS', 0),
      logReads: {
        concurrency: e.int('DEVHOOKS_LOG_READ_CONCURRENCY', 4),
        queue: e.int('DEVHOOKS_LOG_READ_QUEUE', 32),
        perCaller: e.int('DEVHOOKS_LOG_READ_PER_KEY', 4),
      },
      http: httpLimits(e),
    };
  });
}

function httpLimits(e: EnvReading): HttpLimits {
  const limits: HttpLimits = {
    headersTimeoutMs: e.ms('DEVHOOKS_HTTP_HEADERS_TIMEOUT', '10s'),
    requestTimeoutMs: e.ms('DEVHOOKS_HTTP_REQUEST_TIMEOUT', '30s'),
    keepAliveTimeoutMs: e.ms('DEVHOOKS_HTTP_KEEPALIVE_TIMEOUT', '65s'),
    maxConnections: e.int('DEVHOOKS_HTTP_MAX_CONNECTIONS', 4096),
  };
  if (limits.headersTimeoutMs < 1) e.problem('DEVHOOKS_HTTP_HEADERS_TIMEOUT must be more than 0');
  if (limits.requestTimeoutMs < limits.headersTimeoutMs) {
    e.problem('DEVHOOKS_HTTP_REQUEST_TIMEOUT must be at least DEVHOOKS_HTTP_HEADERS_TIMEOUT');
  }
  if (limits.maxConnections < 1) e.problem('DEVHOOKS_HTTP_MAX_CONNECTIONS must be at least 1');
  return limits;
}
