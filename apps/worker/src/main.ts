/** `npm run start:worker`: one worker process. Run as many as you like, on any hosts. */
import { createLogger, createRegistry } from '@devhooks/engine';
import { loadWorkerConfig } from './config';
import { startWorker } from './host';

async function main(): Promise<void> {
  let config;
  try {
    config = loadWorkerConfig();
  } catch (err) {
    process.stderr.write(`devhooks worker: ${(err as Error).message}\n`);
    process.exit(2);
  }
  const logger = createLogger('devhooks-worker', config.logLevel);
  const host = await startWorker(config, logger, createRegistry('worker'));
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info('worker draining', { signal, deadline_ms: config.shutdownMs });
    const force = setTimeout(() => {
      logger.error('drain deadline passed; exiting with work left to other workers');
      process.exit(1);
    }, config.shutdownMs + 5_000);
    force.unref();
    await host.stop();
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
}

main().catch((err) => {
  process.stderr.write(`devhooks worker: ${(err as Error).stack ?? err}\n`);
  process.exit(1);
});
