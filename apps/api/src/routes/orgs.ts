/** Orgs and their API keys (contract §2). */
import type { Response, Router } from 'express';
import { ajvDetails, validators } from '@devhooks/core';
import type { ApiDeps } from '../deps';
import { callerOf } from '../http/auth';
import { badRequest, forbidden, notFound } from '../http/errors';
import { routeGroup } from '../http/routing';

export function orgRoutes(d: ApiDeps): Router {
  const r = routeGroup();

  /** Root, or an admin key of this very org; another org's id answers 404 like an unknown one. */
  async function adminOf(res: Response, orgId: string): Promise<void> {
    const c = callerOf(res);
    if (c.kind === 'key') {
      if (c.org_id !== orgId) throw notFound('org');
      if (c.role !== 'admin') throw forbidden(`a ${c.role} key cannot manage keys (needs admin)`);
      return;
    }
    if (!(await d.orgs.getOrg(orgId))) throw notFound('org');
  }

  r.post('/v1/orgs', async (req, res) => {
    if (callerOf(res).kind !== 'root') throw forbidden('only the root token creates orgs');
    if (req.body === undefined) throw badRequest('a JSON body {"name"} is required');
    if (!validators.orgCreate(req.body)) throw badRequest('invalid org', ajvDetails(validators.orgCreate.errors));
    const org = await d.orgs.createOrg((req.body as { name: string }).name);
    d.logger.info('org created', { org_id: org.id });
    res.status(201).json(org);
  });

  r.get('/v1/orgs', async (_req, res) => {
    if (callerOf(res).kind !== 'root') throw forbidden('only the root token lists orgs');
    res.json({ orgs: await d.orgs.listOrgs() });
  });

  r.get('/v1/orgs/:org_id', async (req, res) => {
    const c = callerOf(res);
    if (c.kind === 'key' && c.org_id !== req.params.org_id) throw notFound('org');
    // a read: admin and viewer keys (contract §2: a producer key only sends events)
    if (c.kind === 'key' && c.role === 'producer') throw forbidden('a producer key cannot read the org');
    const org = await d.orgs.getOrg(req.params.org_id);
    if (!org) throw notFound('org');
    res.json(org);
  });

  /** Who this token is: the console and other clients learn their org and role from it. */
  r.get('/v1/whoami', async (_req, res) => {
    const c = callerOf(res);
    if (c.kind === 'root') {
      res.json({ org_id: null, role: 'root', key_id: null, name: null });
      return;
    }
    const key = (await d.orgs.listKeys(c.org_id)).find((k) => k.id === c.key_id);
    res.json({ org_id: c.org_id, role: c.role, key_id: c.key_id, name: key?.name ?? null });
  });

  r.post('/v1/orgs/:org_id/keys', async (req, res) => {
    await adminOf(res, req.params.org_id);
    if (req.body === undefined) throw badRequest('a JSON body {"name", "role"} is required');
    if (!validators.keyCreate(req.body)) throw badRequest('invalid key', ajvDetails(validators.keyCreate.errors));
    const { name, role } = req.body as { name: string; role: 'admin' | 'producer' | 'viewer' };
    const key = await d.orgs.createKey(req.params.org_id, name, role);
    d.logger.info('api key created', { org_id: req.params.org_id, key_id: key.id, role });
    res.status(201).json({ id: key.id, name: key.name, role: key.role, key: key.key, created_at: key.created_at });
  });

  r.get('/v1/orgs/:org_id/keys', async (req, res) => {
    await adminOf(res, req.params.org_id);
    res.json({ keys: await d.orgs.listKeys(req.params.org_id) });
  });

  r.delete('/v1/orgs/:org_id/keys/:key_id', async (req, res) => {
    await adminOf(res, req.params.org_id);
    if (!(await d.orgs.deleteKey(req.params.org_id, req.params.key_id))) throw notFound('key');
    d.logger.info('api key revoked', { org_id: req.params.org_id, key_id: req.params.key_id });
    res.status(204).end();
  });

  return r;
}
