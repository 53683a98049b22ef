/**
 * Outgoing HTTP (undici): keep-alive pools per origin, one deadline from connect to last byte,
 * no redirects, at most 4 KiB of the response kept, and transport errors named in core's
 * delivery-error vocabulary. Connections go through the address policy of `dial-policy.ts`.
 */
import type { IncomingHttpHeaders } from 'node:http';
import { Agent, type Dispatcher } from 'undici';
import type { SendError } from '@devhooks/core';
import { BLOCKED_ADDRESS_CODE, policyConnector } from './dial-policy';

export const RESPONSE_BODY_LIMIT = 4096;
const RESPONSE_HEADERS_LIMIT = 4096;
/** Response bytes read (and dropped) past the kept 4 KiB before the connection is closed instead. */
const DRAIN_LIMIT = 1 << 20;

class TimeoutError extends Error {
  override name = 'TimeoutError';
}

export interface SendRequest {
  origin: string;
  path: string;
  /** A flat [name, value, name, value, ...] list, or an object. */
  headers: string[] | Record<string, string>;
  body: string;
}

export interface SendResult {
  statusCode?: number;
  /** Set when no HTTP answer came (core's delivery-error vocabulary). */
  error?: SendError;
  errorMessage?: string;
  durationMs: number;
  responseHeaders?: Record<string, string>;
  responseBody?: string;
  retryAfter?: string;
  /**
   * Set on a timeout whose deadline fired well after it was due: this process could not run
   * meanwhile (a long GC pause, CPU starvation, a frozen container), so the timeout says nothing
   * about the receiver (docs/decisions/0007-ordered-delivery.md, "stalls").
   */
  stalled?: true;
}

/** How late a deadline may fire before its timeout is put down to a stall of ours (ms). */
export function stallToleranceMs(timeoutMs: number): number {
  return Math.max(250, Math.floor(timeoutMs / 4));
}

export interface SenderOptions {
  timeoutMs: number;
  allowPrivateTargets: boolean;
  /** Connections per origin. */
  connectionsPerOrigin: number;
}

function errorCode(err: unknown): { code: SendError; message: string } {
  const e = err as { code?: string; name?: string; message?: string; cause?: unknown };
  const c = e?.code ?? '';
  const message = e?.message ?? String(err);
  if (c === BLOCKED_ADDRESS_CODE) return { code: 'blocked_address', message };
  if (e?.name === 'AbortError' || e?.name === 'TimeoutError' || /TIMEOUT/.test(c)) return { code: 'timeout', message };
  if (c === 'ECONNREFUSED') return { code: 'connection_refused', message };
  if (c === 'ECONNRESET' || c === 'EPIPE' || c === 'UND_ERR_SOCKET' || c === 'UND_ERR_CLOSED')
    return { code: 'connection_reset', message };
  if (c === 'ENOTFOUND' || c === 'EAI_AGAIN' || c === 'EAI_NONAME') return { code: 'dns_error', message };
  if (/^(ERR_TLS|ERR_SSL|CERT_|UNABLE_TO|DEPTH_ZERO|SELF_SIGNED)/.test(c)) return { code: 'tls_error', message };
  if (e?.cause) return errorCode(e.cause);
  return { code: 'network_error', message };
}

export class Sender {
  private readonly agent: Agent;

  constructor(private readonly o: SenderOptions) {
    const connect = policyConnector({ timeoutMs: o.timeoutMs, allowPrivateTargets: o.allowPrivateTargets });
    this.agent = new Agent({
      connections: o.connectionsPerOrigin,
      pipelining: 1,
      keepAliveTimeout: 30_000,
      keepAliveMaxTimeout: 600_000,
      // undici 7 follows no redirects unless a redirect interceptor is composed in: none is.
      connect,
    } as Agent.Options);
  }

  /**
   * One POST. Uses undici's dispatch API directly (no streams, no AbortController): the handler
   * keeps the first 4 KiB of the response, drains the rest (aborting past 1 MiB), and a timer
   * aborts the request at the deadline, whatever phase it is in.
   */
  send(req: SendRequest): Promise<SendResult> {
    return new Promise<SendResult>((resolve) => {
      const h = new AttemptHandler(resolve, this.o.timeoutMs);
      try {
        this.agent.dispatch(
          {
            origin: req.origin,
            path: req.path,
            method: 'POST',
            headers: req.headers,
            body: req.body,
            // the handler's deadline covers every phase; undici's own timers would fire in the
            // same timer pass after a stall and cut the deadline's look at what already arrived
            headersTimeout: 0,
            bodyTimeout: 0,
          },
          h,
        );
      } catch (err) {
        h.fail(err);
      }
    });
  }

  async close(): Promise<void> {
    await this.agent.close();
  }

  destroy(): Promise<void> {
    return this.agent.destroy();
  }
}

/** One attempt's undici handler (a class: one object per request, no closures). */
class AttemptHandler implements Dispatcher.DispatchHandler {
  private readonly started = performance.now();
  private readonly timer: NodeJS.Timeout;
  private controller: Dispatcher.DispatchController | undefined;
  private done = false;
  /** The deadline passed (its verdict waits one turn of I/O): a request not yet started never starts. */
  private late = false;
  private statusCode: number | undefined;
  private responseHeaders: Record<string, string> | undefined;
  private chunks: Buffer[] = [];
  private kept = 0;
  private seen = 0;

  constructor(
    private readonly resolve: (r: SendResult) => void,
    private readonly timeoutMs: number,
  ) {
    this.timer = setTimeout(() => this.onDeadline(), timeoutMs);
  }

  /**
   * The deadline is judged after one turn of I/O (setImmediate runs after the poll phase): after a
   * stall of this process, timers fire before the sockets are read, and an answer that arrived in
   * time would otherwise be taken for a timeout.
   */
  private onDeadline(): void {
    this.late = true;
    setImmediate(() => {
      if (this.done) return;
      const err = new TimeoutError(`no complete response within ${this.timeoutMs} ms`);
      this.fail(err);
      this.controller?.abort(err);
    });
  }

  private finish(r: Omit<SendResult, 'durationMs'>): void {
    if (this.done) return;
    this.done = true;
    clearTimeout(this.timer);
    (r as SendResult).durationMs = Math.round(performance.now() - this.started);
    this.resolve(r as SendResult);
  }

  fail(err: unknown): void {
    const { code, message } = errorCode(err);
    const r: Omit<SendResult, 'durationMs'> = { error: code, errorMessage: message };
    if (code === 'timeout' && performance.now() - this.started > this.timeoutMs + stallToleranceMs(this.timeoutMs))
      r.stalled = true;
    if (this.statusCode !== undefined) {
      r.statusCode = this.statusCode;
      r.responseHeaders = this.responseHeaders;
    }
    this.finish(r);
  }

  private finishWithResponse(): void {
    const c = this.chunks;
    this.finish({
      statusCode: this.statusCode,
      responseHeaders: this.responseHeaders,
      responseBody: c.length === 0 ? '' : c.length === 1 ? c[0].toString('utf8') : Buffer.concat(c).toString('utf8'),
      retryAfter: this.responseHeaders?.['retry-after'],
    });
  }

  onRequestStart(c: Dispatcher.DispatchController): void {
    this.controller = c;
    if (this.done || this.late) c.abort(new TimeoutError('deadline passed before the request started'));
  }

  onResponseStart(_c: Dispatcher.DispatchController, status: number, headers: IncomingHttpHeaders): void {
    this.statusCode = status;
    // usually kept as undici parsed them (no copy); copied only to join repeated headers or to cut
    // them at 4 KiB
    let bytes = 0;
    let plain = true;
    for (const k in headers) {
      const v = headers[k];
      if (typeof v !== 'string') plain = false;
      bytes += k.length + (typeof v === 'string' ? v.length : String(v ?? '').length);
    }
    if (plain && bytes <= RESPONSE_HEADERS_LIMIT) {
      this.responseHeaders = headers as Record<string, string>;
      return;
    }
    const out: Record<string, string> = {};
    bytes = 0;
    for (const k in headers) {
      const v = headers[k];
      const value = Array.isArray(v) ? v.join(', ') : String(v ?? '');
      bytes += k.length + value.length;
      if (bytes > RESPONSE_HEADERS_LIMIT) break;
      out[k] = value;
    }
    this.responseHeaders = out;
  }

  onResponseData(c: Dispatcher.DispatchController, chunk: Buffer): void {
    this.seen += chunk.length;
    if (this.kept < RESPONSE_BODY_LIMIT) {
      const room = RESPONSE_BODY_LIMIT - this.kept;
      const part = chunk.length > room ? chunk.subarray(0, room) : chunk;
      this.chunks.push(part);
      this.kept += part.length;
    }
    // the rest is read and dropped, so the connection can be reused; past 1 MiB it is not worth it
    if (this.seen > DRAIN_LIMIT) {
      this.finishWithResponse();
      c.abort(new Error('response body over 1 MiB: connection closed'));
    }
  }

  onResponseEnd(): void {
    this.finishWithResponse();
  }

  onResponseError(_c: Dispatcher.DispatchController, err: Error): void {
    this.fail(err);
  }
}
