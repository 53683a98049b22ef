/**
 * Fixtures for the engine's unit tests: webhooks, targets and deliveries as the engine builds them,
 * and an engine context over a real Redis (real stores, a real BullMQ queue, a fresh metrics
 * registry, a silent logger).
 */
import { Writable } from 'node:stream';
import type { Redis } from 'ioredis';
import winston from 'winston';
import { Registry } from 'prom-client';
import { generateStandardSecret, type DeliveryTopic, type Keys, type StoredEvent, type Webhook } from '@devhooks/core';
import {
  AttemptLog,
  createStores,
  makeDelivery,
  OriginLimiter,
  Sender,
  silentLogger,
  toTarget,
  WebhookDirectory,
  workerMetrics,
  type Delivery,
  type EngineContext,
  type Logger,
  type OriginLimiterOptions,
  type Target,
} from '@devhooks/engine';

export function testWebhook(over: Partial<Webhook> = {}): Webhook {
  const now = new Date().toISOString();
  return {
    id: `wh_${Math.random().toString(36).slice(2, 12)}`,
    org_id: 'org_test',
    name: 'test hook',
    url: 'http://127.0.0.1:9/hook',
    topics: ['deviceauth'],
    headers: {},
    signing: 'standard',
    enabled: true,
    single_event_per_message: false,
    created_at: now,
    updated_at: now,
    ...over,
  };
}

/** A standard-signed webhook with a fresh secret. */
export function signedWebhook(over: Partial<Webhook> = {}): Webhook {
  return testWebhook({ secret: generateStandardSecret(), ...over });
}

let entrySeq = 0;
/** A stream entry id of now (ms-seq), unique within the test file. */
export function entryId(ms = Date.now()): string {
  return `${ms}-${++entrySeq}`;
}

export function testEvent(over: Partial<StoredEvent> = {}): StoredEvent {
  return {
    id: `evt-${++entrySeq}`,
    idGiven: true,
    org: 'org_test',
    type: 'device-status-changed',
    topic: 'deviceauth',
    time: '2024-01-01T00:00:00Z',
    data: JSON.stringify({ id: 'dev-1', status: 'accepted' }),
    ...over,
  };
}

export interface TestDeliveryOptions {
  topic?: DeliveryTopic;
  shard?: number;
  event?: Partial<StoredEvent>;
}

/** A one-event delivery to `target` (built as fan-out builds it). */
export function testDelivery(target: Target | Webhook, o: TestDeliveryOptions = {}): Delivery {
  const t = 'baseHeaders' in target ? target : toTarget(target);
  const topic = o.topic ?? 'deviceauth';
  const event = testEvent({ org: t.org_id, topic, ...(topic === 'ping' ? { type: 'ping' } : {}), ...o.event });
  return makeDelivery(t, topic, [event], [entryId()], { shard: o.shard ?? 0 });
}

export interface TestEngine {
  ctx: EngineContext;
  registry: Registry;
  close(): Promise<void>;
}

export interface TestEngineOptions {
  schedule?: number[];
  origins?: Partial<OriginLimiterOptions>;
  disableAfterFailingMs?: number;
}

/** An engine context over `redis` and `keys`; `close` stops its queue and sender (not `redis`). */
export function testEngine(redis: Redis, keys: Keys, o: TestEngineOptions = {}): TestEngine {
  const registry = new Registry();
  const logger = silentLogger();
  const { webhooks, deliveries, queues } = createStores(
    redis,
    keys,
    { shards: 2, logTtlMs: 86_400_000, logMaxPerWebhook: 10_000 },
    logger,
  );
  const ctx: EngineContext = {
    redis,
    keys,
    shards: 2,
    logger,
    attemptLog: new AttemptLog(logger),
    directory: new WebhookDirectory(redis, keys),
    webhooks,
    deliveries,
    sender: new Sender({ timeoutMs: 5_000, allowPrivateTargets: true, connectionsPerOrigin: 4 }),
    origins: new OriginLimiter({
      concurrency: 4,
      maxWaitMs: 5_000,
      breakerThreshold: 5,
      breakerCooldownMs: 60_000,
      breakerMaxCooldownMs: 300_000,
      ...o.origins,
    }),
    queues,
    metrics: workerMetrics(registry),
    schedule: o.schedule ?? [0, 1_000, 60_000],
    batchWindowMs: 50,
    disableAfterFailingMs: o.disableAfterFailingMs ?? 5 * 86_400_000,
  };
  return {
    ctx,
    registry,
    async close() {
      await ctx.sender.destroy().catch(() => undefined);
      await queues.close();
    },
  };
}

/** The value of a counter (or one of its label sets) in a registry. */
export async function counterValue(
  registry: Registry,
  name: string,
  labels: Record<string, string> = {},
): Promise<number> {
  const metric = registry.getSingleMetric(name);
  if (!metric) return 0;
  const { values } = await metric.get();
  const hit = values.find((v) => Object.entries(labels).every(([k, val]) => v.labels[k] === val));
  return hit?.value ?? 0;
}

export interface CapturedLogs {
  logger: Logger;
  /** Every line logged, parsed. */
  lines: Array<Record<string, unknown> & { level: string; message: string }>;
}

/** A JSON logger at `level` whose lines are kept in memory (a winston stream transport). */
export function capturedLogger(level = 'info'): CapturedLogs {
  const lines: CapturedLogs['lines'] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString('utf8').split('\n')) if (line.trim()) lines.push(JSON.parse(line));
      done();
    },
  });
  const logger = winston.createLogger({
    level,
    format: winston.format.json(),
    transports: [new winston.transports.Stream({ stream })],
  });
  return { logger, lines };
}
