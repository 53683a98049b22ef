/** Delivery controls on one webhook (contract §9): rotate its secret, recover failed deliveries, replay events. */
import type { Request, Response, Router } from 'express';
import { routeGroup } from '../http/routing';
import { checkWindow, rotateSecret, type Webhook } from '@devhooks/core';
import { MAX_RECOVER_DELIVERIES, MAX_REPLAY_EVENTS, recoverFailed, replayEvents } from '@devhooks/engine';
import type { ApiDeps } from '../deps';
import { orgFor, WRITE_ROLES } from '../http/auth';
import { ApiError, badRequest, notFound } from '../http/errors';

export function controlRoutes(d: ApiDeps): Router {
  const r = routeGroup();

  async function load(org: string, id: string): Promise<Webhook> {
    const w = await d.webhooks.get(org, id);
    if (!w) throw notFound('webhook');
    return w;
  }

  /**
   * The caller's org, the webhook and the checked window of a recover or replay call. Both send to
   * the webhook now, so a disabled one answers 409 (it would only fail them again).
   */
  async function windowCall(req: Request<{ id: string }>, res: Response, kind: 'recover' | 'replay') {
    const org = orgFor(res, WRITE_ROLES);
    const w = await load(org, req.params.id);
    const win = checkWindow(req.body, kind);
    if (!win.ok) throw badRequest(`invalid ${kind} window`, win.details);
    if (!w.enabled) {
      throw new ApiError(
        409,
        'webhook_disabled',
        `the webhook is disabled${w.disabled_reason ? ` (${w.disabled_reason})` : ''}; enable it first (PATCH {"enabled": true})`,
      );
    }
    return { org, w, win };
  }

  r.post('/v1/webhooks/:id/rotate-secret', async (req, res) => {
    const org = orgFor(res, WRITE_ROLES);
    const w = await load(org, req.params.id);
    const rot = rotateSecret(w, req.body);
    if (!rot.ok) throw badRequest('invalid rotation', rot.details);
    await d.webhooks.update(w, rot.fields, { setsEnabled: false });
    d.logger.info('webhook secret rotated', {
      org_id: org,
      webhook_id: w.id,
      previous_expires_at: rot.previousExpiresAt,
    });
    res.json({ secret: rot.secret, previous_expires_at: rot.previousExpiresAt });
  });

  r.post('/v1/webhooks/:id/recover', async (req, res) => {
    const { org, w, win } = await windowCall(req, res, 'recover');
    const out = await recoverFailed({
      redis: d.redis,
      keys: d.keys,
      deliveries: d.deliveries,
      queues: d.queues,
      webhookId: w.id,
      target: { name: w.name, origin: new URL(w.url).origin },
      attemptsTotal: d.config.schedule.length,
      since: win.since,
      until: win.until,
    });
    d.logger.info('webhook recover', { org_id: org, webhook_id: w.id, deliveries: out.deliveries });
    res.status(202).json(out.next_since ? { ...out, max: MAX_RECOVER_DELIVERIES } : out);
  });

  r.post('/v1/webhooks/:id/replay', async (req, res) => {
    const { org, w, win } = await windowCall(req, res, 'replay');
    const out = await replayEvents(d.redis, d.keys, {
      webhook: w,
      since: win.since,
      until: win.until,
      types: win.types,
      shards: d.shardLayout.most,
      maxBacklog: d.config.maxBacklog,
    });
    if (!out.ok) {
      switch (out.reason) {
        case 'beyond_log': {
          const oldest = new Date(out.oldest).toISOString();
          throw new ApiError(422, 'beyond_event_log', `the event log holds events accepted from ${oldest} on`, [
            { path: '/since', message: `must be at or after ${oldest} (DEVHOOKS_LOG_TTL)` },
          ]);
        }
        case 'too_many':
          throw new ApiError(
            422,
            'replay_too_large',
            `the window holds more than ${MAX_REPLAY_EVENTS} matching events; replay it in smaller windows`,
            [{ path: '/until', message: 'narrow the window (or give types)' }],
          );
        case 'backlog':
          throw new ApiError(
            429,
            'backlog_full',
            'the undelivered backlog is too large for this replay; retry later',
            [],
            {
              'Retry-After': '30',
            },
          );
      }
    }
    d.logger.info('webhook replay', { org_id: org, webhook_id: w.id, events: out.events });
    res.status(202).json({ events: out.events });
  });

  return r;
}
