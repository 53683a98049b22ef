/** Events in (contract §4): checked whole, appended atomically, 202 only once Redis has them. */
import type { Router } from 'express';
import { checkEvents, eventsOf, MAX_EVENTS_PER_REQUEST } from '@devhooks/core';
import { appendEvents, tracingOn, withServerSpan } from '@devhooks/engine';
import type { ApiDeps } from '../deps';
import { orgFor, PRODUCE_ROLES } from '../http/auth';
import { ApiError, badRequest } from '../http/errors';
import { routeGroup } from '../http/routing';

/** Seconds a producer is asked to wait when the backlog is over its bound. */
export const BACKLOG_RETRY_AFTER_S = 5;

/** The span of `POST /v1/events` when tracing is on (its traceparent goes into each stream entry). */
const SPAN = 'POST /v1/events';

/**
 * POST /v1/events once the caller's org is known: checks the body whole and appends it, or
 * throws the ApiError to answer. Shared by the express route and the server's fast path.
 * `traceparent`: the request's header, the parent of the ingest span when tracing is on.
 */
export function acceptEvents(
  d: ApiDeps,
  org: string,
  body: unknown,
  o: { traceparent?: string | string[] } = {},
): Promise<EventsAccepted> {
  if (!tracingOn()) return accept(d, org, body);
  const parent = typeof o.traceparent === 'string' ? o.traceparent : undefined;
  const attributes = { 'http.request.method': 'POST', 'http.route': '/v1/events', 'devhooks.org_id': org };
  return withServerSpan(SPAN, { traceparent: parent, attributes }, async (traceparent, span) => {
    const out = await accept(d, org, body, traceparent);
    span.setAttributes({ 'devhooks.accepted': out.accepted, 'devhooks.duplicates': out.duplicates });
    return out;
  });
}

async function accept(d: ApiDeps, org: string, body: unknown, traceparent?: string): Promise<EventsAccepted> {
  if (body === undefined) throw badRequest('a JSON body is required: one event, or {"events": [...]}');
  const parsed = eventsOf(body);
  if ('error' in parsed) {
    d.metrics.eventsRejected.inc({ reason: 'invalid' });
    throw badRequest('invalid events', [parsed.error]);
  }
  if (parsed.list.length > MAX_EVENTS_PER_REQUEST) {
    d.metrics.eventsRejected.inc({ reason: 'too_large' }, parsed.list.length);
    throw new ApiError(
      413,
      'payload_too_large',
      `a batch holds at most ${MAX_EVENTS_PER_REQUEST} events, not ${parsed.list.length}`,
    );
  }
  const checked = checkEvents(parsed.list, org, parsed.batch);
  if (!checked.ok) {
    d.metrics.eventsRejected.inc({ reason: 'invalid' }, parsed.list.length);
    throw badRequest(
      parsed.batch ? 'the batch has invalid events; none was accepted' : 'invalid event',
      checked.details,
    );
  }
  if (traceparent) for (const e of checked.events) e.traceparent = traceparent;
  const plan = d.shardLayout.planNow() ?? (await d.shardLayout.plan());
  const result = await appendEvents(d.redis, checked.events, {
    keys: d.keys,
    shards: plan.shards,
    lookupShardCounts: plan.lookups,
    maxBacklog: d.config.maxBacklog,
    replicas: d.config.ingestReplicas,
  });
  if (!result.ok) {
    d.metrics.eventsRejected.inc({ reason: 'backlog' }, checked.events.length);
    throw new ApiError(
      429,
      'backlog_full',
      `${result.backlog} events are waiting for delivery (bound ${d.config.maxBacklog}); retry later`,
      undefined,
      { 'Retry-After': String(BACKLOG_RETRY_AFTER_S) },
    );
  }
  d.metrics.eventsAccepted.inc(result.accepted);
  if (result.duplicates) d.metrics.eventsDuplicate.inc(result.duplicates);
  return { accepted: result.accepted, duplicates: result.duplicates, ids: result.ids };
}

export interface EventsAccepted {
  accepted: number;
  duplicates: number;
  ids: string[];
}

export function eventRoutes(d: ApiDeps): Router {
  const r = routeGroup();

  r.post('/v1/events', async (req, res) => {
    const traceparent = req.headers.traceparent;
    res.status(202).json(await acceptEvents(d, orgFor(res, PRODUCE_ROLES), req.body, { traceparent }));
  });

  return r;
}
