/**
 * Who is calling (docs/contract.md §2): the root token, or an org's API key with a role. Keys are looked up
 * by hash on every request, so a deleted key stops working at once, on every API process.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { RequestHandler, Response } from 'express';
import type { Role } from '@devhooks/core';
import type { OrgStore, Principal } from '@devhooks/engine';
import { ApiError, failedBeforeAnyChange } from './errors';

export type Caller = { kind: 'root' } | ({ kind: 'key' } & Principal);

const digest = (s: string) => createHash('sha256').update(s).digest();

export function isRootToken(presented: string, rootToken: string): boolean {
  return timingSafeEqual(digest(presented), digest(rootToken));
}

function bearerOf(h: string | undefined): string | undefined {
  if (!h) return undefined;
  const m = /^Bearer\s+(\S+)\s*$/i.exec(h);
  return m?.[1];
}

/** Who presents this Authorization header; rejects with the 401 to answer. */
export async function identify(orgs: OrgStore, rootToken: string, authorization: string | undefined): Promise<Caller> {
  const token = bearerOf(authorization);
  if (!token) {
    throw new ApiError(401, 'unauthorized', 'send Authorization: Bearer <token>', undefined, {
      'WWW-Authenticate': 'Bearer realm="devhooks"',
    });
  }
  if (isRootToken(token, rootToken)) return { kind: 'root' };
  const principal = await orgs.resolveKey(token).catch((err: unknown) => {
    throw failedBeforeAnyChange(err);
  });
  if (!principal) {
    throw new ApiError(401, 'unauthorized', 'unknown or revoked token', undefined, {
      'WWW-Authenticate': 'Bearer realm="devhooks", error="invalid_token"',
    });
  }
  return { kind: 'key', ...principal };
}

/** The express middleware: `res.locals.caller`. */
export function authenticate(orgs: OrgStore, rootToken: string): RequestHandler {
  return (req, res, next) => {
    identify(orgs, rootToken, req.headers.authorization).then((caller) => {
      res.locals.caller = caller;
      next();
    }, next);
  };
}

/** The caller the guard identified; a 401, never a crash, should a handler ever be reached without one. */
export function callerOf(res: Response): Caller {
  const caller = res.locals.caller as Caller | undefined;
  if (!caller) throw new ApiError(401, 'unauthorized', 'send Authorization: Bearer <token>');
  return caller;
}

/**
 * The org an org-scoped call acts in, after checking the caller's role. The root token belongs to
 * no org: it manages orgs and keys, and org data is reached with an org's own keys.
 */
export function orgFor(res: Response, roles: readonly Role[]): string {
  return orgOf(callerOf(res), roles);
}

/** `orgFor` for a caller at hand. */
export function orgOf(c: Caller, roles: readonly Role[]): string {
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
    } else presented = bearerOf(req.headers.authorization);
    if (presented && isRootToken(presented, rootToken)) return next();
    res.set('WWW-Authenticate', 'Basic realm="devhooks dashboard", charset="UTF-8"');
    next(new ApiError(401, 'unauthorized', 'the dashboard needs the root token (HTTP Basic password, or Bearer)'));
  };
}
