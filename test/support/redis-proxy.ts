/**
 * A TCP proxy on loopback in front of the test Redis, to make Redis "die" at a chosen moment
 * without mocking it: after forwarding a command that carries a marker, it drops the reply, cuts
 * every connection and refuses new ones until `restore()`. It can also hold a chosen command back
 * for a while (a slow network or a stalled node), with what follows it on its connection.
 */
import net from 'node:net';
import { testRedisUrl } from './redis';

export class RedisProxy {
  private readonly sockets = new Set<net.Socket>();
  private refusing = false;
  private silent = false;
  private marker: string | undefined;
  /** Set once a reply was dropped (the command had reached Redis). */
  cutAfterSend = false;
  private hold: { when: (chunk: Buffer) => boolean; ms: number } | undefined;
  /** Set once a chunk was held back. */
  held = false;
  /** What happened lately, for a failing test's message: connections, the marker, the cut (last 40). */
  readonly events: string[] = [];
  private connections = 0;

  private constructor(
    private readonly server: net.Server,
    readonly port: number,
  ) {}

  static async start(): Promise<RedisProxy> {
    const target = new URL(testRedisUrl());
    const server = net.createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const proxy = new RedisProxy(server, (server.address() as net.AddressInfo).port);
    server.on('connection', (client) => proxy.pipe(client, target.hostname, Number(target.port || 6379)));
    return proxy;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  /** The next command whose bytes hold `marker` reaches Redis, and its reply never comes back. */
  cutAfter(marker: string): void {
    this.marker = marker;
    this.cutAfterSend = false;
  }

  /**
   * The first bytes from a client for which `when` is true reach Redis `ms` later, and every later
   * byte of that connection behind them, in order.
   */
  holdWhen(when: (chunk: Buffer) => boolean, ms: number): void {
    this.hold = { when, ms };
    this.held = false;
  }

  /** Redis is "down": every connection is cut and new ones are closed at once. */
  down(): void {
    this.refusing = true;
    for (const s of this.sockets) s.destroy();
  }

  /**
   * Redis "hangs": every connection is cut, and new ones are taken but never answered (a Redis
   * that accepts and stalls, or a dead host behind a load balancer), until `restore()`.
   */
  silence(): void {
    this.silent = true;
    for (const s of this.sockets) s.destroy();
  }

  /** Redis is back. */
  restore(): void {
    this.refusing = false;
    this.silent = false;
    this.marker = undefined;
  }

  async close(): Promise<void> {
    this.down();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private note(what: string): void {
    this.events.push(`${new Date().toISOString().slice(11, 23)} ${what}`);
    if (this.events.length > 40) this.events.shift();
  }

  private pipe(client: net.Socket, host: string, port: number): void {
    const n = ++this.connections;
    if (this.refusing) {
      this.note(`connection ${n} refused`);
      client.destroy();
      return;
    }
    this.note(`connection ${n}${this.silent ? ' (silent)' : ''}`);
    if (this.silent) {
      // taken, read, never answered: cut only by `close()` or the client itself
      this.sockets.add(client);
      client.on('error', () => undefined);
      client.on('close', () => this.sockets.delete(client));
      client.resume();
      return;
    }
    const upstream = net.connect(port, host);
    let awaitingCut = false;
    let tail: Buffer = Buffer.alloc(0);
    /** While a chunk is held: the bytes after it, in order. */
    let behind: Promise<void> | undefined;
    for (const s of [client, upstream]) {
      this.sockets.add(s);
      s.on('error', () => undefined);
      s.on('close', () => {
        if (s === client) this.note(`connection ${n} closed`);
        this.sockets.delete(s);
        client.destroy();
        upstream.destroy();
      });
    }
    client.on('data', (chunk: Buffer) => {
      // the marker may straddle two chunks: look at the end of the one before too
      const seen = this.marker ? Buffer.concat([tail, chunk]) : chunk;
      if (this.marker && seen.includes(this.marker)) {
        this.note(`marker on connection ${n}: ${printable(chunk)}`);
        this.marker = undefined;
        awaitingCut = true;
      }
      tail = chunk.subarray(Math.max(0, chunk.length - 127));
      const hold = this.hold;
      if (hold && hold.when(chunk)) {
        this.hold = undefined;
        this.held = true;
        const wait = new Promise<void>((r) => setTimeout(r, hold.ms));
        behind = (behind ?? Promise.resolve()).then(() => wait);
      }
      if (!behind) {
        upstream.write(chunk);
        return;
      }
      const last = behind.then(() => void upstream.write(chunk));
      behind = last;
      void last.then(() => {
        if (behind === last) behind = undefined; // drained: straight through again
      });
    });
    upstream.on('data', (chunk: Buffer) => {
      if (awaitingCut) {
        // Redis ran the command and answered; the answer is lost with the connection
        this.note(`cut on connection ${n}, its reply dropped: ${printable(chunk)}`);
        this.cutAfterSend = true;
        this.down();
        return;
      }
      client.write(chunk);
    });
  }
}

/** The start of a RESP chunk, readable on one line. */
function printable(chunk: Buffer): string {
  return JSON.stringify(chunk.subarray(0, 80).toString('latin1').replace(/\r\n/g, ' '));
}
