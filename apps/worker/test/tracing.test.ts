/**
 * OpenTelemetry tracing over the real API and worker in-process: one event makes one trace, the
 * `POST /v1/events` span, a `fanout` span (its child, through the traceparent the stream entry
 * carries) and an `attempt` span (the fan-out's child) with the ids, status code and error.
 */
import { SpanKind } from '@opentelemetry/api';
import { InMemorySpanExporter, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { decodeEvent, startTracing, tracingOn } from '@devhooks/engine';
import { eventually } from '../../../test/support/receiver';
import { startStack, type Stack } from '../../../test/support/stack';

let s: Stack;
const exporter = new InMemorySpanExporter();
let stopTracing: () => Promise<void>;

beforeAll(async () => {
  stopTracing = startTracing({}, { processName: 'devhooks-test', exporter });
  s = await startStack(__filename, { worker: { DEVHOOKS_RETRY_SCHEDULE: '0,200ms,200ms' } });
});
afterAll(async () => {
  await s.close();
  await stopTracing();
});
beforeEach(() => exporter.reset());

const parentOf = (span: ReadableSpan) => span.parentSpanContext?.spanId;
const named = (name: string, id: string) =>
  exporter.getFinishedSpans().filter((sp) => sp.name === name && Object.values(sp.attributes).includes(id));

async function lastEntryOf(stack: Stack) {
  const [[, fields]] = (await stack.redis.xrevrange(stack.keys.shard(0).stream, '+', '-', 'COUNT', 1)) as Array<
    [string, string[]]
  >;
  return decodeEvent(fields);
}

it('one event: ingest, fanout and attempt spans in one trace, each the child of the one before', async () => {
  const w = await s.webhook({ url: s.rx.url('/ok'), topics: ['deviceauth'] });
  await s.send({ id: 'evt-trace-1', type: 'device-status-changed', data: { id: 'dev-1', status: 'accepted' } });
  await s.rx.waitOn('/ok', 1);

  const ingest = await eventually(() => exporter.getFinishedSpans().find((sp) => sp.name === 'POST /v1/events'));
  const attempt = await eventually(() => named('attempt', w.id)[0]);
  const [fanout] = named('fanout', 'evt-trace-1');
  expect(ingest.kind).toBe(SpanKind.SERVER);
  expect(ingest.attributes).toMatchObject({ 'devhooks.org_id': s.org.id, 'devhooks.accepted': 1 });

  const traceId = ingest.spanContext().traceId;
  expect(fanout.spanContext().traceId).toBe(traceId);
  expect(attempt.spanContext().traceId).toBe(traceId);
  expect(parentOf(fanout)).toBe(ingest.spanContext().spanId);
  expect(parentOf(attempt)).toBe(fanout.spanContext().spanId);

  expect(fanout.attributes).toMatchObject({ 'devhooks.org_id': s.org.id, 'devhooks.webhooks': 1 });
  expect(attempt.kind).toBe(SpanKind.CLIENT);
  expect(attempt.attributes).toMatchObject({
    'devhooks.org_id': s.org.id,
    'devhooks.webhook_id': w.id,
    'http.response.status_code': 200,
    'devhooks.outcome': 'success',
  });
  expect(String(attempt.attributes['devhooks.delivery_id'])).toMatch(/\S/);
  expect(attempt.attributes['error.type']).toBeUndefined();

  // the stream entry carried the ingest span's context
  const entry = await lastEntryOf(s);
  expect(entry.traceparent).toBe(`00-${traceId}-${ingest.spanContext().spanId}-01`);
});

it("a failed attempt's span holds the status code and the error", async () => {
  s.rx.respond = (r) => (r.path === '/gone' ? { status: 410 } : {});
  const w = await s.webhook({ url: s.rx.url('/gone'), topics: ['deviceauth'] });
  await s.send({ id: 'evt-trace-2', type: 'device-status-changed', data: { id: 'dev-2', status: 'rejected' } });
  const attempt = await eventually(() => named('attempt', w.id)[0]);
  expect(attempt.attributes).toMatchObject({ 'http.response.status_code': 410, 'error.type': 'http_410' });
  expect(attempt.status.code).toBe(2); // SpanStatusCode.ERROR
});

it("a retry's attempt is in the same trace, a child of the ingest span", async () => {
  let calls = 0;
  s.rx.respond = (r) => (r.path === '/flaky' && calls++ === 0 ? { status: 503 } : {});
  const w = await s.webhook({ url: s.rx.url('/flaky'), topics: ['deviceauth'] });
  await s.send({ id: 'evt-trace-5', type: 'device-status-changed', data: { id: 'dev-5', status: 'accepted' } });
  const attempts = await eventually(() => {
    const a = named('attempt', w.id);
    return a.length >= 2 && a;
  });
  const ingest = exporter.getFinishedSpans().find((sp) => sp.name === 'POST /v1/events')!;
  const [fanout] = named('fanout', 'evt-trace-5');
  const [first, retry] = attempts.sort(
    (a, b) => Number(a.attributes['devhooks.attempt']) - Number(b.attributes['devhooks.attempt']),
  );
  expect(first.attributes).toMatchObject({ 'http.response.status_code': 503, 'devhooks.outcome': 'retry' });
  expect(retry.attributes).toMatchObject({ 'http.response.status_code': 200, 'devhooks.attempt': 2 });
  for (const a of attempts) expect(a.spanContext().traceId).toBe(ingest.spanContext().traceId);
  expect(parentOf(first)).toBe(fanout.spanContext().spanId);
  expect(parentOf(retry)).toBe(ingest.spanContext().spanId);
});

it("continues a producer's trace: the ingest span is the child of its traceparent header", async () => {
  const producer = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
  const r = await s.api.call('POST', '/v1/events', {
    token: s.org.key,
    headers: { traceparent: producer },
    body: { id: 'evt-trace-3', type: 'device-status-changed', data: { id: 'dev-3', status: 'accepted' } },
  });
  expect(r.status).toBe(202);
  const ingest = await eventually(() => exporter.getFinishedSpans().find((sp) => sp.name === 'POST /v1/events'));
  expect(ingest.spanContext().traceId).toBe('0af7651916cd43dd8448eb211c80319c');
  expect(parentOf(ingest)).toBe('b7ad6b7169203331');
});

it('tracing off: no span is made and entries carry no traceparent', async () => {
  await stopTracing();
  expect(tracingOn()).toBe(false);
  exporter.reset();
  await s.send({ id: 'evt-trace-4', type: 'device-status-changed', data: { id: 'dev-3', status: 'accepted' } });
  const entry = await lastEntryOf(s);
  expect(entry.id).toBe('evt-trace-4');
  expect(entry.traceparent).toBeUndefined();
  await eventually(() => s.rx.on('/ok').some((r) => r.headers['webhook-id'] === 'evt-trace-4'));
  expect(exporter.getFinishedSpans()).toHaveLength(0);
});
