/**
 * `npm start` (scripts/start.mjs): API and worker in one process, the root token generated and
 * printed when none is set, and Ctrl-C (SIGINT) stopping both cleanly with exit code 0.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Redis from 'ioredis';
import { Client } from '../support/api';
import { baseEnv, freePort, spawnNode, startNpmStart } from '../support/processes';
import { Receiver } from '../support/receiver';
import { cleanPrefix, testPrefix } from '../support/redis';

jest.setTimeout(60_000);
const prefix = testPrefix(__filename);
afterAll(() => cleanPrefix(prefix));

it('runs the service, prints a generated root token once, and stops on SIGINT', async () => {
  const port = await freePort();
  const rx = await Receiver.start();
  const proc = await startNpmStart({
    DEVHOOKS_PREFIX: prefix,
    DEVHOOKS_PORT: String(port),
    DEVHOOKS_ALLOW_PRIVATE_TARGETS: 'true',
  });
  try {
    const token = /root token \(shown once\): (\S+)/.exec(proc.output)?.[1];
    expect(token).toMatch(/^dhroot_/);
    expect(proc.output.split(token!).length).toBe(2); // printed exactly once
    // no DEVHOOKS_ENCRYPTION_KEY: said once that secrets are stored in plain text
    expect(proc.output.match(/DEVHOOKS_ENCRYPTION_KEY is not set/g)).toHaveLength(1);
    const client = new Client(`http://127.0.0.1:${port}`, token);
    expect((await fetch(`http://127.0.0.1:${port}/readyz`)).status).toBe(200);
    const org = await client.org('start', 'admin');
    await client.call('POST', '/v1/webhooks', {
      token: org.key,
      body: { name: 'rx', url: rx.url(), topics: ['deviceauth'] },
    });
    await client.call('POST', '/v1/events', {
      token: org.key,
      body: { id: 'via-npm-start', type: 'device-decommissioned', data: { id: 'd' } },
    });
    const [req] = await rx.waitFor(1);
    expect(req.headers['webhook-id']).toBe('via-npm-start');
    const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    expect(metrics).toMatch(/devhooks_delivery_attempts_total\{outcome="success"/);
    // the console's files are found from dist too
    const page = await fetch(`http://127.0.0.1:${port}/console`);
    expect([page.status, await page.text()]).toEqual([200, expect.stringContaining('/console/app.js')]);
    expect((await fetch(`http://127.0.0.1:${port}/console/app.js`)).status).toBe(200);
    const { code } = await proc.kill('SIGINT');
    expect(code).toBe(0);
    expect(proc.output).toMatch(/stopped/);
  } finally {
    await proc.kill('SIGKILL');
    await rx.close();
  }
});

it('in cluster mode with no seed node answering: says so and exits 1, starting no server of its own', async () => {
  const seeds = [await freePort(), await freePort()].map((p) => `redis://127.0.0.1:${p}`).join(',');
  const proc = spawnNode('scripts/start.mjs', {
    PATH: process.env.PATH ?? '',
    DEVHOOKS_REDIS_CLUSTER: 'true',
    DEVHOOKS_REDIS_URL: seeds,
  });
  const { code } = await proc.exited;
  expect(code).toBe(1);
  expect(proc.output).toMatch(/no seed node of the Redis Cluster answers/);
  expect(proc.output).not.toMatch(/started redis-server|TypeError/);
});

it('npm run reencrypt (scripts/reencrypt.mjs) runs and says what it did', async () => {
  const proc = spawnNode(
    'scripts/reencrypt.mjs',
    baseEnv(prefix, { DEVHOOKS_ENCRYPTION_KEY: Buffer.alloc(32, 9).toString('base64') }),
  );
  const { code } = await proc.exited;
  expect(proc.output).toMatch(/devhooks reencrypt: \d+ webhooks, \d+ rewritten under key/);
  expect(code).toBe(0);
});

const hasRedisServer = spawnSync('sh', ['-c', 'command -v redis-server']).status === 0;

(hasRedisServer ? it : it.skip)(
  'starts a redis-server of its own (AOF on) when none answers, and stops it on exit',
  async () => {
    const [port, redisPort] = [await freePort(), await freePort()];
    const dir = mkdtempSync(path.join(os.tmpdir(), 'devhooks-data-'));
    const proc = await startNpmStart({
      DEVHOOKS_PREFIX: prefix,
      DEVHOOKS_PORT: String(port),
      DEVHOOKS_ADMIN_TOKEN: 'own-redis-token',
      DEVHOOKS_REDIS_URL: `redis://127.0.0.1:${redisPort}`,
      DEVHOOKS_DATA_DIR: dir,
      DEVHOOKS_ENCRYPTION_KEY: Buffer.alloc(32, 7).toString('base64'),
    });
    const own = new Redis(redisPort, '127.0.0.1', { maxRetriesPerRequest: 1, lazyConnect: true });
    try {
      expect(proc.output).toMatch(new RegExp(`started redis-server on 127\\.0\\.0\\.1:${redisPort}`));
      expect(proc.output).not.toMatch(/DEVHOOKS_ENCRYPTION_KEY is not set/);
      expect((await fetch(`http://127.0.0.1:${port}/readyz`)).status).toBe(200);
      await own.connect();
      expect(await own.config('GET', 'appendonly')).toEqual(['appendonly', 'yes']);
      expect(await own.config('GET', 'maxmemory-policy')).toEqual(['maxmemory-policy', 'noeviction']);
      own.disconnect();
      const { code } = await proc.kill('SIGINT');
      expect(code).toBe(0);
      expect(readdirSync(dir).length).toBeGreaterThan(0); // its AOF lives in the data directory
      const after = new Redis(redisPort, '127.0.0.1', {
        maxRetriesPerRequest: 0,
        lazyConnect: true,
        retryStrategy: () => null,
      });
      await expect(after.connect()).rejects.toThrow();
      after.disconnect();
    } finally {
      own.disconnect();
      await proc.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    }
  },
);
