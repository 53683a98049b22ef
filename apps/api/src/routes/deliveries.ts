/** The delivery log (contract §3): a webhook's deliveries, one delivery in full, and retry by hand. */
import type { Request, Response, Router } from 'express';
import { deliveryBody, deliveryMs, maskHeaderValues, redactedSignatureHeaders, TOPICS, VERSION } from '@devhooks/core';
import {
  deliveryView,
  entryShardsOf,
  loadEvents,
  reopenForManualAttempt,
  retryNow,
  withCurrentHolds,
  type DeliveryFilter,
  type DeliveryRecord,
  type LogListing,
} from '@devhooks/engine';
import type { ApiDeps } from '../deps';
import { orgFor, READ_ROLES, WRITE_ROLES, type Caller } from '../http/auth';
import { notFound } from '../http/errors';
import { QueryReader } from '../http/query';
import { ReadPool } from '../http/read-pool';
import { routeGroup } from '../http/routing';

const STATUSES = ['pending', 'succeeded', 'failed'] as const;

export function deliveryRoutes(d: ApiDeps): Router {
  const r = routeGroup();
  // every process's delivery-log reads share one bounded pool (they must never starve ingest);
  // made at the first request: a route factory touches no deps before one comes
  let readPool: ReadPool | undefined;
  const pool = {
    run: <T>(caller: string, read: () => Promise<T>) =>
      (readPool ??= new ReadPool(d.config.logReads)).run(caller, read),
  };
  const callerOf = (res: Response) => {
    const c = res.locals.caller as Caller | undefined;
    return c?.kind === 'key' ? c.key_id : 'root';
  };

  async function load(org: string, id: string): Promise<DeliveryRecord> {
    const rec = await d.deliveries.get(id);
    if (!rec || rec.org_id !== org) throw notFound('delivery');
    return rec;
  }

  /** The filters and page of a listing, checked (400 naming each bad one). */
  function listQuery(req: Request) {
    const q = new QueryReader(req);
    const filter: DeliveryFilter = {
      status: q.oneOf('status', STATUSES),
      topic: q.oneOf('topic', [...TOPICS, 'ping'] as const),
      status_code: q.int('status_code', 100, 599),
      since: q.time('since'),
      until: q.time('until'),
    };
    const { offset, limit } = q.page();
    const after = q.string('after', 64);
    if (after !== undefined && deliveryMs(after) === undefined)
      q.details.push({ path: '/after', message: 'must be a delivery id' });
    q.done();
    return { filter, page: { offset, limit, after } };
  }

  async function sendListing(res: Response, page: { offset: number; limit: number }, listing: LogListing) {
    // held deliveries of ordered webhooks: who holds them now (docs/contract.md §8)
    const records = await withCurrentHolds(d, listing.deliveries);
    res.json({
      total: listing.total,
      offset: page.offset,
      limit: page.limit,
      deliveries: records.map(deliveryView),
      ...(listing.truncated ? { truncated: true } : {}),
      ...(listing.next ? { next: listing.next } : {}),
    });
  }

  r.get('/v1/webhooks/:id/deliveries', async (req, res) => {
    const org = orgFor(res, READ_ROLES);
    const { filter, page } = listQuery(req);
    const listing = await pool.run(callerOf(res), async () => {
      if (!(await d.webhooks.get(org, req.params.id))) throw notFound('webhook');
      return d.deliveries.list(req.params.id, filter, page);
    });
    await sendListing(res, page, listing);
  });

  /** The whole org's delivery log (the console's Activity page), newest first. */
  r.get('/v1/deliveries', async (req, res) => {
    const org = orgFor(res, READ_ROLES);
    const { filter, page } = listQuery(req);
    await sendListing(res, page, await pool.run(callerOf(res), () => d.deliveries.listOrg(org, filter, page)));
  });

  r.get('/v1/deliveries/:id', async (req, res) => {
    const org = orgFor(res, READ_ROLES);
    const { rec, webhook, events } = await pool.run(callerOf(res), async () => {
      const [rec] = await withCurrentHolds(d, [await load(org, req.params.id)]);
      const [webhook, events] = await Promise.all([
        d.webhooks.get(org, rec.webhook_id),
        loadEvents(d.redis, d.keys, entryShardsOf(rec), rec.entry_ids),
      ]);
      return { rec, webhook, events };
    });
    const last = rec.attempt_log[rec.attempt_log.length - 1];
    const headers: Record<string, string> = {
      'content-type': 'application/json',
      'user-agent': `devhooks/${VERSION}`,
      // the webhook's own header values are receiver credentials: names only (core webhook view)
      ...maskHeaderValues(webhook?.headers ?? {}),
      'webhook-id': rec.message_id,
    };
    if (last) headers['webhook-timestamp'] = String(Math.floor(Date.parse(last.at) / 1000));
    // signature values are never shown: they are derived from the secret
    if (webhook?.secret) Object.assign(headers, redactedSignatureHeaders(webhook.signing));
    res.json({
      ...deliveryView(rec),
      request: {
        method: 'POST',
        url: rec.url,
        headers,
        body: events ? deliveryBody(rec.topic, events) : null,
        ...(events ? {} : { body_unavailable: 'the events have left the stream (retention)' }),
      },
      attempt_log: rec.attempt_log,
    });
  });

  r.post('/v1/deliveries/:id/retry', async (req, res) => {
    const org = orgFor(res, WRITE_ROLES);
    const rec = await load(org, req.params.id);
    const webhook = await d.webhooks.get(org, rec.webhook_id);
    const record = await reopenForManualAttempt(d.deliveries, rec);
    const target = { name: webhook?.name ?? '(deleted webhook)', origin: new URL(webhook?.url ?? rec.url).origin };
    const how = await retryNow(d.queues.of(rec.shard), {
      record,
      target,
      attemptsTotal: d.config.schedule.length,
      via: 'API',
    });
    d.logger.info('manual retry', { org_id: org, delivery_id: rec.id, webhook_id: rec.webhook_id, how });
    res.status(202).json({ delivery_id: rec.id, status: 'pending', next_attempt_at: record.next_attempt_at });
  });

  return r;
}
