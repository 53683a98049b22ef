/**
 * Chooses the Redis all test files share, once per run:
 * REDIS_URL or DEVHOOKS_REDIS_URL when set, else 127.0.0.1:6379 when it answers, else a Redis started
 * with testcontainers (machines with a Docker engine). The choice is passed to test workers as
 * DEVHOOKS_TEST_REDIS_URL.
 */
import net from 'node:net';

function answers(host: string, port: number, timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host, port });
    const done = (ok: boolean) => {
      s.destroy();
      resolve(ok);
    };
    s.setTimeout(timeoutMs, () => done(false));
    s.once('error', () => done(false));
    s.once('connect', () => s.write('PING\r\n'));
    s.once('data', (d) => done(d.toString().startsWith('+PONG') || d.toString().startsWith('-NOAUTH')));
  });
}

export default async function globalSetup(): Promise<void> {
  const given = process.env.REDIS_URL || process.env.DEVHOOKS_REDIS_URL;
  if (given) {
    process.env.DEVHOOKS_TEST_REDIS_URL = given;
    return;
  }
  if (await answers('127.0.0.1', 6379)) {
    process.env.DEVHOOKS_TEST_REDIS_URL = 'redis://127.0.0.1:6379';
    return;
  }
  const { GenericContainer, Wait } = await import('testcontainers');
  const container = await new GenericContainer('redis:7-alpine')
    .withCommand(['redis-server', '--save', '', '--appendonly', 'no', '--maxmemory-policy', 'noeviction'])
    .withExposedPorts(6379)
    .withWaitStrategy(Wait.forLogMessage('Ready to accept connections'))
    .start();
  (globalThis as { __redisContainer?: unknown }).__redisContainer = container;
  process.env.DEVHOOKS_TEST_REDIS_URL = `redis://${container.getHost()}:${container.getMappedPort(6379)}`;
}
