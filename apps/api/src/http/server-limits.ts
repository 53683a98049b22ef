/**
 * What a slow or broken client may cost the API (issue 13, defect 6): its headers and its whole
 * request must arrive in time, idle keep-alive connections close, and connections are capped.
 * A request that breaks these, or is not HTTP, is answered in the contract's JSON error shape.
 */
import http from 'node:http';
import type { Duplex } from 'node:stream';
import type { HttpLimits } from '../config';
import { errorBody } from './errors';

/** Options for `http.createServer`: the timeouts, checked often enough to hold to them. */
export function serverOptions(limits: HttpLimits): http.ServerOptions {
  return {
    headersTimeout: limits.headersTimeoutMs,
    requestTimeout: limits.requestTimeoutMs,
    keepAliveTimeout: limits.keepAliveTimeoutMs,
    // Node checks the two timeouts on this interval (30 s by default, which adds up to 30 s to each)
    connectionsCheckingInterval: Math.max(25, Math.min(1_000, Math.floor(limits.headersTimeoutMs / 4))),
  };
}

/** Applies what `serverOptions` cannot: the connection cap, and JSON answers to client errors. */
export function applyServerLimits(server: http.Server, limits: HttpLimits): void {
  server.keepAliveTimeout = limits.keepAliveTimeoutMs;
  server.maxConnections = limits.maxConnections;
  server.on('clientError', answerClientError);
}

const ANSWERS: Record<string, [number, string, string]> = {
  ERR_HTTP_REQUEST_TIMEOUT: [408, 'request_timeout', 'the request (headers and body) did not arrive in time'],
  HPE_HEADER_OVERFLOW: [431, 'headers_too_large', 'the request headers are too large'],
};

/** Node's own answer to a broken request, in JSON: 408, 431 or 400, then the connection closes. */
function answerClientError(err: NodeJS.ErrnoException, socket: Duplex): void {
  const inFlight = (socket as Duplex & { _httpMessage?: http.ServerResponse })._httpMessage;
  if (err.code !== 'ECONNRESET' && socket.writable && !inFlight?.headersSent) {
    const [status, code, message] = ANSWERS[err.code ?? ''] ?? [400, 'invalid_request', 'not a valid HTTP request'];
    const body = JSON.stringify(errorBody(code, message));
    socket.write(
      `HTTP/1.1 ${status} ${http.STATUS_CODES[status]}\r\nConnection: close\r\n` +
        `Content-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
    );
  }
  socket.destroy();
}
