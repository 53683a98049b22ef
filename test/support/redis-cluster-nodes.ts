/**
 * The processes of a local test Redis Cluster (see redis-cluster.ts): free ports, one redis-server
 * per node in a temp dir of its own, and their removal, also when the test process exits.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { nodeAnswers, pollUntil } from './redis-cluster-topology';

export interface RedisClusterOptions {
  /** Masters (default 3). */
  masters?: number;
  /** Replicas of each master (default 1). */
  replicasPerMaster?: number;
  /** AOF persistence (default off: `--appendonly no`), e.g. for tests that kill and restart a node. */
  appendonly?: boolean;
  /** With `appendonly`: `appendfsync always` (default `everysec`). */
  fsyncAlways?: boolean;
  /** `cluster-node-timeout` in ms (default 1000): how soon a dead master is failed over. */
  nodeTimeoutMs?: number;
  /** How long start-up may take before it fails (default 30 s). */
  startTimeoutMs?: number;
}

export interface RedisClusterNode {
  port: number;
  /** pid of its redis-server (changes on restartNode). */
  pid: number;
  /** As last seen: set at start, refreshed by `masters()` and `waitForFailover()`. */
  role: 'master' | 'replica';
  /** false between killNode and restartNode. */
  alive: boolean;
  /** Its working directory (nodes.conf, redis.log, AOF). */
  dir: string;
}

export interface Running {
  node: RedisClusterNode;
  child?: ChildProcess;
  exited?: Promise<void>;
}

export const everyCluster = new Set<Running[]>();
let exitHookInstalled = false;

export function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const running of everyCluster) removeNodes(running);
  });
}

/** Synchronous: usable from the 'exit' handler. */
export function removeNodes(running: Running[]): void {
  for (const r of running) {
    if (r.node.alive) {
      try {
        process.kill(r.node.pid, 'SIGKILL');
      } catch {
        // already gone
      }
      r.node.alive = false;
    }
    fs.rmSync(r.node.dir, { recursive: true, force: true });
  }
  everyCluster.delete(running);
}

function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.once('error', () => resolve(false));
    s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
  });
}

export async function freeBasePort(count: number): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    // ports and bus ports (port + 10000) both below the ephemeral range (32768+), which outgoing
    // connections take at any moment
    const base = 12000 + Math.floor(Math.random() * (10000 - count));
    let free = true;
    for (let p = base; p < base + count && free; p++) free = (await portFree(p)) && (await portFree(p + 10000));
    if (free) return base;
  }
  throw new Error('redis cluster: no free run of ports in 12000–22000');
}

function serverArgs(port: number, o: Required<RedisClusterOptions>): string[] {
  const persistence = o.appendonly
    ? ['--appendonly', 'yes', '--appendfsync', o.fsyncAlways ? 'always' : 'everysec']
    : ['--appendonly', 'no'];
  return [
    ...['--port', String(port), '--bind', '127.0.0.1', '--dir', '.', '--logfile', 'redis.log'],
    ...['--cluster-enabled', 'yes', '--cluster-config-file', 'nodes.conf'],
    ...['--cluster-node-timeout', String(o.nodeTimeoutMs), '--save', '', ...persistence],
    // a replica syncs at once (the default waits 5 s for more replicas to share one transfer)
    ...['--repl-diskless-sync-delay', '0', '--maxmemory-policy', 'noeviction', '--daemonize', 'no'],
  ];
}

function logTail(dir: string): string {
  try {
    return fs.readFileSync(path.join(dir, 'redis.log'), 'utf8').split('\n').slice(-8).join('\n');
  } catch {
    return '(no log)';
  }
}

/** Spawns the node's redis-server and waits until it answers PING (throws if it exits first). */
export async function launch(r: Running, o: Required<RedisClusterOptions>): Promise<void> {
  const child = spawn('redis-server', serverArgs(r.node.port, o), { cwd: r.node.dir, stdio: 'ignore' });
  let gone = false;
  r.child = child;
  r.exited = new Promise((resolve) =>
    child.once('exit', () => {
      gone = true;
      r.node.alive = false;
      resolve();
    }),
  );
  child.once('error', () => undefined);
  r.node.pid = child.pid ?? -1;
  r.node.alive = child.pid !== undefined;
  await pollUntil(`node ${r.node.port} answering`, o.startTimeoutMs, async () => {
    if (gone) throw new Error(`redis-server on port ${r.node.port} exited:\n${logTail(r.node.dir)}`);
    return (await nodeAnswers(r.node.port)) || undefined;
  });
}

/** Throws a clear error unless redis-server and redis-cli of Redis ≥ 7 are on PATH. */
export function checkBinaries(): void {
  for (const bin of ['redis-server', 'redis-cli']) {
    const v = spawnSync(bin, ['--version'], { encoding: 'utf8' });
    const major = Number(
      /v=(\d+)\.|redis-cli (\d+)\./
        .exec(v.stdout ?? '')
        ?.slice(1)
        .find(Boolean),
    );
    if (v.error || !(major >= 7)) {
      throw new Error(
        `the Redis Cluster tests need ${bin} of Redis 7 or later on PATH (${v.error ? 'not found' : v.stdout.trim()}); ` +
          'install Redis 7+ (Debian/Ubuntu: apt-get install redis-server, which brings redis-cli)',
      );
    }
  }
}
