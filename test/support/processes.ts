/**
 * The real processes (built: `npm test` builds first), for end-to-end tests: spawn the API or a
 * worker with an environment, wait until it is ready, stop it with any signal.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';
import { testRedisUrl } from './redis';

const ROOT_DIR = path.resolve(__dirname, '../..');

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

export class Proc {
  output = '';
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  constructor(readonly child: ChildProcess) {
    child.stdout?.on('data', (d: Buffer) => (this.output += d.toString()));
    child.stderr?.on('data', (d: Buffer) => (this.output += d.toString()));
    this.exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  }

  kill(signal: NodeJS.Signals = 'SIGTERM'): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill(signal);
    return this.exited;
  }

  /** Resolves when the output contains `text`. */
  async waitForOutput(text: string | RegExp, timeoutMs = 20_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!(typeof text === 'string' ? this.output.includes(text) : text.test(this.output))) {
      if (Date.now() > deadline)
        throw new Error(`no "${text}" in output within ${timeoutMs} ms:\n${this.output.slice(-2000)}`);
      if (this.child.exitCode !== null)
        throw new Error(`process exited (${this.child.exitCode}):\n${this.output.slice(-2000)}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

export function baseEnv(prefix: string, extra: Record<string, string> = {}): Record<string, string> {
  return {
    PATH: process.env.PATH ?? '',
    HOME: process.env.HOME ?? '',
    DEVHOOKS_REDIS_URL: testRedisUrl(),
    DEVHOOKS_PREFIX: prefix,
    DEVHOOKS_LOG_LEVEL: 'info',
    ...extra,
  };
}

export function spawnNode(script: string, env: Record<string, string>): Proc {
  return new Proc(spawn(process.execPath, [path.join(ROOT_DIR, script)], { env, stdio: ['ignore', 'pipe', 'pipe'] }));
}

/** The API process on a free port; resolves once it listens. */
export async function startApiProcess(env: Record<string, string>): Promise<{ proc: Proc; base: string }> {
  const port = await freePort();
  const proc = spawnNode('apps/api/dist/main.js', { ...env, DEVHOOKS_PORT: String(port) });
  await proc.waitForOutput('api listening');
  return { proc, base: `http://127.0.0.1:${port}` };
}

/** A worker process; resolves once it consumes. */
export async function startWorkerProcess(env: Record<string, string>): Promise<Proc> {
  const proc = spawnNode('apps/worker/dist/main.js', env);
  await proc.waitForOutput('worker started');
  return proc;
}

/** `npm start`'s script (scripts/start.mjs) with an environment; resolves once it serves. */
export async function startNpmStart(env: Record<string, string>): Promise<Proc> {
  const proc = new Proc(
    spawn(process.execPath, [path.join(ROOT_DIR, 'scripts/start.mjs')], {
      env: { PATH: process.env.PATH ?? '', DEVHOOKS_REDIS_URL: testRedisUrl(), ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    }),
  );
  await proc.waitForOutput('one worker running');
  return proc;
}
