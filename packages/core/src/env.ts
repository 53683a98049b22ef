/**
 * Reading configuration from the environment: each app declares the variables it reads as an
 * ajv schema over their raw string values; this checks them all at once and reports every problem.
 */
import type { ValidateFunction } from 'ajv';
import { parseDuration } from './durations';
import { parseEncryptionKey, type SecretBoxKeys } from './secret-box';
import { DEFAULT_RETRY_SCHEDULE, parseRetrySchedule } from './retry-policy';
import { ajv } from './schemas';
import { ajvDetails } from './validation';

export const DURATION_PATTERN = '^\\s*\\d+(\\.\\d+)?\\s*(ms|s|m|h|d)?\\s*$';
export const BOOLEAN_PATTERN = '^(true|false|1|0|yes|no)$';
export const INTEGER_PATTERN = '^\\d+$';

export type EnvSchema = { type: 'object'; properties: Record<string, object>; required?: string[] };

const compiled = new WeakMap<EnvSchema, ValidateFunction>();

/** The declared variables' raw values, or throws one error naming every bad one. */
export function readEnv(
  schema: EnvSchema,
  env: Record<string, string | undefined>,
): Record<string, string | undefined> {
  const raw: Record<string, string> = {};
  for (const name of Object.keys(schema.properties)) {
    const v = env[name];
    if (v !== undefined && v !== '') raw[name] = v;
  }
  let validate = compiled.get(schema);
  if (!validate) compiled.set(schema, (validate = ajv.compile(schema)));
  if (!validate(raw)) {
    const problems = ajvDetails(validate.errors).map((d) => `${d.path.slice(1) || 'environment'} ${d.message}`);
    throw new Error(`invalid configuration:\n  ${problems.join('\n  ')}`);
  }
  return raw;
}

export function envBoolean(v: string | undefined, dflt: boolean): boolean {
  if (v === undefined) return dflt;
  return v === 'true' || v === '1' || v === 'yes';
}

/** Schema fragments for the raw (string) values of variables. */
export const ENV_VALUE = {
  duration: { type: 'string', pattern: DURATION_PATTERN },
  integer: { type: 'string', pattern: INTEGER_PATTERN },
  positiveInteger: { type: 'string', pattern: '^[1-9]\\d*$' },
  boolean: { type: 'string', pattern: BOOLEAN_PATTERN },
  text: { type: 'string', minLength: 1 },
} as const;

const duration = ENV_VALUE.duration;
/** Base64 (or base64url) of 32 bytes: `openssl rand -base64 32`. */
const encryptionKey = { type: 'string', pattern: '^\\s*[A-Za-z0-9+/_-]{43}=?\\s*$' };

/** The variables of docs/contract.md §1 that every process reads, as schema properties. */
export const SHARED_ENV_PROPERTIES: Record<string, object> = {
  // one URL, or a comma-separated list of them (Redis Cluster seed nodes)
  DEVHOOKS_REDIS_URL: { type: 'string', pattern: '^\\s*rediss?://[^,\\s]+(\\s*,\\s*rediss?://[^,\\s]+)*\\s*$' },
  DEVHOOKS_REDIS_CLUSTER: { type: 'string', pattern: BOOLEAN_PATTERN },
  DEVHOOKS_SHARDS: { type: 'string', pattern: '^([1-9]|[1-9][0-9]|[1-9][0-9][0-9]|10[0-2][0-4])$' },
  DEVHOOKS_PREFIX: { type: 'string', pattern: '^[A-Za-z0-9._-]{1,64}$' },
  DEVHOOKS_ALLOW_PRIVATE_TARGETS: { type: 'string', pattern: BOOLEAN_PATTERN },
  DEVHOOKS_RETRY_SCHEDULE: { type: 'string', minLength: 1 },
  DEVHOOKS_DELIVERY_TIMEOUT: duration,
  DEVHOOKS_BATCH_WINDOW: duration,
  DEVHOOKS_LOG_TTL: duration,
  DEVHOOKS_LOG_MAX_PER_WEBHOOK: { type: 'string', pattern: INTEGER_PATTERN },
  DEVHOOKS_LOG_LEVEL: { type: 'string', enum: ['error', 'warn', 'info', 'debug'] },
  DEVHOOKS_ENCRYPTION_KEY: encryptionKey,
  DEVHOOKS_ENCRYPTION_KEY_OLD: encryptionKey,
  // the series `devhooks_endpoint_in_flight` keeps: the busiest origins, the rest as origin="other"
  DEVHOOKS_METRICS_TOP_ORIGINS: { type: 'string', pattern: '^[1-9][0-9]{0,3}$' },
  // OpenTelemetry tracing (off unless the endpoint is set): the OTLP/HTTP collector's base URL
  OTEL_EXPORTER_OTLP_ENDPOINT: { type: 'string', pattern: '^\\s*https?://\\S+\\s*$' },
  OTEL_SERVICE_NAME: { type: 'string', minLength: 1, maxLength: 200 },
};

export interface SharedSettings {
  /** One URL, or a comma-separated list (cluster seed nodes). */
  redisUrl: string;
  /** Redis Cluster for every connection (docs/contract.md §7). */
  redisCluster: boolean;
  /** Event-stream shards, each under its own hash tag. */
  shards: number;
  prefix: string;
  allowPrivateTargets: boolean;
  /** Delay before each attempt (ms); its length is the number of attempts. */
  schedule: number[];
  deliveryTimeoutMs: number;
  batchWindowMs: number;
  logTtlMs: number;
  logMaxPerWebhook: number;
  logLevel: string;
  /** Webhook secrets and header values at rest (DEVHOOKS_ENCRYPTION_KEY, DEVHOOKS_ENCRYPTION_KEY_OLD). */
  encryption: SecretBoxKeys;
  /** OpenTelemetry tracing (OTEL_EXPORTER_OTLP_ENDPOINT, OTEL_SERVICE_NAME): off without an endpoint. */
  tracing?: { endpoint?: string; serviceName?: string };
  /** Receiver origins with a series of their own in `devhooks_endpoint_in_flight` (default 20). */
  metricsTopOrigins?: number;
}

/** DEVHOOKS_METRICS_TOP_ORIGINS when unset. */
export const DEFAULT_METRICS_TOP_ORIGINS = 20;

/** DEVHOOKS_SHARDS when Redis Cluster is on and it is unset (standalone: 1). */
export const DEFAULT_CLUSTER_SHARDS = 16;

/** The shared settings, with the defaults of docs/contract.md §1, from values `readEnv` has checked. */
export function sharedSettings(e: Record<string, string | undefined>): SharedSettings {
  return {
    redisUrl: (e.DEVHOOKS_REDIS_URL ?? 'redis://127.0.0.1:6379').replace(/\s+/g, ''),
    redisCluster: envBoolean(e.DEVHOOKS_REDIS_CLUSTER, false),
    shards: e.DEVHOOKS_SHARDS
      ? Number(e.DEVHOOKS_SHARDS)
      : envBoolean(e.DEVHOOKS_REDIS_CLUSTER, false)
        ? DEFAULT_CLUSTER_SHARDS
        : 1,
    prefix: e.DEVHOOKS_PREFIX ?? 'devhooks',
    allowPrivateTargets: envBoolean(e.DEVHOOKS_ALLOW_PRIVATE_TARGETS, false),
    schedule: parseRetrySchedule(e.DEVHOOKS_RETRY_SCHEDULE ?? DEFAULT_RETRY_SCHEDULE),
    deliveryTimeoutMs: parseDuration(e.DEVHOOKS_DELIVERY_TIMEOUT ?? '15s', 'DEVHOOKS_DELIVERY_TIMEOUT'),
    batchWindowMs: parseDuration(e.DEVHOOKS_BATCH_WINDOW ?? '1s', 'DEVHOOKS_BATCH_WINDOW'),
    logTtlMs: parseDuration(e.DEVHOOKS_LOG_TTL ?? '7d', 'DEVHOOKS_LOG_TTL'),
    logMaxPerWebhook: Number(e.DEVHOOKS_LOG_MAX_PER_WEBHOOK ?? 10_000),
    logLevel: e.DEVHOOKS_LOG_LEVEL ?? 'info',
    encryption: {
      key: e.DEVHOOKS_ENCRYPTION_KEY
        ? parseEncryptionKey(e.DEVHOOKS_ENCRYPTION_KEY, 'DEVHOOKS_ENCRYPTION_KEY')
        : undefined,
      oldKey: e.DEVHOOKS_ENCRYPTION_KEY_OLD
        ? parseEncryptionKey(e.DEVHOOKS_ENCRYPTION_KEY_OLD, 'DEVHOOKS_ENCRYPTION_KEY_OLD')
        : undefined,
    },
    tracing: { endpoint: e.OTEL_EXPORTER_OTLP_ENDPOINT?.trim(), serviceName: e.OTEL_SERVICE_NAME },
    metricsTopOrigins: Number(e.DEVHOOKS_METRICS_TOP_ORIGINS ?? DEFAULT_METRICS_TOP_ORIGINS),
  };
}

/** An app's environment schema: the shared variables of docs/contract.md §1 and its own. */
export function appEnvSchema(own: Record<string, object>, options: { required?: string[] } = {}): EnvSchema {
  const schema: EnvSchema = { type: 'object', properties: { ...SHARED_ENV_PROPERTIES, ...own } };
  if (options.required) schema.required = options.required;
  return schema;
}

/** What an app's config builder gets: the checked values, the shared settings and typed readers. */
export interface EnvReading {
  values: Record<string, string | undefined>;
  shared: SharedSettings;
  /** A duration variable in ms, or the default (a duration string) when unset. */
  ms(name: string, dflt: string): number;
  /** An integer variable, or the default when unset. */
  int(name: string, dflt: number): number;
  /** A problem with the values as a whole (one variable against another); reported with the rest. */
  problem(message: string): void;
}

/**
 * Reads an app's configuration: checks `env` against `schema`, builds the shared settings, runs the
 * app's `build`, and throws one error naming every problem found (schema and cross-variable alike).
 */
export function loadConfig<T>(
  schema: EnvSchema,
  env: Record<string, string | undefined>,
  build: (env: EnvReading) => T,
): T {
  const values = readEnv(schema, env);
  const problems: string[] = [];
  const config = build({
    values,
    shared: sharedSettings(values),
    ms: (name, dflt) => parseDuration(values[name] ?? dflt, name),
    int: (name, dflt) => (values[name] === undefined ? dflt : Number(values[name])),
    problem: (message) => problems.push(message),
  });
  if (problems.length) throw new Error(`invalid configuration:\n  ${problems.join('\n  ')}`);
  return config;
}
