/** Prometheus metrics (prom-client). Each process registers into its own registry. */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { DEFAULT_METRICS_TOP_ORIGINS, type Keys, type ShardKeys } from '@devhooks/core';
import { InFlightByOrigin } from './origin-in-flight';
import { heldGauges } from './held-gauges';
import { redisGauges } from './redis-gauges';

export function createRegistry(service: string): Registry {
  const registry = new Registry();
  registry.setDefaultLabels({ service });
  collectDefaultMetrics({ register: registry, prefix: 'devhooks_' });
  return registry;
}

export interface WorkerMetrics {
  attempts: Counter<'outcome'>;
  /** The attempts counter's child for one outcome (cached: no label hashing on the hot path). */
  attemptsBy(outcome: string): { inc(n?: number): void };
  latency: Histogram;
  attemptDuration: Histogram;
  /** Requests in flight per origin; exported for the busiest origins only (ops/origin-in-flight.ts). */
  inFlight: InFlightByOrigin;
  inMemory: Gauge;
  webhooksDisabled: Counter<'reason'>;
  /** Deliveries parked behind an open breaker, and parked ones woken when a probe succeeded. */
  parked: Counter<'event'>;
}

const perRegistry = new WeakMap<Registry, WorkerMetrics>();

export function workerMetrics(registry: Registry): WorkerMetrics {
  const existing = perRegistry.get(registry);
  if (existing) return existing;
  const attempts = new Counter({
    name: 'devhooks_delivery_attempts_total',
    help: 'Delivery attempts by outcome (success, retry, fail, fail_disable)',
    labelNames: ['outcome'] as const,
    registers: [registry],
  });
  const children = new Map<string, { inc(n?: number): void }>();
  const inFlight = new InFlightByOrigin(DEFAULT_METRICS_TOP_ORIGINS);
  inFlight.gauge(registry);
  const m: WorkerMetrics = {
    attempts,
    attemptsBy(outcome) {
      let c = children.get(outcome);
      if (!c) children.set(outcome, (c = attempts.labels(outcome)));
      return c;
    },
    latency: new Histogram({
      name: 'devhooks_delivery_latency_seconds',
      help: 'From event accepted to delivered (successful attempts)',
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 1800, 7200, 36000, 86400],
      registers: [registry],
    }),
    attemptDuration: new Histogram({
      name: 'devhooks_attempt_duration_seconds',
      help: 'One HTTP attempt, connect to last byte',
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 15, 30],
      registers: [registry],
    }),
    inFlight,
    inMemory: new Gauge({
      name: 'devhooks_worker_deliveries_in_progress',
      help: 'Deliveries this worker holds (in flight, waiting for a slot or for their batch)',
      registers: [registry],
    }),
    webhooksDisabled: new Counter({
      name: 'devhooks_webhooks_disabled_total',
      help: 'Webhooks the service disabled, by reason',
      labelNames: ['reason'],
      registers: [registry],
    }),
    parked: new Counter({
      name: 'devhooks_parked_deliveries_total',
      help: 'Deliveries an open circuit breaker turned away and parked (event=parked), and parked ones woken when a probe to their receiver succeeded (event=woken)',
      labelNames: ['event'] as const,
      registers: [registry],
    }),
  };
  perRegistry.set(registry, m);
  return m;
}

/** Gauges read from Redis at scrape time: the same numbers from any process. */
export function queueGauges(registry: Registry, redis: Redis, keys: Keys, queues: Queue[]): void {
  const shards = queues.length;
  // one set per registry (API and worker may share one in `npm start`)
  if (registry.getSingleMetric('devhooks_backlog_events')) return;
  /** A gauge with one value per event-stream shard, labelled with the stream's key. */
  const perStream = (name: string, help: string, read: (k: ShardKeys) => Promise<number>) =>
    new Gauge({
      name,
      help,
      labelNames: ['stream'],
      registers: [registry],
      async collect() {
        for (let s = 0; s < shards; s++) {
          const k = keys.shard(s);
          this.set({ stream: k.stream }, await read(k));
        }
      },
    });
  redisGauges(registry, redis, keys, shards);
  heldGauges(registry, redis, keys, shards);
  perStream('devhooks_backlog_events', 'Events accepted and not yet fanned out, per stream', async (k) =>
    Number((await redis.get(k.backlog).catch(() => null)) ?? 0),
  );
  perStream(
    'devhooks_stream_entries',
    'Entries kept in the event stream (backlog plus retention for the delivery log)',
    (k) => redis.xlen(k.stream).catch(() => 0),
  );
  new Gauge({
    name: 'devhooks_retries_pending',
    help: 'Deliveries waiting for a retry (BullMQ delayed and waiting jobs)',
    registers: [registry],
    async collect() {
      let n = 0;
      for (const queue of queues) {
        const c = await queue
          .getJobCounts('delayed', 'waiting', 'active', 'prioritized')
          .catch(() => ({}) as Record<string, number>);
        n += Object.values(c).reduce((a, b) => a + (b ?? 0), 0);
      }
      this.set(n);
    },
  });
  new Gauge({
    name: 'devhooks_deliveries_failed',
    help: 'Deliveries failed for good and kept for a manual retry (BullMQ failed jobs)',
    registers: [registry],
    async collect() {
      let n = 0;
      for (const queue of queues) n += await queue.getFailedCount().catch(() => 0);
      this.set(n);
    },
  });
}
