/**
 * The OpenAPI document (apps/api/src/openapi/document.ts: paths.json by hand, component schemas
 * from core) against the code: every route the app serves is described and every
 * described operation is served, every $ref resolves, every operation is complete, and the schemas
 * accept their own examples (and agree with the service's own validators on sample bodies).
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import Ajv2020 from 'ajv/dist/2020';
import addFormats from 'ajv-formats';
import { checkWebhookBody, validators, type EventType } from '@devhooks/core';
import { createRegistry, silentLogger } from '@devhooks/engine';
import { createApi, loadApiConfig, type Api } from '../src';
import { BOARD_PATH } from '../src/board';
import { buildOpenApiDocument } from '../src/openapi/document';
import type { ApiDeps } from '../src/deps';
import { controlRoutes } from '../src/routes/controls';
import { consoleRoutes } from '../src/routes/console';
import { deliveryRoutes } from '../src/routes/deliveries';
import { eventTypeRoutes } from '../src/routes/event-types';
import { failingRoutes } from '../src/routes/failing';
import { eventRoutes } from '../src/routes/events';
import { healthRoutes } from '../src/routes/health';
import { orgRoutes } from '../src/routes/orgs';
import { webhookRoutes } from '../src/routes/webhooks';
import { APP_OPERATIONS } from '../../../test/support/app-operations';

type Json = any;

const spec: Json = buildOpenApiDocument();
const HTTP_METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'];

// ---------------------------------------------------------------------------------------------
// the routes the code serves

interface Layer {
  name?: string;
  route?: { path: string | string[]; methods: Record<string, boolean> };
  handle?: { stack?: Layer[] };
  rawPath?: unknown;
}

const toOpenApiPath = (p: string) => p.replace(/:([A-Za-z0-9_]+)/g, '{$1}');

/** Every `METHOD path` of a router stack, nested routers included; Bull Board's mount counts as `GET /admin/queues`. */
function collect(stack: Layer[], prefix = '', out = new Set<string>()): Set<string> {
  for (const layer of stack) {
    if (layer.route) {
      const paths = Array.isArray(layer.route.path) ? layer.route.path : [layer.route.path];
      for (const p of paths) {
        for (const [method, on] of Object.entries(layer.route.methods)) {
          if (on && method !== '_all') out.add(`${method.toUpperCase()} ${toOpenApiPath(prefix + p)}`);
        }
      }
    } else if (layer.name === 'mounted_app' || (layer.handle && Array.isArray(layer.handle.stack))) {
      // a nested router, or a sub-app (Bull Board's adapter hands one out)
      if (typeof layer.rawPath !== 'string') throw new Error('a mount without a string path: update this walker');
      const mount = layer.rawPath === '/' ? '' : layer.rawPath;
      if (prefix + mount === BOARD_PATH) out.add(`GET ${BOARD_PATH}`);
      else if (layer.handle?.stack) collect(layer.handle.stack, prefix + mount, out);
      else throw new Error(`an unexpected sub-app at ${prefix + mount}: update this walker`);
    }
  }
  return out;
}

function described(): Set<string> {
  const out = new Set<string>();
  for (const [p, item] of Object.entries<Json>(spec.paths)) {
    for (const m of HTTP_METHODS) if (item[m]) out.add(`${m.toUpperCase()} ${p}`);
  }
  return out;
}

let api: Api;
let appRoutes: Set<string>;
let served: Set<string>;
let factoryRoutes: Set<string>;

beforeAll(() => {
  const config = loadApiConfig({
    DEVHOOKS_ADMIN_TOKEN: 'x',
    DEVHOOKS_PREFIX: 'openapitest',
    DEVHOOKS_REDIS_URL: process.env.DEVHOOKS_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379',
  });
  api = createApi(config, silentLogger(), createRegistry('t'));
  appRoutes = collect((api.app as unknown as { router: { stack: Layer[] } }).router.stack);
  // Every route hangs off the app's own router; the route factories, built on their own (none
  // touches its deps until a request comes), must give the same set.
  const deps = {} as ApiDeps;
  const registry = createRegistry('t2');
  served = new Set(appRoutes);
  const fromFactories = new Set<string>();
  for (const r of [
    orgRoutes(deps),
    webhookRoutes(deps),
    eventRoutes(deps),
    deliveryRoutes(deps),
    controlRoutes(deps),
    eventTypeRoutes(),
    healthRoutes(deps, registry),
    failingRoutes(deps),
    consoleRoutes(),
  ]) {
    collect((r as unknown as { stack: Layer[] }).stack, '', fromFactories);
  }
  factoryRoutes = fromFactories;
});

afterAll(async () => {
  // Closing before BullMQ's queue has finished its own start-up makes its shared connection emit an
  // unhandled "Connection is closed" error: let it finish first (no data is read or written).
  await Promise.all(api.deps.queues.all.map((q) => q.waitUntilReady().catch(() => undefined)));
  await api.close();
});

describe('routes', () => {
  it('finds the routes mounted on the app itself (health, metrics, OpenAPI, dashboard)', () => {
    expect([...appRoutes].filter((r) => !r.includes(' /v1/')).sort()).toEqual(APP_OPERATIONS);
  });

  it('serves exactly the routes the route factories define (plus the dashboard)', () => {
    expect([...appRoutes].filter((r) => r !== 'GET /admin/queues').sort()).toEqual([...factoryRoutes].sort());
  });

  it('finds every /v1 route through the route factories', () => {
    const v1 = [...served].filter((r) => r.includes(' /v1/'));
    expect(v1.length).toBeGreaterThanOrEqual(18);
    expect(v1).toEqual(
      expect.arrayContaining([
        'POST /v1/orgs',
        'PATCH /v1/webhooks/{id}',
        'GET /v1/deliveries/{id}',
        'POST /v1/events',
      ]),
    );
  });

  it('describes every route the app serves, with its method', () => {
    const missing = [...served].filter((r) => !described().has(r));
    expect(missing).toEqual([]);
  });

  it('serves every operation it describes', () => {
    const extra = [...described()].filter((r) => !served.has(r));
    expect(extra).toEqual([]);
  });

  it('serves the built document at GET /openapi.json', async () => {
    const server = http.createServer(api.app);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = server.address() as AddressInfo;
      const res = await fetch(`http://127.0.0.1:${port}/openapi.json`);
      expect(res.status).toBe(200);
      expect(await res.json()).toEqual(spec);
    } finally {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
});

// ---------------------------------------------------------------------------------------------
// the document itself

function resolvePointer(doc: Json, ref: string): Json {
  if (!ref.startsWith('#')) throw new Error(`external $ref ${ref}`);
  let node = doc;
  for (const raw of ref.slice(1).split('/').slice(1)) {
    const key = decodeURIComponent(raw).replace(/~1/g, '/').replace(/~0/g, '~');
    if (node === null || typeof node !== 'object' || !(key in node)) return undefined;
    node = node[key];
  }
  return node;
}

function walk(node: Json, visit: (n: Json, at: string[]) => void, at: string[] = []): void {
  if (node === null || typeof node !== 'object') return;
  visit(node, at);
  for (const [k, v] of Object.entries(node)) walk(v, visit, [...at, k]);
}

const operations = (): Array<{ key: string; op: Json }> =>
  Object.entries<Json>(spec.paths).flatMap(([p, item]) =>
    HTTP_METHODS.filter((m) => item[m]).map((m) => ({
      key: `${m.toUpperCase()} ${p}`,
      op: item[m],
    })),
  );

describe('document', () => {
  it('is OpenAPI 3.1.0 with the expected info and server', () => {
    expect(spec.openapi).toBe('3.1.0');
    expect(spec.info).toMatchObject({ title: 'devhooks', version: '0.1.0' });
    expect(typeof spec.info.description).toBe('string');
    expect(spec.servers).toEqual([expect.objectContaining({ url: 'http://127.0.0.1:8080' })]);
  });

  it('resolves every $ref', () => {
    const refs: string[] = [];
    walk(spec, (n) => {
      if (typeof n.$ref === 'string') refs.push(n.$ref);
    });
    expect(refs.length).toBeGreaterThan(50);
    expect(refs.filter((r) => resolvePointer(spec, r) === undefined)).toEqual([]);
  });

  it('gives every operation a unique operationId, a responses map and its roles', () => {
    const ids = operations().map(({ op }) => op.operationId);
    expect(ids.every((id) => typeof id === 'string' && id.length > 0)).toBe(true);
    expect(new Set(ids).size).toBe(ids.length);
    for (const { key, op } of operations()) {
      expect([key, typeof op.responses === 'object' && Object.keys(op.responses).length > 0]).toEqual([key, true]);
      expect([key, Array.isArray(op['x-devhooks-roles'])]).toEqual([key, true]);
    }
  });

  it('names only declared security schemes', () => {
    const schemes = Object.keys(spec.components.securitySchemes);
    const used = [spec.security, ...operations().map(({ op }) => op.security)]
      .filter(Boolean)
      .flatMap((reqs: Json[]) => reqs.flatMap((r) => Object.keys(r)));
    expect(used.filter((s) => !schemes.includes(s))).toEqual([]);
  });

  it('declares every path parameter of every path', () => {
    for (const [p, item] of Object.entries<Json>(spec.paths)) {
      const names = [...p.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]).sort();
      for (const m of HTTP_METHODS.filter((x) => item[x])) {
        const params = [...(item.parameters ?? []), ...(item[m].parameters ?? [])]
          .map((x: Json) => (x.$ref ? resolvePointer(spec, x.$ref) : x))
          .filter((x: Json) => x.in === 'path')
          .map((x: Json) => x.name)
          .sort();
        expect([`${m} ${p}`, params]).toEqual([`${m} ${p}`, names]);
      }
    }
  });

  it('documents the roles the code enforces', () => {
    const roles = Object.fromEntries(operations().map(({ key, op }) => [key, [...op['x-devhooks-roles']].sort()]));
    expect(roles).toMatchObject({
      'POST /v1/orgs': ['root'],
      'GET /v1/orgs': ['root'],
      'GET /v1/orgs/{org_id}': ['admin', 'root', 'viewer'],
      'POST /v1/orgs/{org_id}/keys': ['admin', 'root'],
      'GET /v1/orgs/{org_id}/keys': ['admin', 'root'],
      'DELETE /v1/orgs/{org_id}/keys/{key_id}': ['admin', 'root'],
      'POST /v1/webhooks': ['admin'],
      'GET /v1/webhooks': ['admin', 'viewer'],
      'DELETE /v1/webhooks': ['admin'],
      'GET /v1/webhooks/{id}': ['admin', 'viewer'],
      'PUT /v1/webhooks/{id}': ['admin'],
      'PATCH /v1/webhooks/{id}': ['admin'],
      'DELETE /v1/webhooks/{id}': ['admin'],
      'POST /v1/webhooks/{id}/ping': ['admin'],
      'GET /v1/webhooks/{id}/deliveries': ['admin', 'viewer'],
      'GET /v1/deliveries': ['admin', 'viewer'],
      'GET /v1/deliveries/{id}': ['admin', 'viewer'],
      'GET /v1/whoami': ['admin', 'producer', 'root', 'viewer'],
      'POST /v1/deliveries/{id}/retry': ['admin'],
      'POST /v1/events': ['admin', 'producer'],
      'POST /v1/webhooks/{id}/rotate-secret': ['admin'],
      'POST /v1/webhooks/{id}/recover': ['admin'],
      'POST /v1/webhooks/{id}/replay': ['admin'],
      'GET /v1/event-types': ['admin', 'producer', 'root', 'viewer'],
      'GET /admin/queues': ['root'],
      'GET /admin/failing': ['root'],
    });
  });

  it('lists the statuses the code answers', () => {
    const statuses = (key: string) => Object.keys(operations().find((o) => o.key === key)!.op.responses);
    for (const { key } of operations().filter((o) => o.key.includes(' /v1/'))) {
      expect([key, statuses(key)]).toEqual([key, expect.arrayContaining(['400', '401', '413', '415', '500'])]);
    }
    expect(statuses('POST /v1/events')).toEqual(expect.arrayContaining(['202', '403', '429']));
    expect(
      operations().find((o) => o.key === 'POST /v1/events')!.op.responses['429'].headers['Retry-After'],
    ).toBeDefined();
    expect(statuses('POST /v1/webhooks/{id}/ping')).toEqual(expect.arrayContaining(['200', '202', '404']));
    expect(statuses('POST /v1/webhooks')).toEqual(expect.arrayContaining(['201', '403', '422']));
    expect(statuses('DELETE /v1/webhooks/{id}')).toEqual(expect.arrayContaining(['204', '404']));
    expect(statuses('POST /v1/deliveries/{id}/retry')).toEqual(expect.arrayContaining(['202', '404']));
    expect(statuses('GET /readyz')).toEqual(['200', '503']);
    expect(Object.keys(operations().find((o) => o.key === 'GET /metrics')!.op.responses['200'].content)).toEqual([
      'text/plain',
    ]);
  });
});

// ---------------------------------------------------------------------------------------------
// schemas and examples

const SPEC_ID = 'https://devhooks.invalid/openapi.json';
const ajv = new Ajv2020({ strict: false, allErrors: true });
addFormats(ajv);
ajv.addSchema(spec, SPEC_ID);

const pointer = (at: string[]) =>
  at.map((s) => encodeURIComponent(s.replace(/~/g, '~0').replace(/\//g, '~1'))).join('/');
const validatorAt = (at: string[]) => ajv.compile({ $ref: `${SPEC_ID}#/${pointer(at)}` });
const component = (name: string) => validatorAt(['components', 'schemas', name]);

/** Every example in the file, with the schema it must satisfy. */
function examples(): Array<{
  where: string;
  schemaAt: string[];
  value: unknown;
}> {
  const out: Array<{ where: string; schemaAt: string[]; value: unknown }> = [];
  walk(spec, (n, at) => {
    const inSchema = at.includes('schema') || (at[0] === 'components' && at[1] === 'schemas');
    if (inSchema) {
      // JSON Schema `examples`: an array of instances of the schema holding it
      if (Array.isArray(n.examples) && at[at.length - 1] !== 'properties') {
        n.examples.forEach((value: unknown, i: number) =>
          out.push({
            where: `${at.join('.')}.examples[${i}]`,
            schemaAt: at,
            value,
          }),
        );
      }
      return;
    }
    // media type, parameter or header objects: `example`, or `examples` of Example objects
    if (n.schema && 'example' in n)
      out.push({
        where: `${at.join('.')}.example`,
        schemaAt: [...at, 'schema'],
        value: n.example,
      });
    if (n.schema && n.examples && typeof n.examples === 'object') {
      for (const [name, ex] of Object.entries<Json>(n.examples)) {
        out.push({
          where: `${at.join('.')}.examples.${name}`,
          schemaAt: [...at, 'schema'],
          value: ex.value,
        });
      }
    }
  });
  return out;
}

describe('schemas', () => {
  it('compiles every component schema', () => {
    for (const name of Object.keys(spec.components.schemas)) expect(() => component(name)).not.toThrow();
  });

  it('accepts every example the file gives', () => {
    const all = examples();
    expect(all.length).toBeGreaterThan(20);
    const bad = all
      .map(({ where, schemaAt, value }) => {
        const v = validatorAt(schemaAt);
        return v(value) ? undefined : { where, errors: v.errors };
      })
      .filter(Boolean);
    expect(bad).toEqual([]);
  });

  const menderExample = {
    id: 'e57adf60-5d8c-4c66-802a-e0c5f643102a',
    type: 'device-status-changed',
    data: { id: '769e5a83-259c-4506-ab05-9c2564f196fd', status: 'accepted' },
    time: '2022-09-13T10:03:47.746805235Z',
  };

  it("accepts the contract's Mender example as an Event", () => {
    const v = component('Event');
    expect(v(menderExample)).toBe(true);
    expect(
      validatorAt(['paths', '/v1/events', 'post', 'requestBody', 'content', 'application/json', 'schema'])(
        menderExample,
      ),
    ).toBe(true);
  });

  it('lists the nine event types and the event id pattern', () => {
    expect([...spec.components.schemas.EventType.enum].sort()).toEqual(Object.keys(validators.data).sort());
    expect(spec.components.schemas.Event.properties.id.pattern).toBe('^[A-Za-z0-9._:-]{1,128}$');
  });

  // The service's own checks decide; the schema must agree with them on these samples.
  const coreAcceptsEvent = (e: Json) => validators.event(e) && validators.data[(e as { type: EventType }).type](e.data);
  const events: Array<[string, Json]> = [
    ['mender', menderExample],
    ['no id', { type: 'message', data: {} }],
    ['bad id', { id: 'a b', type: 'message', data: {} }],
    ['long id', { id: 'x'.repeat(129), type: 'message', data: {} }],
    ['unknown type', { type: 'ping', data: {} }],
    ['no data', { type: 'message' }],
    ['array data', { type: 'message', data: [] }],
    ['extra field', { type: 'message', data: {}, topic: 'messages' }],
    ['bad time', { type: 'message', data: {}, time: 'yesterday' }],
    [
      'null scope ids',
      {
        type: 'message',
        data: {},
        site_id: null,
        group_id: null,
        device_id: null,
        time: null,
      },
    ],
    ['empty site id', { type: 'message', data: {}, site_id: '' }],
    ['bad status', { type: 'device-status-changed', data: { id: 'd', status: 'gone' } }],
    ['status missing', { type: 'device-status-changed', data: { id: 'd' } }],
    [
      'provisioned',
      {
        type: 'device-provisioned',
        data: { id: 'd', auth_sets: [], extra: 1 },
      },
    ],
    [
      'inventory',
      {
        type: 'device-inventory-changed',
        data: {
          device_id: 'd',
          inventory: [{ name: 'a', value: 1, scope: 'inventory' }],
        },
      },
    ],
    [
      'inventory item short',
      {
        type: 'devices-inventory-changed',
        data: { device_id: 'd', inventory: [{ name: 'a' }] },
      },
    ],
    [
      'audit',
      {
        type: 'audit',
        data: { id: 'a', message: 'm', timestamp: 1737367200.25 },
      },
    ],
    ['audit no message', { type: 'audit', data: { id: 'a', timestamp: 1 } }],
    [
      'device-event',
      {
        type: 'device-event',
        data: { type: 'AP_RESTARTED', timestamp: '2025-01-20T10:00:00Z' },
      },
    ],
    [
      'device-event bad timestamp',
      {
        type: 'device-event',
        data: { type: 'AP_RESTARTED', timestamp: 'noon' },
      },
    ],
    ['alarm', { type: 'alarm', data: { type: 'x', timestamp: 5 } }],
    ['alarm no type', { type: 'alarm', data: { timestamp: 5 } }],
  ];
  it.each(events)('agrees with the service on the event "%s"', (_name, e) => {
    expect(component('Event')(e)).toBe(!!coreAcceptsEvent(e));
  });

  const webhooks: Array<[string, Json]> = [
    ['minimal', { name: 'a', url: 'https://a.example.com/h', topics: ['deviceauth'] }],
    ['no topics', { name: 'a', url: 'https://a.example.com/h', topics: [] }],
    [
      'repeated topic',
      {
        name: 'a',
        url: 'https://a.example.com/h',
        topics: ['alarms', 'alarms'],
      },
    ],
    ['unknown topic', { name: 'a', url: 'https://a.example.com/h', topics: ['ping'] }],
    [
      'long name',
      {
        name: 'n'.repeat(101),
        url: 'https://a.example.com/h',
        topics: ['alarms'],
      },
    ],
    ['ftp url', { name: 'a', url: 'ftp://a.example.com/h', topics: ['alarms'] }],
    [
      'long url',
      {
        name: 'a',
        url: 'https://a.example.com/' + 'p'.repeat(2030),
        topics: ['alarms'],
      },
    ],
    [
      'unknown field',
      {
        name: 'a',
        url: 'https://a.example.com/h',
        topics: ['alarms'],
        colour: 'red',
      },
    ],
    [
      'read-only fields',
      {
        name: 'a',
        url: 'https://a.example.com/h',
        topics: ['alarms'],
        id: 'wh_x',
        has_secret: true,
      },
    ],
    [
      'host header',
      {
        name: 'a',
        url: 'https://a.example.com/h',
        topics: ['alarms'],
        headers: { HOST: 'x' },
      },
    ],
    [
      'webhook-* header',
      {
        name: 'a',
        url: 'https://a.example.com/h',
        topics: ['alarms'],
        headers: { 'Webhook-Id': 'x' },
      },
    ],
    [
      'mist signature header',
      {
        name: 'a',
        url: 'https://a.example.com/h',
        topics: ['alarms'],
        headers: { 'X-Mist-Signature-v2': 'x' },
      },
    ],
    [
      'fine header',
      {
        name: 'a',
        url: 'https://a.example.com/h',
        topics: ['alarms'],
        headers: { 'X-Token': 'abc' },
      },
    ],
    [
      'header line break',
      {
        name: 'a',
        url: 'https://a.example.com/h',
        topics: ['alarms'],
        headers: { 'X-Token': 'a\nb' },
      },
    ],
    [
      'bad signing',
      {
        name: 'a',
        url: 'https://a.example.com/h',
        topics: ['alarms'],
        signing: 'hmac',
      },
    ],
    [
      'standard secret',
      {
        name: 'a',
        url: 'https://a.example.com/h',
        topics: ['alarms'],
        secret: 'whsec_' + Buffer.alloc(32, 7).toString('base64'),
      },
    ],
    [
      'standard secret 24 bytes',
      {
        name: 'a',
        url: 'https://a.example.com/h',
        topics: ['alarms'],
        secret: 'whsec_' + Buffer.alloc(24, 7).toString('base64'),
      },
    ],
    [
      'standard secret 64 bytes',
      {
        name: 'a',
        url: 'https://a.example.com/h',
        topics: ['alarms'],
        secret: 'whsec_' + Buffer.alloc(64, 7).toString('base64'),
      },
    ],
    [
      'standard secret 23 bytes',
      {
        name: 'a',
        url: 'https://a.example.com/h',
        topics: ['alarms'],
        secret: 'whsec_' + Buffer.alloc(23, 7).toString('base64'),
      },
    ],
    [
      'standard secret 65 bytes',
      {
        name: 'a',
        url: 'https://a.example.com/h',
        topics: ['alarms'],
        secret: 'whsec_' + Buffer.alloc(65, 7).toString('base64'),
      },
    ],
    [
      'standard secret no prefix',
      {
        name: 'a',
        url: 'https://a.example.com/h',
        topics: ['alarms'],
        secret: Buffer.alloc(32, 7).toString('base64'),
      },
    ],
    [
      'mender secret',
      {
        name: 'a',
        url: 'https://a.example.com/h',
        topics: ['alarms'],
        signing: 'mender',
        secret: 'a0B1',
      },
    ],
    [
      'mender odd secret',
      {
        name: 'a',
        url: 'https://a.example.com/h',
        topics: ['alarms'],
        signing: 'mender',
        secret: 'abc',
      },
    ],
    [
      'mender no secret',
      {
        name: 'a',
        url: 'https://a.example.com/h',
        topics: ['alarms'],
        signing: 'mender',
        secret: null,
      },
    ],
    [
      'mist secret',
      {
        name: 'a',
        url: 'https://a.example.com/h',
        topics: ['alarms'],
        signing: 'mist',
        secret: 's'.repeat(256),
      },
    ],
    [
      'mist long secret',
      {
        name: 'a',
        url: 'https://a.example.com/h',
        topics: ['alarms'],
        signing: 'mist',
        secret: 's'.repeat(257),
      },
    ],
    [
      'empty secret',
      {
        name: 'a',
        url: 'https://a.example.com/h',
        topics: ['alarms'],
        secret: '',
      },
    ],
    [
      'scopes',
      {
        name: 'a',
        url: 'https://a.example.com/h',
        topics: ['alarms'],
        site_id: 's',
        group_id: null,
        metadata: { a: 1 },
      },
    ],
  ];
  const hook = { name: 'a', url: 'https://a.example.com/h', topics: ['deviceauth'] };
  webhooks.push(
    ['rate limit', { ...hook, rate_limit: 5 }],
    ['rate limit 0', { ...hook, rate_limit: 0 }],
    ['rate limit too high', { ...hook, rate_limit: 10_001 }],
    ['rate limit null', { ...hook, rate_limit: null }],
    ['ordering device', { ...hook, ordering: 'device' }],
    ['ordering other', { ...hook, ordering: 'site' }],
    ['filter', { ...hook, filter: { types: ['device-status-changed'], data: { status: { $in: ['accepted'] } } } }],
    ['filter null', { ...hook, filter: null }],
    ['filter empty', { ...hook, filter: {} }],
    ['filter unknown operator', { ...hook, filter: { data: { status: { $gt: 1 } } } }],
    ['filter two operators', { ...hook, filter: { data: { s: { $ne: 1, $exists: true } } } }],
    ['filter bad path', { ...hook, filter: { data: { 'a..b': 1 } } }],
    ['filter exists', { ...hook, filter: { data: { 'a.b': { $exists: false } } } }],
  );

  it.each(webhooks)('agrees with the service on the webhook "%s"', (_name, w) => {
    expect(component('WebhookInput')(w)).toBe(checkWebhookBody(w, 'create').ok);
  });

  it('describes the webhook read view, the delivery and the error with their fields', () => {
    const s = spec.components.schemas;
    expect(Object.keys(s.Webhook.properties).sort()).toEqual(
      [
        'id',
        'org_id',
        'name',
        'url',
        'topics',
        'site_id',
        'group_id',
        'headers',
        'signing',
        'enabled',
        'single_event_per_message',
        'metadata',
        'rate_limit',
        'filter',
        'ordering',
        'created_at',
        'updated_at',
        'has_secret',
        'previous_secret_expires_at',
        'disabled_reason',
      ].sort(),
    );
    expect(Object.keys(s.Delivery.properties).sort()).toEqual(
      [
        'id',
        'webhook_id',
        'event_ids',
        'topic',
        'message_id',
        'url',
        'status',
        'attempts',
        'status_code',
        'error',
        'created_at',
        'updated_at',
        'next_attempt_at',
        'held_by',
      ].sort(),
    );
    expect(Object.keys(s.PingResult.properties).sort()).toEqual([
      'delivery_id',
      'duration_ms',
      'error',
      'status',
      'status_code',
    ]);
    expect(
      component('Error')({
        error: { code: 'not_found', message: 'webhook not found' },
      }),
    ).toBe(true);
    expect(
      component('Error')({
        error: { code: 'x', message: 'y', details: [{ path: '/a' }] },
      }),
    ).toBe(false);
    expect(
      component('PingResult')({
        delivery_id: 'd',
        status: 'pending',
        status_code: null,
        duration_ms: null,
        error: null,
      }),
    ).toBe(true);
  });
});
