/** The event-type catalog (contract §9): any key may read it. */
import { Router } from 'express';
import { EVENT_CATALOG } from '@devhooks/core';
import { callerOf } from '../http/auth';

export function eventTypeRoutes(): Router {
  const r = Router();
  const body = JSON.stringify({ event_types: EVENT_CATALOG });
  r.get('/v1/event-types', (_req, res) => {
    callerOf(res); // authenticated: any key, any role
    res.type('application/json').send(body);
  });
  return r;
}
