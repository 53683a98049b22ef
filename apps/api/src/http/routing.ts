/**
 * Which paths are `/v1` paths, decided the same way by the `/v1` guard (body and caller) and by
 * the routers: routes match case-sensitively (`/V1/ORGS` is no route), and the guard takes every
 * path a router could still match (`/v1`, `/v1/...` in any case, a trailing slash), so no handler
 * ever runs without a caller. The fast events path answers only the exact `/v1/events`.
 */
import { Router } from 'express';

/** A route group's router: case-sensitive, like the guard's notion of a `/v1` path. */
export function routeGroup(): Router {
  return Router({ caseSensitive: true });
}

/** Whether the guard must run: any case, so that no router setting can widen a route past it. */
export function isV1Path(path: string): boolean {
  return /^\/v1(?:\/|$)/i.test(path);
}
