/**
 * A throwaway local Redis Cluster for the scaling bench: `masters` redis-server processes on free
 * loopback ports below the ephemeral range (their bus ports, +10000, too), no replicas, nothing on
 * disk, made into a cluster with redis-cli. The tests have their own, fuller helper
 * (test/support/redis-cluster.ts: replicas, failover, restarts).
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import IORedis from 'ioredis';
import { sleep } from './lib.mjs';

export async function startCluster(masters = 3) {
  const base = 12000 + Math.floor(Math.random() * 9000);
  const ports = Array.from({ length: masters }, (_, i) => base + i);
  const dir = mkdtempSync(path.join(os.tmpdir(), 'devhooks-bench-cluster-'));
  const children = ports.map((port) =>
    spawn(
      'redis-server',
      // a throwaway cluster node: no persistence, fast failure detection
      Object.entries({
        port,
        bind: '127.0.0.1',
        dir,
        'cluster-enabled': 'yes',
        'cluster-config-file': `nodes-${port}.conf`,
        'cluster-node-timeout': 2000,
        save: '',
        appendonly: 'no',
      }).flatMap(([name, value]) => [`--${name}`, String(value)]),
      { stdio: 'ignore' },
    ),
  );
  const nodes = ports.map((port) => new IORedis({ port, host: '127.0.0.1', lazyConnect: true }));
  // a node still starting refuses the first connections: retried below, and a failing command
  // rejects on its own, so the connection errors are not printed as unhandled
  for (const n of nodes) n.on('error', () => undefined);
  for (const n of nodes) {
    for (let i = 0; i < 100; i++) {
      try {
        await n.connect();
        await n.ping();
        break;
      } catch {
        await sleep(50);
      }
    }
  }
  const made = spawnSync('redis-cli', ['--cluster', 'create', ...ports.map((p) => `127.0.0.1:${p}`), '--cluster-yes'], {
    encoding: 'utf8',
  });
  if (made.status !== 0) throw new Error(`redis-cli --cluster create failed: ${made.stdout}${made.stderr}`);
  for (let i = 0; i < 200; i++) {
    const states = await Promise.all(nodes.map((n) => n.cluster('INFO')));
    if (states.every((s) => s.includes('cluster_state:ok'))) break;
    await sleep(50);
  }
  return {
    url: ports.map((p) => `redis://127.0.0.1:${p}`).join(','),
    nodes,
    async stop() {
      for (const n of nodes) n.disconnect();
      for (const c of children) c.kill('SIGKILL');
      await sleep(100);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** CPU seconds a Redis node has used (INFO cpu: user + sys, main thread and children). */
export async function redisCpuSeconds(node) {
  const { user, sys } = await redisCpuSplit(node);
  return user + sys;
}

/** A Redis node's CPU so far (INFO cpu), user and kernel, in seconds. */
export async function redisCpuSplit(node) {
  const info = await node.info('cpu');
  const get = (k) => Number(new RegExp(`${k}:([\\d.]+)`).exec(info)?.[1] ?? 0);
  return { user: get('used_cpu_user'), sys: get('used_cpu_sys') };
}
