/**
 * OpenTelemetry tracing, off unless configured (OTEL_EXPORTER_OTLP_ENDPOINT, read in core env.ts).
 * An event's way is one trace: the `POST /v1/events` span at ingest, its W3C traceparent carried in
 * the stream entry (log/stream-codec.ts), a `fanout` span per event in the worker (a child of the
 * ingest span), and an `attempt` span per delivery attempt (a child of the fan-out span; a retry's
 * attempt is a child of the ingest span).
 *
 * Off, the hot path costs one boolean check: `tracingOn()` is false and no span object is made.
 */
import {
  defaultTextMapGetter,
  defaultTextMapSetter,
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  trace,
  type Attributes,
  type Context,
  type Span,
  type Tracer,
} from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  BasicTracerProvider,
  BatchSpanProcessor,
  SimpleSpanProcessor,
  type SpanExporter,
} from '@opentelemetry/sdk-trace-base';

export interface TracingConfig {
  /** OTEL_EXPORTER_OTLP_ENDPOINT: the collector's base URL (spans go to `<endpoint>/v1/traces`). */
  endpoint?: string;
  /** OTEL_SERVICE_NAME; default: the process's name. */
  serviceName?: string;
}

export interface StartTracingOptions {
  /** The process's name (`devhooks-api`, …), the service name when the config names none. */
  processName: string;
  /** Spans go here instead of OTLP, each as soon as it ends (tests: InMemorySpanExporter). */
  exporter?: SpanExporter;
}

let tracer: Tracer | undefined;
const propagator = new W3CTraceContextPropagator();
/** A fan-out span's context per event in memory: its attempts become its children. */
const fanoutContexts = new WeakMap<object, Context>();

/** Whether spans are made; the guard every hot-path call site checks first. */
export function tracingOn(): boolean {
  return tracer !== undefined;
}

/**
 * Starts tracing when an endpoint (or an exporter) is given; resolves the returned shutdown to flush
 * and stop. Without one it does nothing and the shutdown is a no-op.
 */
export function startTracing(config: TracingConfig, o: StartTracingOptions): () => Promise<void> {
  if (!config.endpoint && !o.exporter) return async () => {};
  const processor = o.exporter
    ? new SimpleSpanProcessor(o.exporter)
    : new BatchSpanProcessor(new OTLPTraceExporter({ url: `${config.endpoint!.replace(/\/+$/, '')}/v1/traces` }));
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({ 'service.name': config.serviceName ?? o.processName }),
    spanProcessors: [processor],
  });
  const mine = provider.getTracer('devhooks');
  tracer = mine;
  return async () => {
    if (tracer === mine) tracer = undefined;
    await provider.shutdown();
  };
}

/** The W3C traceparent of a span (what a stream entry carries). */
export function traceparentOf(span: Span): string | undefined {
  const carrier: Record<string, string> = {};
  propagator.inject(trace.setSpan(ROOT_CONTEXT, span), carrier, defaultTextMapSetter);
  return carrier.traceparent;
}

/** The context a traceparent names (the root context when it is absent or malformed). */
export function traceContextOf(traceparent: string | undefined): Context {
  if (!traceparent) return ROOT_CONTEXT;
  return propagator.extract(ROOT_CONTEXT, { traceparent }, defaultTextMapGetter);
}

/**
 * Runs `fn` inside a server span named `name` (a child of the caller's traceparent header when it
 * sends one), handing it the span's traceparent; the span ends with `fn`. Call only when `tracingOn()`.
 */
export async function withServerSpan<T>(
  name: string,
  o: { traceparent?: string; attributes?: Attributes },
  fn: (traceparent: string | undefined, span: Span) => Promise<T>,
): Promise<T> {
  const span = tracer!.startSpan(
    name,
    { kind: SpanKind.SERVER, attributes: o.attributes },
    traceContextOf(o.traceparent),
  );
  return endingSpan(
    span,
    () => fn(traceparentOf(span), span),
    () => span.setStatus({ code: SpanStatusCode.OK }),
  );
}

/** Runs `run`, then `settle` with its result (or records its error), and ends the span. */
async function endingSpan<T>(span: Span, run: () => Promise<T>, settle: (out: T) => void): Promise<T> {
  try {
    const out = await run();
    settle(out);
    return out;
  } catch (err) {
    recordSpanError(span, err);
    throw err;
  } finally {
    span.end();
  }
}

/** Records an error on a span. */
export function recordSpanError(span: Span, err: unknown): void {
  span.recordException(err as Error);
  span.setStatus({ code: SpanStatusCode.ERROR, message: (err as Error)?.message });
}

export interface FannedEvent {
  org: string;
  id: string;
  type: string;
  traceparent?: string;
}

/**
 * The `fanout` span of one event (a child of its ingest span): made and ended when its deliveries
 * are planned; their attempts become its children. Call only when `tracingOn()`.
 */
export function traceFanout(event: FannedEvent, o: { entryId: string; webhooks: number; shard: number }): void {
  const parent = traceContextOf(event.traceparent);
  const span = tracer!.startSpan(
    'fanout',
    {
      kind: SpanKind.CONSUMER,
      attributes: {
        'devhooks.org_id': event.org,
        'devhooks.event_id': event.id,
        'devhooks.event_type': event.type,
        'devhooks.entry_id': o.entryId,
        'devhooks.shard': o.shard,
        'devhooks.webhooks': o.webhooks,
      },
    },
    parent,
  );
  fanoutContexts.set(event, trace.setSpan(parent, span));
  span.end();
}

export interface AttemptSpanInput {
  id: string;
  events: FannedEvent[];
  target: { id: string; origin: string };
  topic: string;
  trigger?: string;
}

export interface AttemptSpanResult {
  outcome: string;
  record: { attempts: number; status_code: number | null; error: string | null; status: string };
}

/**
 * Runs one attempt inside an `attempt` span (a child of its event's fan-out span, else of its
 * ingest span), with the org, webhook and delivery ids, the status code and the error. Call only
 * when `tracingOn()`.
 */
export async function traceAttempt<R extends AttemptSpanResult>(
  d: AttemptSpanInput,
  run: () => Promise<R>,
): Promise<R> {
  const first = d.events[0];
  const parent = (first && fanoutContexts.get(first)) ?? traceContextOf(first?.traceparent);
  const span = tracer!.startSpan(
    'attempt',
    {
      kind: SpanKind.CLIENT,
      attributes: {
        'devhooks.org_id': first?.org ?? '',
        'devhooks.webhook_id': d.target.id,
        'devhooks.delivery_id': d.id,
        'devhooks.topic': d.topic,
        'devhooks.events': d.events.length,
        'server.address': d.target.origin,
        ...(d.trigger ? { 'devhooks.trigger': d.trigger } : {}),
      },
    },
    parent,
  );
  return endingSpan(span, run, (out) => {
    const r = out.record;
    span.setAttributes({
      'devhooks.outcome': out.outcome,
      'devhooks.attempt': r.attempts,
      'devhooks.status': r.status,
    });
    if (r.status_code !== null) span.setAttribute('http.response.status_code', r.status_code);
    if (r.error) {
      span.setAttribute('error.type', r.error);
      span.setStatus({ code: SpanStatusCode.ERROR, message: r.error });
    } else span.setStatus({ code: SpanStatusCode.OK });
  });
}
