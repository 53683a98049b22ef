/**
 * `npm start` (scripts/start.mjs) on a Redis Cluster: DEVHOOKS_REDIS_URL lists the seed nodes
 * (comma-separated, as the README shows); the service comes up on the cluster and stops cleanly.
 */
import { clusterBackend } from '../support/backend';
import { freePort, startNpmStart } from '../support/processes';
import { testPrefix } from '../support/redis';

jest.setTimeout(120_000);
const prefix = testPrefix(__filename);
const backend = clusterBackend();
beforeAll(() => backend.start());
afterAll(() => backend.stop(prefix));

it('runs on the cluster given its seed nodes, and stops on SIGINT', async () => {
  const env = backend.env();
  expect(env.DEVHOOKS_REDIS_URL).toContain(','); // several seeds
  const port = await freePort();
  const proc = await startNpmStart({
    ...env,
    DEVHOOKS_PREFIX: prefix,
    DEVHOOKS_PORT: String(port),
    DEVHOOKS_ADMIN_TOKEN: 'cluster-start-token',
  });
  try {
    expect(proc.output).not.toMatch(/started redis-server/);
    expect((await fetch(`http://127.0.0.1:${port}/readyz`)).status).toBe(200);
    const { code } = await proc.kill('SIGINT');
    expect(code).toBe(0);
  } finally {
    await proc.kill('SIGKILL');
  }
});
