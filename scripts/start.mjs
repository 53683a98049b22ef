#!/usr/bin/env node
/**
 * `npm start`: the API and one worker in one process, in the foreground; Ctrl-C stops both cleanly.
 *
 * - Redis: DEVHOOKS_REDIS_URL (default redis://127.0.0.1:6379). If nothing answers there, the URL
 *   points at this machine and a `redis-server` binary is on PATH, starts one of its own (data
 *   under ./data, or DEVHOOKS_DATA_DIR; AOF on, noeviction) and says so; it is stopped again on exit.
 *   With DEVHOOKS_REDIS_CLUSTER=true the URL lists the cluster's seed nodes: one must answer.
 * - DEVHOOKS_ADMIN_TOKEN: when unset, one is generated and printed once.
 * - DEVHOOKS_ENCRYPTION_KEY: when unset, says once that webhook secrets are stored in plain text.
 */
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const say = (line) => process.stdout.write(`devhooks: ${line}\n`);

function answers(host, port, timeoutMs = 1000) {
  return new Promise((resolve) => {
    const s = net.connect({ host, port });
    const done = (ok) => {
      s.destroy();
      resolve(ok);
    };
    s.setTimeout(timeoutMs, () => done(false));
    s.once('error', () => done(false));
    s.once('connect', () => s.write('PING\r\n'));
    s.once('data', (d) => done(/^(\+PONG|-NOAUTH)/.test(d.toString())));
  });
}

async function ensureRedis(url) {
  const u = new URL(url);
  const host = u.hostname || '127.0.0.1';
  const port = Number(u.port || 6379);
  if (await answers(host, port)) return undefined;
  const local = ['127.0.0.1', 'localhost', '::1', '[::1]'].includes(host);
  const found = spawnSync('sh', ['-c', 'command -v redis-server'], { encoding: 'utf8' }).stdout.trim();
  if (!local || !found) {
    say(
      `nothing answers at ${url}${local ? ' and no redis-server is on PATH' : ''}: start Redis, or set DEVHOOKS_REDIS_URL`,
    );
    process.exit(1);
  }
  const dir = path.resolve(root, process.env.DEVHOOKS_DATA_DIR || 'data');
  mkdirSync(dir, { recursive: true });
  const child = spawn(
    found,
    // durable (AOF) and never evicting: Redis holds the event log and the retry queue
    Object.entries({
      port,
      bind: '127.0.0.1',
      dir,
      appendonly: 'yes',
      'maxmemory-policy': 'noeviction',
      save: '',
    }).flatMap(([name, value]) => [`--${name}`, String(value)]),
    { stdio: ['ignore', 'ignore', 'inherit'] },
  );
  for (let i = 0; i < 50 && !(await answers('127.0.0.1', port)); i++) await new Promise((r) => setTimeout(r, 100));
  if (!(await answers('127.0.0.1', port))) {
    say('redis-server did not come up');
    child.kill();
    process.exit(1);
  }
  say(
    `nothing answered at ${url}: started redis-server on 127.0.0.1:${port} (pid ${child.pid}, data in ./data, AOF on); it stops with devhooks`,
  );
  return child;
}

/**
 * Redis Cluster (DEVHOOKS_REDIS_CLUSTER): DEVHOOKS_REDIS_URL lists the seed nodes; one of them must
 * answer. Nothing is started for a cluster (a standalone server would be the wrong engine).
 */
async function ensureClusterSeeds(urls) {
  const seeds = urls
    .split(',')
    .map((x) => x.trim())
    .filter(Boolean);
  for (const seed of seeds) {
    const u = new URL(seed);
    if (await answers(u.hostname || '127.0.0.1', Number(u.port || 6379))) return;
  }
  say(`no seed node of the Redis Cluster answers (${seeds.join(', ')}): start the cluster, or set DEVHOOKS_REDIS_URL`);
  process.exit(1);
}

const env = process.env;
const redisUrl = env.DEVHOOKS_REDIS_URL || 'redis://127.0.0.1:6379';
const inCluster = ['true', '1', 'yes'].includes(env.DEVHOOKS_REDIS_CLUSTER ?? '');
const redis = inCluster ? await ensureClusterSeeds(redisUrl) : await ensureRedis(redisUrl);
if (!env.DEVHOOKS_ADMIN_TOKEN) {
  env.DEVHOOKS_ADMIN_TOKEN = `dhroot_${randomBytes(24).toString('base64url')}`;
  say(`no DEVHOOKS_ADMIN_TOKEN set; this run's root token (shown once): ${env.DEVHOOKS_ADMIN_TOKEN}`);
}

const { loadApiConfig, createApi } = await import('@devhooks/api');
const { loadWorkerConfig, startWorker } = await import('@devhooks/worker');
const { createRegistry, runProcess } = await import('@devhooks/engine');

// the same bootstrap as the split processes: config checked first, one logger, the eviction
// warning, signals and a shutdown deadline
await runProcess({
  name: 'devhooks',
  say,
  loadConfig() {
    try {
      const api = loadApiConfig(env);
      // tracing (OTEL_*) is read by the config modules, one setting for the whole process
      return { api, worker: loadWorkerConfig(env), logLevel: env.DEVHOOKS_LOG_LEVEL || 'info', tracing: api.tracing };
    } catch (err) {
      redis?.kill('SIGTERM');
      throw err;
    }
  },
  async start(config, logger) {
    if (!config.api.encryption.key) {
      say(
        'WARNING: DEVHOOKS_ENCRYPTION_KEY is not set: webhook secrets and header values are stored in Redis in plain text (set it to the output of `openssl rand -base64 32`).',
      );
    }
    const registry = createRegistry('devhooks');
    const api = createApi(config.api, logger, registry);
    const worker = await startWorker(config.worker, logger, registry);
    const port = await api.listen();
    say(
      `API on http://${config.api.host}:${port} (console: /console, dashboard: /admin/queues, metrics: /metrics, OpenAPI: /openapi.json); one worker running. Ctrl-C stops.`,
    );
    return {
      redis: api.deps.redis,
      shutdownMs: config.worker.shutdownMs + 15_000,
      async stop() {
        await api.close();
        await worker.stop();
        if (redis) {
          await new Promise((resolve) => {
            redis.once('exit', resolve);
            redis.kill('SIGTERM');
          });
        }
      },
    };
  },
});
