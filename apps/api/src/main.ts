/** `npm run start:api`: the API process. */
import { createRegistry, runProcess } from '@devhooks/engine';
import { loadApiConfig } from './config';
import { createApi } from './server';

/** Closing the API waits for requests in flight, then Redis; past this the process exits anyway. */
const API_SHUTDOWN_MS = 10_000;

void runProcess({
  name: 'devhooks-api',
  loadConfig: () => loadApiConfig(),
  async start(config, logger) {
    const api = createApi(config, logger, createRegistry('api'));
    const port = await api.listen();
    logger.info('api listening', { host: config.host, port, prefix: config.prefix });
    return { redis: api.deps.redis, stop: () => api.close(), shutdownMs: API_SHUTDOWN_MS };
  },
});
