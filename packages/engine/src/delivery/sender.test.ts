/**
 * Outgoing HTTP against loopback servers started here (127.0.0.1 / ::1, port 0). No request and no
 * DNS lookup for a public name is ever made: names other than `localhost` only appear with
 * dns.lookup replaced by a fake.
 */
import dns from 'node:dns';
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { safeLookup } from './dial-policy';
import { RESPONSE_BODY_LIMIT, Sender, type SenderOptions } from './sender';

interface Received {
  method?: string;
  url?: string;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

interface TestServer {
  server: http.Server;
  port: number;
  /** `http://<host>:<port>` as the server's own host spells it. */
  origin: string;
  connections: number;
  requests: Received[];
  close(): Promise<void>;
}

const servers: TestServer[] = [];

function startServer(
  handler: (req: http.IncomingMessage, res: http.ServerResponse, body: Buffer) => void = (_q, res) => res.end('ok'),
  host = '127.0.0.1',
): Promise<TestServer> {
  return new Promise((resolve, reject) => {
    const server = http.createServer();
    const sockets = new Set<Socket>();
    const t: TestServer = {
      server,
      port: 0,
      origin: '',
      connections: 0,
      requests: [],
      close: () =>
        new Promise<void>((done) => {
          for (const s of sockets) s.destroy();
          server.close(() => done());
        }),
    };
    server.on('connection', (s: Socket) => {
      t.connections++;
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
    });
    server.on('request', (req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const body = Buffer.concat(chunks);
        t.requests.push({ method: req.method, url: req.url, headers: req.headers, body });
        handler(req, res, body);
      });
    });
    server.once('error', reject);
    server.listen(0, host, () => {
      t.port = (server.address() as AddressInfo).port;
      t.origin = host.includes(':') ? `http://[${host}]:${t.port}` : `http://${host}:${t.port}`;
      servers.push(t);
      resolve(t);
    });
  });
}

const senders: Sender[] = [];
function sender(over: Partial<SenderOptions> = {}): Sender {
  const s = new Sender({ timeoutMs: 5_000, allowPrivateTargets: true, connectionsPerOrigin: 4, ...over });
  senders.push(s);
  return s;
}

afterEach(async () => {
  jest.restoreAllMocks();
  await Promise.all(senders.splice(0).map((s) => s.destroy()));
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

const post = (s: Sender, origin: string, path = '/', body = '{}', headers: Record<string, string> = {}) =>
  s.send({ origin, path, headers: { 'content-type': 'application/json', ...headers }, body });

describe('responses', () => {
  it('captures status, headers and body of a success', async () => {
    const srv = await startServer((_q, res) => {
      res.writeHead(201, { 'content-type': 'text/plain', 'x-receiver': 'abc', 'retry-after': '30' });
      res.end('thanks');
    });
    const r = await post(sender(), srv.origin, '/hook');
    expect(r.error).toBeUndefined();
    expect(r.statusCode).toBe(201);
    expect(r.responseHeaders).toMatchObject({ 'content-type': 'text/plain', 'x-receiver': 'abc' });
    expect(r.responseBody).toBe('thanks');
    expect(r.retryAfter).toBe('30');
    expect(typeof r.durationMs).toBe('number');
  });

  it('returns error statuses as they are, with their body', async () => {
    const srv = await startServer((_q, res) => {
      res.writeHead(503, { 'retry-after': '7' });
      res.end('busy');
    });
    const r = await post(sender(), srv.origin);
    expect(r).toMatchObject({ statusCode: 503, responseBody: 'busy', retryAfter: '7' });
    expect(r.error).toBeUndefined();
  });

  it('sends the request headers and body exactly as given', async () => {
    const srv = await startServer();
    const body = JSON.stringify({ topic: 'alarms', events: [{ text: 'ünïcødé ✓ "quoted"\n' }] });
    const headers = {
      'content-type': 'application/json',
      'user-agent': 'devhooks/0.1.0',
      'webhook-id': 'msg_abc',
      'webhook-timestamp': '1714557600',
      'webhook-signature': 'v1,c2lnbmF0dXJl',
      'X-Custom-Header': 'Mixed Case Value; with=stuff',
    };
    const r = await sender().send({ origin: srv.origin, path: '/in/path?x=1&y=two', headers, body });
    expect(r.statusCode).toBe(200);
    expect(srv.requests).toHaveLength(1);
    const got = srv.requests[0];
    expect(got.method).toBe('POST');
    expect(got.url).toBe('/in/path?x=1&y=two');
    for (const [k, v] of Object.entries(headers)) expect(got.headers[k.toLowerCase()]).toBe(v);
    expect(got.body.equals(Buffer.from(body, 'utf8'))).toBe(true);
    expect(got.headers['content-length']).toBe(String(Buffer.byteLength(body)));
  });

  it(`keeps the first ${RESPONSE_BODY_LIMIT} bytes of a 10 KiB body, and the connection serves the next request`, async () => {
    const big = Buffer.alloc(10 * 1024);
    for (let i = 0; i < big.length; i++) big[i] = 0x61 + (i % 26);
    const srv = await startServer((_q, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end(big);
    });
    const s = sender({ connectionsPerOrigin: 1 });
    const r = await post(s, srv.origin);
    expect(RESPONSE_BODY_LIMIT).toBe(4096);
    expect(r.error).toBeUndefined();
    expect(r.statusCode).toBe(200);
    expect(r.responseBody).toBe(big.subarray(0, 4096).toString('utf8'));
    const again = await post(s, srv.origin);
    expect(again.error).toBeUndefined();
    expect(again.statusCode).toBe(200);
    expect(srv.requests).toHaveLength(2);
    // the rest was drained, so the same keep-alive connection was reused
    expect(srv.connections).toBe(1);
  });

  it('cuts a response body over 1 MiB (an endless one too) and still reports the status', async () => {
    const chunk = Buffer.alloc(64 * 1024, 'z');
    let sent = 0;
    const srv = await startServer((_q, res) => {
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      const pump = () => {
        // endless, but bounded here so a broken client cannot make the test server run away
        while (sent < 64 * 1024 * 1024 && !res.destroyed) {
          sent += chunk.length;
          if (!res.write(chunk)) return void res.once('drain', pump);
        }
        res.end();
      };
      pump();
    });
    const s = sender({ timeoutMs: 20_000 });
    const r = await post(s, srv.origin);
    expect(r.error).toBeUndefined();
    expect(r.statusCode).toBe(200);
    expect(r.responseBody).toBe('z'.repeat(4096));
    expect(sent).toBeLessThan(64 * 1024 * 1024);
    // the sender still works for this origin afterwards
    srv.server.removeAllListeners('request');
    srv.server.on('request', (_q, res) => res.end('small'));
    const next = await post(s, srv.origin);
    expect(next).toMatchObject({ statusCode: 200, responseBody: 'small' });
  });

  it('keeps response headers within 4 KiB', async () => {
    const srv = await startServer((_q, res) => {
      for (let i = 0; i < 100; i++) res.setHeader(`x-h-${String(i).padStart(3, '0')}`, 'v'.repeat(100));
      res.end('ok');
    });
    const r = await post(sender(), srv.origin);
    expect(r.statusCode).toBe(200);
    const size = Object.entries(r.responseHeaders ?? {}).reduce((n, [k, v]) => n + k.length + v.length, 0);
    expect(size).toBeLessThanOrEqual(4096);
    expect(Object.keys(r.responseHeaders ?? {}).length).toBeGreaterThan(0);
  });

  it('does not follow redirects: a 302 is the result and its target receives nothing', async () => {
    const target = await startServer();
    const srv = await startServer((_q, res) => {
      res.writeHead(302, { location: `${target.origin}/elsewhere` });
      res.end();
    });
    const r = await post(sender(), srv.origin, '/moved', '{"a":1}');
    expect(r.error).toBeUndefined();
    expect(r.statusCode).toBe(302);
    expect(r.responseHeaders?.location).toBe(`${target.origin}/elsewhere`);
    expect(srv.requests).toHaveLength(1);
    await new Promise((res) => setTimeout(res, 100));
    expect(target.connections).toBe(0);
    expect(target.requests).toHaveLength(0);
  });
});

describe('failures', () => {
  it("a server that never answers → 'timeout'", async () => {
    const srv = await startServer(() => {
      /* never answers */
    });
    const r = await post(sender({ timeoutMs: 300 }), srv.origin);
    expect(r.error).toBe('timeout');
    expect(r.statusCode).toBeUndefined();
    expect(r.errorMessage).toBeTruthy();
    expect(srv.requests).toHaveLength(1);
  });

  it("headers then a stalled body → 'timeout' with the status code kept", async () => {
    const srv = await startServer((_q, res) => {
      res.writeHead(200, { 'content-type': 'text/plain', 'x-partial': 'yes' });
      res.write('part of it');
      // ...and nothing more
    });
    const r = await post(sender({ timeoutMs: 300 }), srv.origin);
    expect(r.error).toBe('timeout');
    expect(r.statusCode).toBe(200);
    expect(r.responseHeaders).toMatchObject({ 'x-partial': 'yes' });
  });

  /** Blocks this process's event loop, as a long GC pause or CPU starvation does. */
  const freeze = (ms: number) => {
    const until = Date.now() + ms;
    while (Date.now() < until) {
      /* stalled */
    }
  };

  it('an answer that arrived while the process stalled past the deadline is read, not taken for a timeout', async () => {
    const srv = await startServer((_q, res) => {
      res.end('in time'); // written to the socket now...
      freeze(900); // ...and read only after the deadline's timer is due
    });
    const r = await post(sender({ timeoutMs: 300 }), srv.origin);
    expect(r.error).toBeUndefined();
    expect(r).toMatchObject({ statusCode: 200, responseBody: 'in time' });
  });

  it("a deadline that fired well after it was due → 'timeout' marked stalled (says nothing about the receiver)", async () => {
    const srv = await startServer(() => freeze(900)); // never answers, and the process stalls
    const r = await post(sender({ timeoutMs: 300 }), srv.origin);
    expect(r.error).toBe('timeout');
    expect(r.stalled).toBe(true);
    expect(srv.requests).toHaveLength(1);
  });

  it("a closed port → 'connection_refused'", async () => {
    const srv = await startServer();
    const origin = srv.origin;
    await srv.close();
    servers.splice(servers.indexOf(srv), 1);
    const r = await post(sender(), origin);
    expect(r.error).toBe('connection_refused');
    expect(r.statusCode).toBeUndefined();
  });

  it("a connection reset mid-response → 'connection_reset' (or a network error), not a success", async () => {
    const srv = await startServer((req) => req.socket.destroy());
    const r = await post(sender(), srv.origin);
    expect(r.statusCode).toBeUndefined();
    expect(['connection_reset', 'network_error']).toContain(r.error);
  });
});

describe('address policy (allowPrivateTargets: false)', () => {
  it("an IP-literal loopback url → 'blocked_address' without connecting", async () => {
    const srv = await startServer();
    const r = await post(sender({ allowPrivateTargets: false }), srv.origin);
    expect(r.error).toBe('blocked_address');
    expect(r.errorMessage).toContain('127.0.0.1');
    expect(r.statusCode).toBeUndefined();
    expect(srv.connections).toBe(0);
  });

  it.each([
    ['decimal', (p: number) => `http://2130706433:${p}`],
    ['IPv4-mapped IPv6', (p: number) => `http://[::ffff:127.0.0.1]:${p}`],
  ])("a loopback url in %s notation → 'blocked_address'", async (_n, url) => {
    const srv = await startServer();
    const r = await post(sender({ allowPrivateTargets: false }), url(srv.port));
    expect(r.error).toBe('blocked_address');
    expect(srv.connections).toBe(0);
  });

  it("localhost → 'blocked_address' without connecting", async () => {
    const srv = await startServer();
    const r = await post(sender({ allowPrivateTargets: false }), `http://localhost:${srv.port}`);
    expect(r.error).toBe('blocked_address');
    expect(r.errorMessage).toMatch(/loopback/);
    expect(srv.connections).toBe(0);
  });

  it("[::1] → 'blocked_address' without connecting", async () => {
    const srv = await startServer(undefined, '::1');
    const r = await post(sender({ allowPrivateTargets: false }), srv.origin);
    expect(r.error).toBe('blocked_address');
    expect(srv.connections).toBe(0);
  });

  it("a name that (now) resolves to a private address → 'blocked_address' without connecting (DNS rebinding)", async () => {
    const srv = await startServer();
    const lookup = jest
      .spyOn(dns, 'lookup')
      .mockImplementation(((_host: string, _opts: unknown, cb: (e: null, a: dns.LookupAddress[]) => void) =>
        cb(null, [{ address: '127.0.0.1', family: 4 }])) as unknown as typeof dns.lookup);
    const r = await post(sender({ allowPrivateTargets: false }), `http://rebind.example.com:${srv.port}`);
    expect(r.error).toBe('blocked_address');
    expect(lookup).toHaveBeenCalled();
    expect(lookup.mock.calls[0][0]).toBe('rebind.example.com');
    expect(srv.connections).toBe(0);
  });

  it('allowPrivateTargets: true → 127.0.0.1, localhost and [::1] connect', async () => {
    const v4 = await startServer();
    const v6 = await startServer(undefined, '::1');
    const s = sender({ allowPrivateTargets: true });
    expect(await post(s, v4.origin)).toMatchObject({ statusCode: 200, responseBody: 'ok' });
    expect(await post(s, `http://localhost:${v4.port}`)).toMatchObject({ statusCode: 200, responseBody: 'ok' });
    expect(await post(s, v6.origin)).toMatchObject({ statusCode: 200, responseBody: 'ok' });
    expect(v4.requests).toHaveLength(2);
    expect(v6.requests).toHaveLength(1);
  });
});

describe('safeLookup', () => {
  const call = (host: string, options: dns.LookupOptions) =>
    new Promise<{ err: NodeJS.ErrnoException | null; address: string | dns.LookupAddress[]; family?: number }>(
      (resolve) => safeLookup(host, options, (err, address, family) => resolve({ err, address, family })),
    );

  function fakeDns(answer: dns.LookupAddress[] | NodeJS.ErrnoException) {
    return jest
      .spyOn(dns, 'lookup')
      .mockImplementation(((
        _host: string,
        _opts: unknown,
        cb: (e: NodeJS.ErrnoException | null, a: dns.LookupAddress[]) => void,
      ) => (Array.isArray(answer) ? cb(null, answer) : cb(answer, []))) as unknown as typeof dns.lookup);
  }

  it('refuses localhost (real lookup of localhost only)', async () => {
    const r = await call('localhost', {});
    expect(r.err).toBeInstanceOf(Error);
    expect((r.err as NodeJS.ErrnoException).code).toBe('EBLOCKEDADDRESS');
    expect(r.err?.message).toContain('localhost');
    expect(r.err?.message).toMatch(/loopback/);
    const all = await call('localhost', { all: true });
    expect((all.err as NodeJS.ErrnoException).code).toBe('EBLOCKEDADDRESS');
  });

  it('asks dns.lookup for every address, whatever the caller asked', async () => {
    const lookup = fakeDns([{ address: '10.0.0.1', family: 4 }]);
    await call('internal.example.com', { family: 4 });
    expect(lookup.mock.calls[0][0]).toBe('internal.example.com');
    expect(lookup.mock.calls[0][1]).toMatchObject({ all: true, family: 4 });
  });

  it('drops refused addresses and answers with the allowed ones (fake lookup)', async () => {
    fakeDns([
      { address: '127.0.0.1', family: 4 },
      { address: '93.184.216.34', family: 4 },
      { address: 'fd00::1', family: 6 },
      { address: '2606:4700:4700::1111', family: 6 },
    ]);
    const one = await call('mixed.example.com', {});
    expect(one.err).toBeNull();
    expect(one.address).toBe('93.184.216.34');
    expect(one.family).toBe(4);
    const all = await call('mixed.example.com', { all: true });
    expect(all.err).toBeNull();
    expect(all.address).toEqual([
      { address: '93.184.216.34', family: 4 },
      { address: '2606:4700:4700::1111', family: 6 },
    ]);
  });

  it('fails when every address is refused, naming them and their ranges', async () => {
    fakeDns([
      { address: '10.1.1.1', family: 4 },
      { address: '169.254.169.254', family: 4 },
      { address: '::1', family: 6 },
    ]);
    const r = await call('evil.example.com', { all: true });
    expect((r.err as NodeJS.ErrnoException).code).toBe('EBLOCKEDADDRESS');
    expect(r.err?.message).toContain('10.1.1.1 (private)');
    expect(r.err?.message).toContain('169.254.169.254 (linkLocal)');
    expect(r.err?.message).toContain('::1 (loopback)');
  });

  it('passes lookup errors through', async () => {
    fakeDns(Object.assign(new Error('getaddrinfo ENOTFOUND nowhere.example.com'), { code: 'ENOTFOUND' }));
    const r = await call('nowhere.example.com', {});
    expect((r.err as NodeJS.ErrnoException).code).toBe('ENOTFOUND');
  });
});
