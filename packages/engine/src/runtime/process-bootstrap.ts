/**
 * One process bootstrap for every devhooks process (`npm run start:api`, `npm run start:worker`,
 * `npm start`): the configuration checked before anything starts (exit 2 with every problem), one
 * JSON logger, OpenTelemetry tracing when configured (ops/tracing.ts), the Redis eviction-policy warning, SIGTERM / SIGINT with a shutdown deadline (exit 1
 * when it passes), and exit 1 on a failed start.
 */
import type { Redis } from 'ioredis';
import { createLogger, type Logger } from '../ops/logger';
import { startTracing, type TracingConfig } from '../ops/tracing';
import { evictionPolicy, evictionWarning } from '../redis/connection';

export interface Running {
  /** A connection to check the eviction policy on. */
  redis: Redis;
  /** Orderly stop; resolved when done. */
  stop(): Promise<void>;
  /** How long `stop` may take before the process exits anyway. */
  shutdownMs: number;
}

/** What the bootstrap reads of a process's configuration. */
export interface ProcessConfig {
  logLevel: string;
  tracing?: TracingConfig;
}

export interface ProcessSpec<C extends ProcessConfig> {
  /** `devhooks-api`, `devhooks-worker`, `devhooks`. */
  name: string;
  /** Reads and checks the configuration; throws an Error naming every problem. */
  loadConfig(): C;
  start(config: C, logger: Logger): Promise<Running>;
  /** Says something to a person at the terminal (npm start); default: the log. */
  say?(line: string): void;
}

export async function runProcess<C extends ProcessConfig>(spec: ProcessSpec<C>): Promise<void> {
  let config: C;
  try {
    config = spec.loadConfig();
  } catch (err) {
    process.stderr.write(`${spec.name}: ${(err as Error).message}\n`);
    process.exit(2);
  }
  const logger = createLogger(spec.name, config.logLevel);
  const stopTracing = startTracing(config.tracing ?? {}, { processName: spec.name });
  if (config.tracing?.endpoint) logger.info('tracing on', { endpoint: config.tracing.endpoint });
  // signals are taken from the first moment: one that comes while starting stops once started
  let started: Promise<Running | undefined> = Promise.resolve(undefined);
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    const running = await started.catch(() => undefined);
    if (!running) process.exit(0);
    logger.info('stopping', { signal, deadline_ms: running.shutdownMs });
    spec.say?.(`${signal}: stopping (draining deliveries in flight)…`);
    const force = setTimeout(() => {
      logger.error('shutdown deadline passed; exiting with work left to other workers');
      process.exit(1);
    }, running.shutdownMs);
    force.unref();
    try {
      await running.stop();
      // the last spans out before exiting (a collector that does not answer cannot hold the exit up)
      await Promise.race([stopTracing().catch(() => undefined), new Promise((r) => setTimeout(r, 2_000).unref())]);
    } catch (err) {
      logger.error('stop failed', { error: (err as Error).message });
      process.exit(1);
    }
    spec.say?.('stopped');
    process.exit(0);
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));

  started = spec.start(config, logger);
  let running: Running;
  try {
    running = (await started)!;
  } catch (err) {
    logger.error('start failed', { error: (err as Error).stack ?? String(err) });
    process.exit(1);
  }
  // a warning, not a condition: never holds the start up
  void evictionPolicy(running.redis).then((policy) => {
    if (!policy || policy === 'noeviction') return;
    const words = evictionWarning(policy);
    if (spec.say) spec.say(`WARNING: ${words}`);
    else logger.warn(words, { policy });
  });
}
