/** The event-type catalog (contract §9): any key may read it. */
import type { Router } from 'express';
import { routeGroup } from '../http/routing';
import { EVENT_CATALOG } from '@devhooks/core';
import { callerOf } from '../http/auth';

export function eventTypeRoutes(): Router {
  const r = routeGroup();
  const body = JSON.stringify({ event_types: EVENT_CATALOG });
  r.get('/v1/event-types', (_req, res) => {
    callerOf(res); // authenticated: any key, any role
    res.type('application/json').send(body);
  });
  return r;
}
