/** Errors in the JSON shape of docs/contract.md §4: `{"error": {"code", "message", "details"}}`. */
import type { ErrorRequestHandler, RequestHandler } from 'express';
import type { ErrorDetail } from '@devhooks/core';
import { CommandNotSentError, OutcomeUnknownError, type Logger } from '@devhooks/engine';

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

/** Seconds a client is asked to wait when storage is unavailable. */
export const UNAVAILABLE_RETRY_AFTER_S = 5;

function unavailable(message: string) {
  return {
    status: 503,
    headers: { 'Retry-After': String(UNAVAILABLE_RETRY_AFTER_S) },
    body: errorBody('unavailable', message),
  };
}

/** ioredis's ways of saying Redis cannot be reached right now. */
function isRedisUnavailable(err: unknown): boolean {
  const e = err as { name?: string; code?: string; message?: string };
  return (
    e?.name === 'MaxRetriesPerRequestError' ||
    e?.name === 'AbortError' ||
    e?.code === 'ECONNREFUSED' ||
    /Connection is closed|Stream isn't writeable|connect ECONNREFUSED|Reached the max retries|Command (aborted|timed out)/.test(
      e?.message ?? '',
    )
  );
}

/**
 * A failure before the request changed anything (identifying the caller, say): Redis being
 * unavailable then means nothing was changed, and the answer says so.
 */
export function failedBeforeAnyChange(err: unknown): unknown {
  return isRedisUnavailable(err) ? new CommandNotSentError((err as Error).message) : err;
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
  if (err instanceof OutcomeUnknownError) {
    logger.warn('Redis connection lost mid-request: outcome unknown', { method, path, error: err.message });
    const body = errorBody(
      'outcome_unknown',
      'storage was lost after the request was sent to it: it may or may not have been applied. ' +
        'Retry it with the same event ids: events sent again within 24 h with an id already accepted ' +
        'count as duplicates and are not delivered twice (events sent without an id cannot be recognised)',
    );
    // a batch across shards: every id, generated ones included, to send again with
    const ids = (err as { ids?: string[] }).ids;
    const withIds = ids ? { error: { ...body.error, ids } } : body;
    return { status: 503, headers: { 'Retry-After': String(UNAVAILABLE_RETRY_AFTER_S) }, body: withIds };
  }
  if (err instanceof CommandNotSentError) {
    logger.warn('Redis unavailable', { method, path, error: err.message });
    return unavailable('storage is unavailable; nothing was changed, retry later');
  }
  if (isRedisUnavailable(err)) {
    logger.warn('Redis unavailable', { method, path, error: (err as Error).message });
    // only a read surely changed nothing: a write may have reached Redis before it failed
    return unavailable(
      method === 'GET' || method === 'HEAD'
        ? 'storage is unavailable; retry later'
        : 'storage is unavailable; the change may or may not have been applied: read it back before retrying',
    );
  }
  logger.error('request failed', { method, path, error: (err as Error).stack ?? String(err) });
  return { status: 500, headers: {}, body: errorBody('internal', 'internal error; the request may be retried') };
}

/** Bull Board's own errors (its JSON body parser's among them) in the contract's shape, no stack. */
export function boardErrorResponse(err: Error & { status?: number; statusCode?: number }) {
  const status = err.status ?? err.statusCode ?? 500;
  return status >= 400 && status < 500
    ? { status, body: errorBody('invalid_request', err.message) }
    : { status: 500, body: errorBody('internal', 'the dashboard failed; the request may be retried') };
}

export function errorHandler(logger: Logger): ErrorRequestHandler {
  return (err, req, res, _next) => {
    if (res.headersSent) return;
    const r = errorResponse(err, logger, req.method, req.path);
    res.set(r.headers);
    res.status(r.status).json(r.body);
  };
}
