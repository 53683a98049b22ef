/**
 * Outgoing HTTP (undici): keep-alive pools per origin, one deadline from connect to last byte,
 * no redirects, at most 4 KiB of the response kept, and the address policy applied to the address
 * actually dialled (a custom lookup and connector), so DNS rebinding cannot reach a private address.
 */
import dns from 'node:dns';
import type { LookupAddress, LookupOptions } from 'node:dns';
import { Agent, buildConnector, type Dispatcher } from 'undici';
import { checkAddress, isIpLiteral } from '@devhooks/core';

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
  headers: Record<string, string>;
  body: string;
}

export interface SendResult {
  statusCode?: number;
  /** Short code: timeout, connection_refused, connection_reset, dns_error, tls_error, blocked_address, network_error. */
  error?: string;
  errorMessage?: string;
  durationMs: number;
  responseHeaders?: Record<string, string>;
  responseBody?: string;
  retryAfter?: string;
}

export interface SenderOptions {
  timeoutMs: number;
  allowPrivateTargets: boolean;
  /** Connections per origin. */
  connectionsPerOrigin: number;
}

class BlockedAddressError extends Error {
  code = 'EBLOCKEDADDRESS';
}

type LookupCallback = (err: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void;

/** dns.lookup, minus every address the policy refuses; fails when none is left. */
export function safeLookup(hostname: string, options: LookupOptions, callback: LookupCallback): void {
  dns.lookup(hostname, { ...options, all: true }, (err, addresses) => {
    if (err) return callback(err, '');
    const allowed = addresses.filter((a) => checkAddress(a.address).allowed);
    if (!allowed.length) {
      const ranges = addresses.map((a) => `${a.address} (${checkAddress(a.address).range})`).join(', ');
      return callback(new BlockedAddressError(`${hostname} resolves only to refused addresses: ${ranges}`), '');
    }
    if (options.all) callback(null, allowed);
    else callback(null, allowed[0].address, allowed[0].family);
  });
}

function errorCode(err: unknown): { code: string; message: string } {
  const e = err as { code?: string; name?: string; message?: string; cause?: unknown };
  const c = e?.code ?? '';
  const message = e?.message ?? String(err);
  if (c === 'EBLOCKEDADDRESS') return { code: 'blocked_address', message };
  if (e?.name === 'AbortError' || e?.name === 'TimeoutError' || /TIMEOUT/.test(c)) return { code: 'timeout', message };
  if (c === 'ECONNREFUSED') return { code: 'connection_refused', message };
  if (c === 'ECONNRESET' || c === 'EPIPE' || c === 'UND_ERR_SOCKET' || c === 'UND_ERR_CLOSED') return { code: 'connection_reset', message };
  if (c === 'ENOTFOUND' || c === 'EAI_AGAIN' || c === 'EAI_NONAME') return { code: 'dns_error', message };
  if (/^(ERR_TLS|ERR_SSL|CERT_|UNABLE_TO|DEPTH_ZERO|SELF_SIGNED)/.test(c)) return { code: 'tls_error', message };
  if (e?.cause) return errorCode(e.cause);
  return { code: 'network_error', message };
}

export class Sender {
  private readonly agent: Agent;

  constructor(private readonly o: SenderOptions) {
    const base = buildConnector({
      timeout: o.timeoutMs,
      ...(o.allowPrivateTargets ? {} : { lookup: safeLookup }),
    } as buildConnector.BuildOptions);
    const connect: buildConnector.connector = (opts, cb) => {
      if (!o.allowPrivateTargets && isIpLiteral(opts.hostname)) {
        const v = checkAddress(opts.hostname);
        if (!v.allowed) {
          cb(new BlockedAddressError(`${opts.hostname} is a ${v.range} address`), null);
          return;
        }
      }
      base(opts, cb);
    };
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
    const started = performance.now();
    return new Promise<SendResult>((resolve) => {
      let controller: Dispatcher.DispatchController | undefined;
      let done = false;
      let statusCode: number | undefined;
      let responseHeaders: Record<string, string> | undefined;
      const chunks: Buffer[] = [];
      let kept = 0;
      let seen = 0;
      const finish = (r: Omit<SendResult, 'durationMs'>) => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        resolve({ ...r, durationMs: Math.round(performance.now() - started) });
      };
      const fail = (err: unknown) => {
        const { code, message } = errorCode(err);
        const r: Omit<SendResult, 'durationMs'> = { error: code, errorMessage: message };
        if (statusCode !== undefined) {
          r.statusCode = statusCode;
          r.responseHeaders = responseHeaders;
        }
        finish(r);
      };
      const timer = setTimeout(() => {
        const err = new TimeoutError(`no complete response within ${this.o.timeoutMs} ms`);
        fail(err);
        controller?.abort(err);
      }, this.o.timeoutMs);
      const handler: Dispatcher.DispatchHandler = {
        onRequestStart: (c) => {
          controller = c;
          if (done) c.abort(new TimeoutError('deadline passed before the request started'));
        },
        onResponseStart: (_c, status, headers) => {
          statusCode = status;
          responseHeaders = {};
          let bytes = 0;
          for (const k in headers) {
            const v = headers[k];
            const value = Array.isArray(v) ? v.join(', ') : String(v ?? '');
            bytes += k.length + value.length;
            if (bytes > RESPONSE_HEADERS_LIMIT) break;
            responseHeaders[k] = value;
          }
        },
        onResponseData: (c, chunk) => {
          seen += chunk.length;
          if (kept < RESPONSE_BODY_LIMIT) {
            const part = chunk.length > RESPONSE_BODY_LIMIT - kept ? chunk.subarray(0, RESPONSE_BODY_LIMIT - kept) : chunk;
            chunks.push(part);
            kept += part.length;
          }
          // the rest is read and dropped, so the connection can be reused; past 1 MiB it is not worth it
          if (seen > DRAIN_LIMIT) {
            finishWithResponse();
            c.abort(new Error('response body over 1 MiB: connection closed'));
          }
        },
        onResponseEnd: () => finishWithResponse(),
        onResponseError: (_c, err) => fail(err),
      };
      const finishWithResponse = () =>
        finish({
          statusCode,
          responseHeaders,
          responseBody: chunks.length === 1 ? chunks[0].toString('utf8') : Buffer.concat(chunks).toString('utf8'),
          retryAfter: responseHeaders?.['retry-after'],
        });
      try {
        this.agent.dispatch(
          {
            origin: req.origin,
            path: req.path,
            method: 'POST',
            headers: req.headers,
            body: req.body,
            headersTimeout: this.o.timeoutMs,
            bodyTimeout: this.o.timeoutMs,
          },
          handler,
        );
      } catch (err) {
        fail(err);
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
