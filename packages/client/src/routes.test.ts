/** The client against the OpenAPI document: every route it calls is described there, with its method. */
// the document the API serves, built as at start-up (not a dependency of the client itself)
import { buildOpenApiDocument } from '../../../apps/api/src/openapi/document';
import { CONTROL_ROUTES, countOf, fillPath, ROUTES, type RouteName } from './routes';

const spec: any = buildOpenApiDocument();

function described(route: string): boolean {
  const [method, p] = route.split(' ');
  return Boolean(spec.paths[p]?.[method.toLowerCase()]);
}

describe('ROUTES', () => {
  it('names only routes the OpenAPI document describes (contract §9 routes aside: see below)', () => {
    const missing = (Object.keys(ROUTES) as RouteName[])
      .filter((name) => !CONTROL_ROUTES.includes(name))
      .map((name) => ROUTES[name])
      .filter((r) => !described(r));
    expect(missing).toEqual([]);
  });

  // The delivery controls and the event-type catalog (contract §9) are described by the branch
  // that serves them; test/browser/console-controls.test.ts checks them once both are merged.
  it('keeps the contract §9 routes in the same table', () => {
    expect(CONTROL_ROUTES.map((n) => ROUTES[n]).sort()).toEqual([
      'GET /v1/event-types',
      'POST /v1/webhooks/{id}/recover',
      'POST /v1/webhooks/{id}/replay',
      'POST /v1/webhooks/{id}/rotate-secret',
    ]);
  });

  it('fills exactly the path parameters the document declares for each route', () => {
    const resolve = (x: any) => (x.$ref ? spec.components.parameters[x.$ref.split('/').pop()] : x);
    for (const route of Object.values(ROUTES).filter(described)) {
      const [method, p] = route.split(' ');
      const declared = [...(spec.paths[p].parameters ?? []), ...(spec.paths[p][method.toLowerCase()].parameters ?? [])]
        .map(resolve)
        .filter((x: any) => x.in === 'path')
        .map((x: any) => x.name)
        .sort();
      const filled = [...p.matchAll(/\{([a-z_]+)\}/g)].map((m) => m[1]).sort();
      expect([route, filled]).toEqual([route, declared]);
    }
  });
});

describe('fillPath', () => {
  it('encodes parameters and refuses a missing one', () => {
    expect(fillPath('/v1/webhooks/{id}/ping', { id: 'wh 1/..' })).toBe('/v1/webhooks/wh%201%2F../ping');
    expect(() => fillPath('/v1/orgs/{org_id}/keys/{key_id}', { org_id: 'o' })).toThrow(/key_id/);
  });
});

describe('countOf', () => {
  it('counts a §9 answer given as a number or as the ids', () => {
    expect([countOf(3), countOf(['dlv_1', 'dlv_2']), countOf([])]).toEqual([3, 2, 0]);
  });
});
