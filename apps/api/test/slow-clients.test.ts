/**
 * Defect 6 of issue 13: slow clients cannot hold the API's connections. With small configured
 * timeouts, a raw loopback socket that sends partial headers, a partial body, or goes idle after a
 * request is closed by the server (with a JSON 408 where a request was under way), and connections
 * past the cap are closed at once. No timing is asserted: only that the close happens.
 */
import net from 'node:net';
import { loadApiConfig } from '../src';
import { startTestApi, type TestApi } from '../../../test/support/api';
import { testPrefix } from '../../../test/support/redis';

jest.setTimeout(30_000);
const prefix = testPrefix(__filename);

interface Held {
  socket: net.Socket;
  received: () => string;
  connected: Promise<void>;
  closed: Promise<void>;
}

/** A socket that writes `payload` and keeps the connection open for as long as the server lets it. */
function hold(port: number, payload: string): Held {
  const socket = net.connect(port, '127.0.0.1', () => socket.write(payload));
  let text = '';
  socket.on('data', (d: Buffer) => (text += d.toString('utf8')));
  socket.on('error', () => undefined);
  const connected = new Promise<void>((resolve) => socket.once('connect', () => resolve()));
  const closed = new Promise<void>((resolve) => socket.on('close', () => resolve()));
  return { socket, received: () => text, connected, closed };
}

function expectJson408(text: string): void {
  const [head, body] = text.split('\r\n\r\n');
  expect(head).toMatch(/^HTTP\/1\.1 408 /);
  expect(head).toMatch(/content-type: application\/json/i);
  expect(JSON.parse(body)).toEqual({ error: { code: 'request_timeout', message: expect.any(String) } });
}

describe('timeouts', () => {
  let api: TestApi;
  let port: number;

  beforeAll(async () => {
    api = await startTestApi(prefix, {
      DEVHOOKS_HTTP_HEADERS_TIMEOUT: '300ms',
      DEVHOOKS_HTTP_REQUEST_TIMEOUT: '600ms',
      DEVHOOKS_HTTP_KEEPALIVE_TIMEOUT: '300ms',
    });
    port = Number(new URL(api.base).port);
  });
  afterAll(() => api.close());

  test.each([
    ['partial headers', 'POST /v1/events HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer x\r\n'],
    [
      'a partial body (fast events path)',
      'POST /v1/events HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer x\r\n' +
        'Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{"type":',
    ],
    [
      'a partial chunked body (an express route)',
      'POST /v1/webhooks HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer x\r\n' +
        'Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n5\r\n{"nam\r\n',
    ],
  ])('%s: the server answers 408 and closes the connection', async (_, payload) => {
    const h = hold(port, payload);
    await h.closed;
    expectJson408(h.received());
  });

  test('an idle keep-alive connection after a complete request is closed', async () => {
    const h = hold(port, 'GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n');
    await h.closed;
    expect(h.received()).toMatch(/^HTTP\/1\.1 200 /);
  });

  test('garbage instead of HTTP: a JSON 400 and the connection closes', async () => {
    const h = hold(port, 'NOT HTTP AT ALL\r\n\r\n');
    await h.closed;
    const [head, body] = h.received().split('\r\n\r\n');
    expect(head).toMatch(/^HTTP\/1\.1 400 /);
    expect(JSON.parse(body).error.code).toBe('invalid_request');
  });

  test('oversized headers: a JSON 431 and the connection closes', async () => {
    const h = hold(port, `GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`);
    await h.closed;
    const [head, body] = h.received().split('\r\n\r\n');
    expect(head).toMatch(/^HTTP\/1\.1 431 /);
    expect(JSON.parse(body).error.code).toBe('headers_too_large');
  });

  test('requests that arrive in time are served', async () => {
    const r = await api.call('GET', '/healthz');
    expect(r.status).toBe(200);
  });
});

describe('the connection cap', () => {
  let api: TestApi;
  let port: number;

  beforeAll(async () => {
    api = await startTestApi(prefix + '-cap', { DEVHOOKS_HTTP_MAX_CONNECTIONS: '3' });
    port = Number(new URL(api.base).port);
  });
  afterAll(() => api.close());

  test('connections past the cap are closed at once; once some close, new ones are served', async () => {
    const partial = 'GET /healthz HTTP/1.1\r\nHost: x\r\n';
    const held = [hold(port, partial), hold(port, partial), hold(port, partial)];
    // connected first, so the kernel hands the server the fourth after them
    await Promise.all(held.map((h) => h.connected));
    let extra = hold(port, partial);
    await extra.closed;
    expect(extra.received()).toBe('');
    expect(held.map((h) => h.socket.destroyed)).toEqual([false, false, false]);
    for (const h of held) h.socket.destroy();
    await Promise.all(held.map((h) => h.closed));
    for (;;) {
      extra = hold(port, 'GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
      await extra.closed;
      if (extra.received()) break; // the server had not yet seen the held ones close
    }
    expect(extra.received()).toMatch(/^HTTP\/1\.1 200 /);
  });
});

describe('configuration', () => {
  const base = { DEVHOOKS_ADMIN_TOKEN: 'x' };

  test('defaults, and durations as the contract writes them', () => {
    expect(loadApiConfig(base).http).toEqual({
      headersTimeoutMs: 10_000,
      requestTimeoutMs: 30_000,
      keepAliveTimeoutMs: 65_000,
      maxConnections: 4096,
    });
    expect(
      loadApiConfig({
        ...base,
        DEVHOOKS_HTTP_HEADERS_TIMEOUT: '2s',
        DEVHOOKS_HTTP_REQUEST_TIMEOUT: '1m',
        DEVHOOKS_HTTP_KEEPALIVE_TIMEOUT: '500',
        DEVHOOKS_HTTP_MAX_CONNECTIONS: '100',
      }).http,
    ).toEqual({ headersTimeoutMs: 2_000, requestTimeoutMs: 60_000, keepAliveTimeoutMs: 500, maxConnections: 100 });
  });

  test.each([
    [{ DEVHOOKS_HTTP_HEADERS_TIMEOUT: 'soon' }, /DEVHOOKS_HTTP_HEADERS_TIMEOUT/],
    [{ DEVHOOKS_HTTP_HEADERS_TIMEOUT: '0' }, /DEVHOOKS_HTTP_HEADERS_TIMEOUT must be more than 0/],
    [{ DEVHOOKS_HTTP_REQUEST_TIMEOUT: '5s' }, /REQUEST_TIMEOUT must be at least DEVHOOKS_HTTP_HEADERS_TIMEOUT/],
    [{ DEVHOOKS_HTTP_MAX_CONNECTIONS: '0' }, /DEVHOOKS_HTTP_MAX_CONNECTIONS must be at least 1/],
    [{ DEVHOOKS_HTTP_MAX_CONNECTIONS: 'many' }, /DEVHOOKS_HTTP_MAX_CONNECTIONS/],
  ])('%j is refused at boot', (env, message) => {
    expect(() => loadApiConfig({ ...base, ...env })).toThrow(message);
  });
});
