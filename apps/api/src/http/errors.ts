/** Errors in the JSON shape of docs/contract.md §4: `{"error": {"code", "message", "details"}}`. */
import type { ErrorRequestHandler, RequestHandler } from 'express';
import type { ErrorDetail } from '@devhooks/core';
import type { Logger } from '@devhooks/engine';

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details?: ErrorDetail[],
    readonly headers?: Record<string, string>,
  ) {
    super(message);
  }
}

export const badRequest = (message: string, details?: ErrorDetail[]) =>
  new ApiError(400, 'invalid_request', message, details);
export const notFound = (what: string) => new ApiError(404, 'not_found', `${what} not found`);
export const forbidden = (message: string) => new ApiError(403, 'forbidden', message);

export function errorBody(code: string, message: string, details?: ErrorDetail[]) {
  return { error: details && details.length ? { code, message, details } : { code, message } };
}

export const notFoundRoute: RequestHandler = (req, _res, next) => {
  next(new ApiError(404, 'not_found', `no route for ${req.method} ${req.path}`));
};

/** ioredis's ways of saying Redis cannot be reached right now. */
function isRedisUnavailable(err: unknown): boolean {
  const e = err as { name?: string; code?: string; message?: string };
  return (
    e?.name === 'MaxRetriesPerRequestError' ||
    e?.code === 'ECONNREFUSED' ||
    /Connection is closed|Stream isn't writeable|connect ECONNREFUSED|Reached the max retries/.test(e?.message ?? '')
  );
}

/** What to answer for an error thrown while handling `method path`. */
export function errorResponse(
  err: unknown,
  logger: Logger,
  method: string,
  path: string,
): { status: number; headers: Record<string, string>; body: ReturnType<typeof errorBody> } {
  if (err instanceof ApiError) {
    return { status: err.status, headers: err.headers ?? {}, body: errorBody(err.code, err.message, err.details) };
  }
  // errors body-parser-style middleware may raise
  const status = (err as { status?: number }).status;
  if (status && status >= 400 && status < 500) {
    return { status, headers: {}, body: errorBody('invalid_request', (err as Error).message) };
  }
  if (isRedisUnavailable(err)) {
    logger.warn('Redis unavailable', { method, path, error: (err as Error).message });
    return {
      status: 503,
      headers: { 'Retry-After': '5' },
      body: errorBody('unavailable', 'storage is unavailable; nothing was changed, retry later'),
    };
  }
  logger.error('request failed', { method, path, error: (err as Error).stack ?? String(err) });
  return { status: 500, headers: {}, body: errorBody('internal', 'internal error; the request may be retried') };
}

export function errorHandler(logger: Logger): ErrorRequestHandler {
  return (err, req, res, _next) => {
    if (res.headersSent) return;
    const r = errorResponse(err, logger, req.method, req.path);
    res.set(r.headers);
    res.status(r.status).json(r.body);
  };
}
