/** `npm run start:worker`: one worker process. Run as many as you like, on any hosts. */
import { createRegistry, runProcess } from '@devhooks/engine';
import { loadWorkerConfig } from './config';
import { startWorker } from './host';

void runProcess({
  name: 'devhooks-worker',
  loadConfig: () => loadWorkerConfig(),
  async start(config, logger) {
    const host = await startWorker(config, logger, createRegistry('worker'));
    return {
      redis: host.runtime.context.redis,
      stop: async () => void (await host.stop()),
      // the drain has its own deadline (DEVHOOKS_SHUTDOWN_TIMEOUT); this one only backs it up
      shutdownMs: config.shutdownMs + 5_000,
    };
  },
});
