/** Webhooks (contract §3): create one or many, list, read, replace, patch, delete, ping. */
import type { Request, Response, Router } from 'express';
import {
  ajvDetails,
  capDetails,
  checkWebhookBody,
  TOPICS,
  validators,
  webhookView,
  type ErrorDetail,
  type Webhook,
  type WebhookFields,
} from '@devhooks/core';
import type { ApiDeps } from '../deps';
import { orgFor, READ_ROLES, WRITE_ROLES } from '../http/auth';
import { ApiError, badRequest, notFound } from '../http/errors';
import { QueryReader } from '../http/query';
import { routeGroup } from '../http/routing';

/** Most webhooks one batch create takes. */
export const MAX_WEBHOOKS_PER_REQUEST = 100;

export function webhookRoutes(d: ApiDeps): Router {
  const r = routeGroup();

  /** The address policy of §6 for every url given, all at once; 422 naming each refused one. */
  async function checkTargets(items: Array<{ url: string; index?: number }>): Promise<void> {
    if (d.config.allowPrivateTargets || !items.length) return;
    const verdicts = await Promise.all(items.map((i) => d.checkTarget(i.url)));
    const details: ErrorDetail[] = [];
    verdicts.forEach((v, n) => {
      if (!v.ok) {
        const detail: ErrorDetail = {
          path: '/url',
          message: `refused: ${v.reason}; webhooks may only target public addresses`,
        };
        if (items[n].index !== undefined) detail.index = items[n].index;
        details.push(detail);
      }
    });
    if (details.length) throw new ApiError(422, 'target_refused', 'a webhook url targets a refused address', details);
  }

  function view(w: Webhook, generatedSecret?: string) {
    const v = webhookView(w);
    return generatedSecret ? { ...v, secret: generatedSecret } : v;
  }

  async function load(org: string, id: string): Promise<Webhook> {
    const w = await d.webhooks.get(org, id);
    if (!w) throw notFound('webhook');
    return w;
  }

  r.post('/v1/webhooks', async (req, res) => {
    const org = orgFor(res, WRITE_ROLES);
    const body = req.body as unknown;
    if (body === undefined) throw badRequest('a JSON body is required: one webhook, or {"webhooks": [...]}');
    const isBatch =
      !!body && typeof body === 'object' && !Array.isArray(body) && 'webhooks' in body && !('url' in body);
    let list: unknown[];
    if (isBatch) {
      const w = (body as { webhooks: unknown }).webhooks;
      if (!Array.isArray(w) || w.length === 0)
        throw badRequest('invalid webhooks', [{ path: '/webhooks', message: 'must be a non-empty array' }]);
      if (w.length > MAX_WEBHOOKS_PER_REQUEST) {
        throw new ApiError(413, 'payload_too_large', `a batch holds at most ${MAX_WEBHOOKS_PER_REQUEST} webhooks`);
      }
      list = w;
    } else list = [body];
    const details: ErrorDetail[] = [];
    const checked: Array<{ fields: WebhookFields; secret?: string }> = [];
    list.forEach((item, i) => {
      const c = checkWebhookBody(item, 'create', undefined, isBatch ? i : undefined);
      if (c.ok) checked.push({ fields: c.fields, secret: c.generatedSecret });
      else details.push(...c.details);
    });
    if (details.length) {
      throw badRequest(
        isBatch ? 'the batch has invalid webhooks; none was created' : 'invalid webhook',
        capDetails(details),
      );
    }
    await checkTargets(checked.map((c, i) => ({ url: c.fields.url, index: isBatch ? i : undefined })));
    const created = await d.webhooks.create(
      org,
      checked.map((c) => c.fields),
    );
    for (const w of created) d.logger.info('webhook created', { org_id: org, webhook_id: w.id });
    const views = created.map((w, i) => view(w, checked[i].secret));
    res.status(201).json(isBatch ? { webhooks: views } : views[0]);
  });

  r.get('/v1/webhooks', async (req, res) => {
    const org = orgFor(res, READ_ROLES);
    const q = new QueryReader(req);
    const site = q.string('site_id');
    const group = q.string('group_id');
    const topic = q.oneOf('topic', TOPICS);
    const { offset, limit } = q.page();
    q.done();
    const all = (await d.webhooks.list(org)).filter(
      (w) =>
        (site === undefined || w.site_id === site) &&
        (group === undefined || w.group_id === group) &&
        (topic === undefined || w.topics.includes(topic)),
    );
    res.json({ total: all.length, offset, limit, webhooks: all.slice(offset, offset + limit).map((w) => view(w)) });
  });

  r.delete('/v1/webhooks', async (req, res) => {
    const org = orgFor(res, WRITE_ROLES);
    if (req.body === undefined) throw badRequest('a JSON body {"webhook_ids": [...]} is required');
    if (!validators.webhookIds(req.body)) throw badRequest('invalid request', ajvDetails(validators.webhookIds.errors));
    const ids = (req.body as { webhook_ids: string[] }).webhook_ids;
    const missing = await d.webhooks.remove(org, ids);
    if (missing.length) {
      throw new ApiError(
        404,
        'not_found',
        'some webhooks were not found; none was deleted',
        missing.map((id) => ({
          index: ids.indexOf(id),
          path: '/webhook_ids/' + ids.indexOf(id),
          message: `no webhook ${id}`,
        })),
      );
    }
    d.logger.info('webhooks deleted', { org_id: org, webhook_ids: ids });
    res.status(204).end();
  });

  r.get('/v1/webhooks/:id', async (req, res) => {
    const org = orgFor(res, READ_ROLES);
    res.json(view(await load(org, req.params.id)));
  });

  /** The caller's org, the stored webhook and the checked body of a replace (PUT) or patch (PATCH). */
  async function checkedChange(req: Request<{ id: string }>, res: Response, mode: 'replace' | 'patch') {
    const org = orgFor(res, WRITE_ROLES);
    const existing = await load(org, req.params.id);
    if (req.body === undefined) {
      throw badRequest(
        `a JSON body (${mode === 'replace' ? 'the whole webhook' : 'the fields to change'}) is required`,
      );
    }
    const c = checkWebhookBody(req.body, mode, existing);
    if (!c.ok) throw badRequest('invalid webhook', capDetails(c.details));
    return { org, existing, c };
  }

  r.put('/v1/webhooks/:id', async (req, res) => {
    const { org, existing, c } = await checkedChange(req, res, 'replace');
    await checkTargets([{ url: c.fields.url }]);
    const w = await d.webhooks.update(existing, c.fields, { setsEnabled: true });
    d.logger.info('webhook replaced', { org_id: org, webhook_id: w.id });
    res.json(view(w, c.generatedSecret));
  });

  r.patch('/v1/webhooks/:id', async (req, res) => {
    const { org, existing, c } = await checkedChange(req, res, 'patch');
    const body = req.body as Record<string, unknown>;
    if ('url' in body) await checkTargets([{ url: c.fields.url }]);
    const w = await d.webhooks.update(existing, c.fields, { setsEnabled: 'enabled' in body });
    d.logger.info('webhook updated', { org_id: org, webhook_id: w.id, fields: Object.keys(body) });
    res.json(view(w, c.generatedSecret));
  });

  r.delete('/v1/webhooks/:id', async (req, res) => {
    const org = orgFor(res, WRITE_ROLES);
    const missing = await d.webhooks.remove(org, [req.params.id]);
    if (missing.length) throw notFound('webhook');
    d.logger.info('webhook deleted', { org_id: org, webhook_id: req.params.id });
    res.status(204).end();
  });

  r.post('/v1/webhooks/:id/ping', async (req, res) => {
    const org = orgFor(res, WRITE_ROLES);
    const w = await load(org, req.params.id);
    const id = await d.pings.send(w);
    d.logger.info('ping sent', { org_id: org, webhook_id: w.id, delivery_id: id });
    const result = await d.pings.wait(id, d.config.deliveryTimeoutMs + 10_000);
    if (result) res.json(result);
    else
      res.status(202).json({ delivery_id: id, status: 'pending', status_code: null, duration_ms: null, error: null });
  });

  return r;
}
