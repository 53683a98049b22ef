/** `npm run start:api`: the API process. */
import { createLogger, createRegistry, evictionPolicy } from '@devhooks/engine';
import { loadApiConfig } from './config';
import { createApi } from './server';

async function main(): Promise<void> {
  let config;
  try {
    config = loadApiConfig();
  } catch (err) {
    process.stderr.write(`devhooks api: ${(err as Error).message}\n`);
    process.exit(2);
  }
  const logger = createLogger('devhooks-api', config.logLevel);
  const api = createApi(config, logger, createRegistry('api'));
  const policy = await evictionPolicy(api.deps.redis);
  if (policy && policy !== 'noeviction') {
    logger.warn(
      `Redis maxmemory-policy is ${policy}: under memory pressure Redis may evict queued events. Set maxmemory-policy noeviction.`,
      { policy },
    );
  }
  const port = await api.listen();
  logger.info('api listening', { host: config.host, port, prefix: config.prefix });
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info('api stopping', { signal });
    const force = setTimeout(() => process.exit(1), 10_000);
    force.unref();
    await api.close();
    process.exit(0);
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));
}

void main();
