/** A worker in-process over the test Redis (integration tests of the engine). */
import { createRegistry, silentLogger } from '@devhooks/engine';
import { loadWorkerConfig, startWorker, type WorkerHost } from '../../apps/worker/src';
import { testRedisUrl } from './redis';

export async function startTestWorker(prefix: string, env: Record<string, string> = {}): Promise<WorkerHost> {
  const config = loadWorkerConfig({
    DEVHOOKS_REDIS_URL: testRedisUrl(),
    DEVHOOKS_PREFIX: prefix,
    DEVHOOKS_ALLOW_PRIVATE_TARGETS: 'true',
    DEVHOOKS_BATCH_WINDOW: '100ms',
    DEVHOOKS_DELIVERY_TIMEOUT: '2s',
    ...env,
  });
  return startWorker(config, silentLogger(), createRegistry('worker-test'));
}
