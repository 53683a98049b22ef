/**
 * A Redis server of a test's own (redis-server binary): a free loopback port, its own temp dir, AOF
 * with `appendfsync always` by default. It can be SIGKILLed and restarted on the same port and dir
 * (it comes back with every write it acknowledged). Killed when the test process exits.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Redis from 'ioredis';
import { freePort } from './processes';

export class RedisServer {
  private child: ChildProcess | undefined;
  private constructor(
    readonly port: number,
    readonly dir: string,
  ) {}

  static async start(): Promise<RedisServer> {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'devhooks-redis-'));
    const server = new RedisServer(await freePort(), dir);
    process.once('exit', () => server.child?.kill('SIGKILL'));
    await server.launch();
    return server;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  /** Starts redis-server (again) on the port and dir; resolves once it answers PING. */
  async launch(): Promise<void> {
    const args = ['--port', String(this.port), '--bind', '127.0.0.1', '--dir', this.dir, '--save', ''];
    args.push('--appendonly', 'yes', '--appendfsync', 'always', '--logfile', 'redis.log');
    const child = spawn('redis-server', args, { cwd: this.dir, stdio: 'ignore' });
    this.child = child;
    for (let i = 0; ; i++) {
      if (child.exitCode !== null)
        throw new Error(`redis-server exited (${child.exitCode}); see ${this.dir}/redis.log`);
      const probe = new Redis(this.port, '127.0.0.1', {
        lazyConnect: true,
        maxRetriesPerRequest: 0,
        retryStrategy: () => null,
      });
      try {
        await probe.connect();
        // answers PING once the AOF is loaded (LOADING errors before)
        if ((await probe.ping()) === 'PONG') return;
      } catch {
        // not up yet
      } finally {
        probe.disconnect();
      }
      if (i > 200) throw new Error(`redis-server on ${this.port} does not answer; see ${this.dir}/redis.log`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** SIGKILL: no shutdown save, no goodbye to clients. Resolves once the process is gone. */
  async kill(): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const gone = new Promise((r) => child.once('exit', r));
    child.kill('SIGKILL');
    await gone;
  }

  async stop(): Promise<void> {
    await this.kill();
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}
