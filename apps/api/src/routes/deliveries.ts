/** The delivery log (contract §3): a webhook's deliveries, one delivery in full, and retry by hand. */
import { Router, type Request } from 'express';
import { deliveryBody, MENDER_ALGORITHM, TOPICS, VERSION } from '@devhooks/core';
import {
  deliveryView,
  listOrgDeliveries,
  loadEvents,
  retryNow,
  type DeliveryFilter,
  type DeliveryRecord,
} from '@devhooks/engine';
import type { ApiDeps } from '../deps';
import { orgFor, READ_ROLES, WRITE_ROLES } from '../http/auth';
import { notFound } from '../http/errors';
import { QueryReader } from '../http/query';

const STATUSES = ['pending', 'succeeded', 'failed'] as const;

/** The filters and page of a delivery-log listing, checked (400 naming each bad one). */
function listQuery(req: Request): { filter: DeliveryFilter; offset: number; limit: number } {
  const q = new QueryReader(req);
  const filter: DeliveryFilter = {
    status: q.oneOf('status', STATUSES),
    topic: q.oneOf('topic', [...TOPICS, 'ping'] as const),
    status_code: q.int('status_code', 100, 599),
    since: q.time('since'),
    until: q.time('until'),
  };
  const { offset, limit } = q.page();
  q.done();
  return { filter, offset, limit };
}

export function deliveryRoutes(d: ApiDeps): Router {
  const r = Router();

  async function load(org: string, id: string): Promise<DeliveryRecord> {
    const rec = await d.deliveries.get(id);
    if (!rec || rec.org_id !== org) throw notFound('delivery');
    return rec;
  }

  r.get('/v1/webhooks/:id/deliveries', async (req, res) => {
    const org = orgFor(res, READ_ROLES);
    const { filter, offset, limit } = listQuery(req);
    if (!(await d.webhooks.get(org, req.params.id))) throw notFound('webhook');
    const { total, deliveries } = await d.deliveries.list(req.params.id, filter, offset, limit);
    res.json({ total, offset, limit, deliveries: deliveries.map(deliveryView) });
  });

  /** The whole org's delivery log (the console's Activity page): every webhook's, merged, newest first. */
  r.get('/v1/deliveries', async (req, res) => {
    const org = orgFor(res, READ_ROLES);
    const { filter, offset, limit } = listQuery(req);
    const ids = (await d.webhooks.list(org)).map((w) => w.id);
    const { total, deliveries } = await listOrgDeliveries(d.redis, d.keys, d.deliveries, ids, filter, offset, limit);
    res.json({ total, offset, limit, deliveries: deliveries.map(deliveryView) });
  });

  r.get('/v1/deliveries/:id', async (req, res) => {
    const org = orgFor(res, READ_ROLES);
    const rec = await load(org, req.params.id);
    const [webhook, events] = await Promise.all([
      d.webhooks.get(org, rec.webhook_id),
      loadEvents(d.redis, d.keys, 0, rec.entry_ids),
    ]);
    const last = rec.attempt_log[rec.attempt_log.length - 1];
    const headers: Record<string, string> = {
      'content-type': 'application/json',
      'user-agent': `devhooks/${VERSION}`,
      ...(webhook?.headers ?? {}),
      'webhook-id': rec.message_id,
    };
    if (last) headers['webhook-timestamp'] = String(Math.floor(Date.parse(last.at) / 1000));
    if (webhook?.secret) {
      // signature values are never shown: they are derived from the secret
      const names = {
        standard: ['webhook-signature'],
        mender: ['x-men-signature', 'x-men-algorithm'],
        mist: ['x-mist-signature-v2', 'x-mist-signature'],
      }[webhook.signing];
      for (const n of names) headers[n] = n === 'x-men-algorithm' ? MENDER_ALGORITHM : '[redacted]';
    }
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
    const now = new Date().toISOString();
    await d.deliveries.write([{ ...rec, status: 'pending', next_attempt_at: now, updated_at: now }], false);
    const how = await retryNow(d.queue, rec.id);
    d.logger.info('manual retry', { org_id: org, delivery_id: rec.id, webhook_id: rec.webhook_id, how });
    res.status(202).json({ delivery_id: rec.id, status: 'pending', next_attempt_at: now });
  });

  return r;
}
