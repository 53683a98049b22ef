/**
 * Outgoing HTTP (undici): keep-alive pools per origin, one deadline from connect to last byte,
 * no redirects, at most 4 KiB of the response kept, and the address policy applied to the address
 * actually dialled (a custom lookup and connector), so DNS rebinding cannot reach a private address.
 */
import dns from 'node:dns';
import type { LookupAddress, LookupOptions } from 'node:dns';
import { Agent, buildConnector } from 'undici';
import { checkAddress, isIpLiteral } from '@devhooks/core';

export const RESPONSE_BODY_LIMIT = 4096;
const RESPONSE_HEADERS_LIMIT = 4096;

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

  async send(req: SendRequest): Promise<SendResult> {
    const started = performance.now();
    const ac = new AbortController();
    const timer = setTimeout(() => ac.abort(new DOMException('attempt timed out', 'TimeoutError')), this.o.timeoutMs);
    let statusCode: number | undefined;
    let responseHeaders: Record<string, string> | undefined;
    let retryAfter: string | undefined;
    try {
      const res = await this.agent.request({
        origin: req.origin,
        path: req.path,
        method: 'POST',
        headers: req.headers,
        body: req.body,
        signal: ac.signal,
        headersTimeout: this.o.timeoutMs,
        bodyTimeout: this.o.timeoutMs,
      });
      statusCode = res.statusCode;
      responseHeaders = {};
      let hbytes = 0;
      for (const [k, v] of Object.entries(res.headers)) {
        const value = Array.isArray(v) ? v.join(', ') : String(v ?? '');
        hbytes += k.length + value.length;
        if (hbytes > RESPONSE_HEADERS_LIMIT) break;
        responseHeaders[k] = value;
      }
      retryAfter = responseHeaders['retry-after'];
      const chunks: Buffer[] = [];
      let kept = 0;
      for await (const chunk of res.body) {
        const b = chunk as Buffer;
        if (kept < RESPONSE_BODY_LIMIT) {
          const part = b.subarray(0, RESPONSE_BODY_LIMIT - kept);
          chunks.push(part);
          kept += part.length;
        }
        if (kept >= RESPONSE_BODY_LIMIT) {
          // the rest is not kept; let undici drain (or drop) it within the deadline
          await res.body.dump({ limit: 1 << 20 }).catch(() => undefined);
          break;
        }
      }
      return {
        statusCode,
        durationMs: Math.round(performance.now() - started),
        responseHeaders,
        responseBody: Buffer.concat(chunks).toString('utf8'),
        retryAfter,
      };
    } catch (err) {
      const { code, message } = errorCode(ac.signal.aborted ? ac.signal.reason ?? err : err);
      const r: SendResult = { error: code, errorMessage: message, durationMs: Math.round(performance.now() - started) };
      if (statusCode !== undefined) {
        r.statusCode = statusCode;
        r.responseHeaders = responseHeaders;
      }
      return r;
    } finally {
      clearTimeout(timer);
    }
  }

  async close(): Promise<void> {
    await this.agent.close();
  }

  destroy(): Promise<void> {
    return this.agent.destroy();
  }
}
