/**
 * Tracing with the real processes: API and worker started with OTEL_EXPORTER_OTLP_ENDPOINT export
 * their spans over OTLP/HTTP (JSON) to a collector (a loopback server here); one event makes one
 * trace across both processes: `POST /v1/events` (devhooks-api), then `fanout` and `attempt`
 * (devhooks-worker), each the child of the one before. SIGTERM flushes what is left.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Client, ROOT } from '../support/api';
import { baseEnv, startApiProcess, startWorkerProcess, type Proc } from '../support/processes';
import { eventually, Receiver } from '../support/receiver';
import { cleanPrefix, testPrefix } from '../support/redis';

jest.setTimeout(60_000);

interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  service: string;
}

const prefix = testPrefix(__filename);
const spans: OtlpSpan[] = [];
let collector: http.Server;
let api: Proc;
let worker: Proc;
let client: Client;
let rx: Receiver;

beforeAll(async () => {
  collector = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      if (req.url === '/v1/traces') {
        for (const rs of JSON.parse(body).resourceSpans ?? []) {
          const service = rs.resource.attributes.find((a: any) => a.key === 'service.name')?.value.stringValue;
          for (const ss of rs.scopeSpans) for (const sp of ss.spans) spans.push({ ...sp, service });
        }
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((r) => collector.listen(0, '127.0.0.1', r));
  rx = await Receiver.start();
  const env = baseEnv(prefix, {
    DEVHOOKS_ALLOW_PRIVATE_TARGETS: 'true',
    OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${(collector.address() as AddressInfo).port}`,
  });
  const started = await startApiProcess({ ...env, DEVHOOKS_ADMIN_TOKEN: ROOT });
  api = started.proc;
  client = new Client(started.base);
  worker = await startWorkerProcess(env);
});

afterAll(async () => {
  await worker?.kill('SIGTERM');
  await api?.kill('SIGTERM');
  await rx?.close();
  collector?.close();
  await cleanPrefix(prefix);
});

test('one event, one trace across the API and the worker, exported over OTLP/HTTP', async () => {
  const org = await client.org('acme', 'admin');
  const w = await client.call('POST', '/v1/webhooks', {
    token: org.key,
    body: { name: 'w', url: rx.url('/in'), topics: ['deviceauth'] },
  });
  expect(w.status).toBe(201);
  const sent = await client.call('POST', '/v1/events', {
    token: org.key,
    body: { id: 'evt-otlp-1', type: 'device-status-changed', data: { id: 'dev-1', status: 'accepted' } },
  });
  expect(sent.status).toBe(202);
  await rx.waitOn('/in', 1);
  // SIGTERM: each process flushes its spans before it exits
  expect((await worker.kill('SIGTERM')).code).toBe(0);
  expect((await api.kill('SIGTERM')).code).toBe(0);

  const ingest = await eventually(() => spans.find((s) => s.name === 'POST /v1/events'));
  const fanout = spans.find((s) => s.name === 'fanout' && s.traceId === ingest.traceId);
  const attempt = spans.find((s) => s.name === 'attempt' && s.traceId === ingest.traceId);
  expect(ingest.service).toBe('devhooks-api');
  expect(fanout).toMatchObject({ service: 'devhooks-worker', parentSpanId: ingest.spanId });
  expect(attempt).toMatchObject({ service: 'devhooks-worker', parentSpanId: fanout!.spanId });
});
