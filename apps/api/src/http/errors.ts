/** Errors in the contract's JSON shape: `{"error": {"code", "message", "details"}}`. */
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

export function errorHandler(logger: Logger): ErrorRequestHandler {
  return (err, req, res, _next) => {
    if (res.headersSent) return;
    if (err instanceof ApiError) {
      if (err.headers) res.set(err.headers);
      res.status(err.status).json(errorBody(err.code, err.message, err.details));
      return;
    }
    // errors body-parser-style middleware may raise
    const status = (err as { status?: number }).status;
    if (status && status >= 400 && status < 500) {
      res.status(status).json(errorBody('invalid_request', (err as Error).message));
      return;
    }
    if (isRedisUnavailable(err)) {
      logger.warn('Redis unavailable', { method: req.method, path: req.path, error: (err as Error).message });
      res.set('Retry-After', '5');
      res.status(503).json(errorBody('unavailable', 'storage is unavailable; nothing was changed, retry later'));
      return;
    }
    logger.error('request failed', { method: req.method, path: req.path, error: (err as Error).stack ?? String(err) });
    res.status(500).json(errorBody('internal', 'internal error; the request may be retried'));
  };
}
