/**
 * Shared pieces of the benchmarks: child processes that never outlive the bench, the loopback
 * receiver's remote control, a Redis check, key cleanup.
 */
import { randomBytes } from 'node:crypto';
import { fork, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { Pool } from 'undici';
import net from 'node:net';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';

// the built engine (npm run bench builds first)
const { deleteByPattern } = createRequire(import.meta.url)('@devhooks/engine');
import IORedis from 'ioredis';

export const BENCH_DIR = path.dirname(fileURLToPath(import.meta.url));
export const ROOT_DIR = path.resolve(BENCH_DIR, '..');
export const REDIS_URL = process.env.DEVHOOKS_REDIS_URL || 'redis://127.0.0.1:6379';

/** ms since the epoch with sub-millisecond precision; the receiver process uses the same clock. */
export const now = () => performance.timeOrigin + performance.now();
export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
export const log = (msg) => process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${msg}\n`);

// ---------------------------------------------------------------------------------------------
// child processes: every one is killed when the bench exits, however it exits

const children = new Set();

function track(child) {
  children.add(child);
  child.once('exit', () => children.delete(child));
  return child;
}

/** SIGKILL whatever is still alive (synchronous: usable from process.on('exit')). */
export function killAllChildren() {
  for (const c of children) {
    if (c.exitCode === null && c.signalCode === null) {
      try {
        c.kill('SIGKILL');
      } catch {
        /* already gone */
      }
    }
  }
}

let cleanupHooked = false;
/** Installs the exit hooks: children die with the bench; Ctrl-C runs `onSignal` first. */
export function hookExit(onSignal) {
  if (cleanupHooked) return;
  cleanupHooked = true;
  process.on('exit', killAllChildren);
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
    process.once(sig, async () => {
      log(`${sig}: stopping`);
      const force = setTimeout(() => process.exit(130), 10_000);
      force.unref();
      try {
        killAllChildren();
        await onSignal?.();
      } finally {
        process.exit(130);
      }
    });
  }
}

export async function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

/** A node process (built devhooks app) with its output captured. */
export class Proc {
  constructor(name, script, env, nodeArgs = []) {
    this.name = name;
    this.output = '';
    /** Log lines at warn / error level (or anything that is not a JSON log line). */
    this.problems = [];
    /** Count of log lines by level, message (and status / error when present). */
    this.messages = {};
    this.child = track(
      spawn(process.execPath, [...nodeArgs, path.join(ROOT_DIR, script)], { env, stdio: ['ignore', 'pipe', 'pipe'] }),
    );
    this.pid = this.child.pid;
    let partial = '';
    const onData = (d) => {
      const s = d.toString();
      this.output = (this.output + s).slice(-200_000);
      partial += s;
      const lines = partial.split('\n');
      partial = lines.pop();
      for (const line of lines) this.inspect(line);
    };
    this.child.stdout.on('data', onData);
    this.child.stderr.on('data', onData);
    this.exited = new Promise((resolve) => this.child.once('exit', (code, signal) => resolve({ code, signal })));
  }

  inspect(line) {
    if (!line.trim()) return;
    let level;
    try {
      const j = JSON.parse(line);
      level = j.level;
      // what the process said, grouped (e.g. "info delivery attempt status=pending error=null")
      const what = `${level} ${j.message}${j.status !== undefined ? ` status=${j.status}` : ''}${j.error !== undefined ? ` error=${j.error}` : ''}`;
      this.messages[what] = (this.messages[what] ?? 0) + 1;
    } catch {
      level = 'raw';
    }
    if (level === 'error' || level === 'warn' || level === 'raw') {
      if (this.problems.length < 200) this.problems.push(line.slice(0, 500));
      else this.problemsDropped = (this.problemsDropped ?? 0) + 1;
    }
  }

  get alive() {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  async waitForOutput(text, timeoutMs = 30_000) {
    const deadline = Date.now() + timeoutMs;
    while (!this.output.includes(text)) {
      if (!this.alive) throw new Error(`${this.name} exited before "${text}":\n${this.output.slice(-2000)}`);
      if (Date.now() > deadline)
        throw new Error(`${this.name}: no "${text}" within ${timeoutMs} ms:\n${this.output.slice(-2000)}`);
      await sleep(20);
    }
  }

  /** SIGTERM, then SIGKILL after `graceMs`. */
  async stop(graceMs = 20_000) {
    if (!this.alive) return this.exited;
    this.child.kill('SIGTERM');
    const t = setTimeout(() => this.alive && this.child.kill('SIGKILL'), graceMs);
    const r = await this.exited;
    clearTimeout(t);
    return r;
  }

  /** Resident set size now and its peak (VmRSS, VmHWM) in kB, from /proc; undefined if gone. */
  memory() {
    try {
      const s = readFileSync(`/proc/${this.pid}/status`, 'utf8');
      const rss = Number(/VmRSS:\s+(\d+)/.exec(s)?.[1]);
      const hwm = Number(/VmHWM:\s+(\d+)/.exec(s)?.[1]);
      return { rssKb: rss, hwmKb: hwm };
    } catch {
      return undefined;
    }
  }
}

// ---------------------------------------------------------------------------------------------
// the receiver process

export class Receiver {
  static async start() {
    const r = new Receiver();
    r.child = track(fork(path.join(BENCH_DIR, 'receiver.mjs'), [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] }));
    r.pending = new Map();
    r.seq = 0;
    r.child.on('message', (m) => {
      const p = r.pending.get(m.id);
      if (p) {
        r.pending.delete(m.id);
        p(m);
      }
    });
    const ready = await new Promise((resolve, reject) => {
      r.child.once('message', resolve);
      r.child.once('exit', (code) => reject(new Error(`receiver exited (${code}) before listening`)));
    });
    r.port = ready.port;
    r.pid = ready.pid;
    r.origin = `http://127.0.0.1:${r.port}`;
    r.child.on('exit', (code, signal) => {
      for (const p of r.pending.values()) p({ type: 'exit', code, signal });
      r.pending.clear();
    });
    return r;
  }

  call(msg) {
    const id = ++this.seq;
    return {
      id,
      promise: new Promise((resolve) => {
        this.pending.set(id, resolve);
        this.child.send({ ...msg, id });
      }),
    };
  }

  async reset(opts = {}) {
    await this.call({ cmd: 'reset', ...opts }).promise;
  }

  async stats(withLatencies = false) {
    return this.call({ cmd: 'stats', withLatencies }).promise;
  }

  /**
   * Resolves {reached: true, at} once `n` requests arrived (unique ones when tracking), or
   * {reached: false} after `timeoutMs`.
   */
  async expect(n, timeoutMs) {
    const { id, promise } = this.call({ cmd: 'expect', n });
    let timer;
    const timeout = new Promise((resolve) => {
      timer = setTimeout(() => {
        this.pending.delete(id);
        if (this.child.connected) this.child.send({ cmd: 'cancel', id });
        resolve({ type: 'timeout' });
      }, timeoutMs);
    });
    const m = await Promise.race([promise, timeout]);
    clearTimeout(timer);
    if (m.type === 'exit') throw new Error(`receiver exited (${m.code ?? m.signal})`);
    return m.type === 'reached' ? { reached: true, at: m.at } : { reached: false };
  }

  async stop() {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = new Promise((r) => this.child.once('exit', r));
    if (this.child.connected) this.child.send({ cmd: 'stop' });
    else this.child.kill('SIGKILL');
    const t = setTimeout(() => this.child.kill('SIGKILL'), 3_000);
    await exited;
    clearTimeout(t);
  }
}

// ---------------------------------------------------------------------------------------------
// Redis

/** Connects and PINGs; exits the bench with a clear message when nothing answers. */
export async function redisOrExit(url = REDIS_URL) {
  const redis = new IORedis(url, {
    lazyConnect: true,
    connectTimeout: 2_000,
    maxRetriesPerRequest: 1,
    retryStrategy: () => null,
    enableOfflineQueue: false,
  });
  redis.on('error', () => undefined);
  try {
    await redis.connect();
    await redis.ping();
  } catch (err) {
    redis.disconnect();
    process.stderr.write(
      `bench: Redis is not answering at ${url} (${err.message}).\n` +
        'Start one (e.g. `redis-server --save "" --appendonly no`) or set DEVHOOKS_REDIS_URL, then run again.\n',
    );
    process.exit(1);
  }
  return redis;
}

/** SCAN MATCH each pattern and UNLINK what it finds; returns how many keys went (the engine's own helper). */
export async function deleteKeys(redis, patterns) {
  return deleteByPattern(redis, patterns);
}

/** used_memory from INFO memory, in bytes. */
export async function usedMemory(redis) {
  const info = await redis.info('memory');
  return Number(/used_memory:(\d+)/.exec(info)[1]);
}

// ---------------------------------------------------------------------------------------------
// small statistics

export function percentile(sorted, p) {
  if (!sorted.length) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i];
}

export const round = (x, d = 0) => (Number.isFinite(x) ? Math.round(x * 10 ** d) / 10 ** d : null);

/** fork()s a bench helper (IPC on), killed with the bench. */
export function forkChild(file, env) {
  return track(
    fork(path.join(BENCH_DIR, file), [], {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    }),
  );
}

const TICKS = 100; // USER_HZ: /proc/<pid>/stat counts CPU time in 1/100 s on Linux

/** CPU seconds a process has used (user + system), from /proc. */
export function procCpuSeconds(pid) {
  const { user, sys } = procCpuSplit(pid);
  return user + sys;
}

/** A process's CPU so far, in user mode and in the kernel on its behalf (syscalls: sockets), in seconds. */
export function procCpuSplit(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return { user: Number(fields[11]) / TICKS, sys: Number(fields[12]) / TICKS };
}

/** The environment of a devhooks process the bench starts on its own (scaling, ordering), plus `o`. */
export const devhooksProcessEnv = (o) => ({
  PATH: process.env.PATH ?? '',
  HOME: process.env.HOME ?? '',
  DEVHOOKS_ALLOW_PRIVATE_TARGETS: 'true',
  DEVHOOKS_LOG_LEVEL: 'info',
  DEVHOOKS_MAX_BACKLOG: '10000000',
  ...o,
});

/** One API call on an undici pool; throws on a status of 300 or more; the JSON answer. */
export async function apiRequest(pool, method, path, token, body) {
  const res = await pool.request({
    method,
    path,
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.body.text();
  if (res.statusCode >= 300) throw new Error(`${method} ${path}: ${res.statusCode} ${text.slice(0, 200)}`);
  return JSON.parse(text || '{}');
}

/**
 * An API process of its own on `redisUrl` under `prefix` (scaling, ordering): the process, an undici
 * pool to it, its root token, and the environment its workers should get too.
 */
export async function startOwnApi({ redisUrl, prefix, env = {} }) {
  const token = randomBytes(16).toString('hex');
  const port = await freePort();
  const base = devhooksProcessEnv({ DEVHOOKS_REDIS_URL: redisUrl, DEVHOOKS_PREFIX: prefix, ...env });
  const api = new Proc('api', 'apps/api/dist/main.js', {
    ...base,
    DEVHOOKS_ADMIN_TOKEN: token,
    DEVHOOKS_PORT: String(port),
  });
  await api.waitForOutput('api listening');
  const pool = new Pool(`http://127.0.0.1:${port}`, { connections: 16 });
  return { api, pool, token, base };
}
