/**
 * A webhook receiver on loopback for tests: records every request (raw body and headers) and
 * answers as told (status, headers, delay), per request or by a function.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Received {
  method: string;
  path: string;
  headers: http.IncomingHttpHeaders;
  body: string;
  at: number;
}

export interface Reply {
  status?: number;
  headers?: Record<string, string>;
  body?: string;
  /** Wait this long before answering. */
  delayMs?: number;
  /** Never answer (the attempt times out). */
  hang?: boolean;
}

export class Receiver {
  readonly requests: Received[] = [];
  private server: http.Server;
  private waiters: Array<{ n: number; resolve: () => void }> = [];
  /** How to answer the next request: a function of the request, or a queue of replies, then 200. */
  respond: ((r: Received, index: number) => Reply) | undefined;
  private queue: Reply[] = [];
  private hanging = new Set<http.ServerResponse>();
  /** Requests received and not yet answered (or closed), now and at most so far. */
  open = 0;
  maxOpen = 0;
  port = 0;

  constructor() {
    this.server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const r: Received = {
          method: req.method ?? '',
          path: req.url ?? '',
          headers: req.headers,
          body: Buffer.concat(chunks).toString('utf8'),
          at: Date.now(),
        };
        const index = this.requests.length;
        this.requests.push(r);
        this.maxOpen = Math.max(this.maxOpen, ++this.open);
        res.on('close', () => this.open--);
        for (const w of this.waiters.filter((w) => this.requests.length >= w.n)) w.resolve();
        this.waiters = this.waiters.filter((w) => this.requests.length < w.n);
        const reply = this.respond ? this.respond(r, index) : (this.queue.shift() ?? {});
        if (reply.hang) {
          this.hanging.add(res);
          return;
        }
        const send = () => {
          res.writeHead(reply.status ?? 200, { 'content-type': 'text/plain', ...(reply.headers ?? {}) });
          res.end(reply.body ?? 'ok');
        };
        if (reply.delayMs) setTimeout(send, reply.delayMs);
        else send();
      });
    });
    this.server.keepAliveTimeout = 30_000;
  }

  static async start(): Promise<Receiver> {
    const r = new Receiver();
    await new Promise<void>((resolve) => r.server.listen(0, '127.0.0.1', resolve));
    r.port = (r.server.address() as AddressInfo).port;
    return r;
  }

  url(path = '/hook'): string {
    return `http://127.0.0.1:${this.port}${path}`;
  }

  /** Queues replies for the next requests (then 200s). */
  reply(...replies: Reply[]): void {
    this.queue.push(...replies);
  }

  /** Resolves when `n` requests in all have arrived; rejects after `timeoutMs`. */
  waitFor(n: number, timeoutMs = 20_000): Promise<Received[]> {
    if (this.requests.length >= n) return Promise.resolve(this.requests.slice());
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`receiver: ${this.requests.length} of ${n} requests after ${timeoutMs} ms`)),
        timeoutMs,
      );
      this.waiters.push({
        n,
        resolve: () => {
          clearTimeout(timer);
          resolve(this.requests.slice());
        },
      });
    });
  }

  /** Resolves when `n` requests to `path` have arrived. */
  async waitOn(path: string, n: number, timeoutMs = 20_000): Promise<Received[]> {
    const deadline = Date.now() + timeoutMs;
    while (this.on(path).length < n) {
      if (Date.now() > deadline)
        throw new Error(`receiver: ${this.on(path).length} of ${n} requests to ${path} after ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 20));
    }
    return this.on(path);
  }

  /** Requests whose path is `path`. */
  on(path: string): Received[] {
    return this.requests.filter((r) => r.path === path);
  }

  async close(): Promise<void> {
    for (const res of this.hanging) res.destroy();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

/** Polls `check` until it returns a truthy value; rejects after `timeoutMs`. */
export async function eventually<T>(
  check: () => Promise<T | undefined | false> | T | undefined | false,
  timeoutMs = 15_000,
  everyMs = 50,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v) return v as T;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline)
      throw new Error(`condition not met within ${timeoutMs} ms${last ? `: ${(last as Error).message}` : ''}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
