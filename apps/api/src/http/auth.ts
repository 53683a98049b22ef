/**
 * Who is calling (contract §2): the root token, or an org's API key with a role. Keys are looked up
 * by hash on every request, so a deleted key stops working at once, on every API process.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { Request, RequestHandler, Response } from 'express';
import type { Role } from '@devhooks/core';
import type { OrgStore, Principal } from '@devhooks/engine';
import { ApiError } from './errors';

export type Caller = { kind: 'root' } | ({ kind: 'key' } & Principal);

const digest = (s: string) => createHash('sha256').update(s).digest();

export function isRootToken(presented: string, rootToken: string): boolean {
  return timingSafeEqual(digest(presented), digest(rootToken));
}

function bearer(req: Request): string | undefined {
  const h = req.headers.authorization;
  if (!h) return undefined;
  const m = /^Bearer\s+(\S+)\s*$/i.exec(h);
  return m?.[1];
}

export function authenticate(orgs: OrgStore, rootToken: string): RequestHandler {
  return async (req, res, next) => {
    const token = bearer(req);
    if (!token) {
      res.set('WWW-Authenticate', 'Bearer realm="devhooks"');
      return next(new ApiError(401, 'unauthorized', 'send Authorization: Bearer <token>'));
    }
    if (isRootToken(token, rootToken)) {
      res.locals.caller = { kind: 'root' } satisfies Caller;
      return next();
    }
    const principal = await orgs.resolveKey(token);
    if (!principal) {
      res.set('WWW-Authenticate', 'Bearer realm="devhooks", error="invalid_token"');
      return next(new ApiError(401, 'unauthorized', 'unknown or revoked token'));
    }
    res.locals.caller = { kind: 'key', ...principal } satisfies Caller;
    next();
  };
}

export function callerOf(res: Response): Caller {
  return res.locals.caller as Caller;
}

/**
 * The org an org-scoped call acts in, after checking the caller's role. The root token belongs to
 * no org: it manages orgs and keys, and org data is reached with an org's own keys.
 */
export function orgFor(res: Response, roles: readonly Role[]): string {
  const c = callerOf(res);
  if (c.kind === 'root') {
    throw new ApiError(403, 'forbidden', 'the root token manages orgs and keys; use an org API key for this call');
  }
  if (!roles.includes(c.role)) {
    throw new ApiError(403, 'forbidden', `a ${c.role} key cannot do this (needs ${roles.join(' or ')})`);
  }
  return c.org_id;
}

export const READ_ROLES = ['admin', 'viewer'] as const;
export const WRITE_ROLES = ['admin'] as const;
export const PRODUCE_ROLES = ['admin', 'producer'] as const;

/** Basic (any user name, the token as password) or Bearer root token: for Bull Board. */
export function rootOnly(rootToken: string): RequestHandler {
  return (req, res, next) => {
    const h = req.headers.authorization ?? '';
    let presented: string | undefined;
    const basic = /^Basic\s+(\S+)$/i.exec(h);
    if (basic) {
      const decoded = Buffer.from(basic[1], 'base64').toString('utf8');
      const i = decoded.indexOf(':');
      presented = i >= 0 ? decoded.slice(i + 1) : undefined;
    } else presented = bearer(req);
    if (presented && isRootToken(presented, rootToken)) return next();
    res.set('WWW-Authenticate', 'Basic realm="devhooks dashboard", charset="UTF-8"');
    next(new ApiError(401, 'unauthorized', 'the dashboard needs the root token (HTTP Basic password, or Bearer)'));
  };
}
