/**
 * The client against the OpenAPI document the API serves (built as at start-up; not a dependency of
 * the client itself): ROUTES holds exactly the document's /v1 operations, with their methods and
 * path parameters; ROUTE_SCHEMAS names the document's request and answer schemas of each; and each
 * of those types in types.ts has the fields of its schema (read with the TypeScript compiler).
 */
import path from 'node:path';
import ts from 'typescript';
import { buildOpenApiDocument } from '../../../apps/api/src/openapi/document';
import { countOf, fillPath, ROUTE_SCHEMAS, ROUTES, type RouteName } from './routes';
import { APP_OPERATIONS } from '../../../test/support/app-operations';

const spec: any = buildOpenApiDocument();
const schemas: Record<string, any> = spec.components.schemas;
const METHODS = ['get', 'put', 'post', 'patch', 'delete'];
const names = Object.keys(ROUTES) as RouteName[];

/** Every operation of the document, as `METHOD /path`. */
const operations = Object.entries(spec.paths as Record<string, object>).flatMap(([p, item]) =>
  Object.keys(item)
    .filter((m) => METHODS.includes(m))
    .map((m) => `${m.toUpperCase()} ${p}`),
);
const operation = (route: string) => {
  const [method, p] = route.split(' ');
  return spec.paths[p]?.[method.toLowerCase()];
};

const refName = (x: any): string | undefined => x?.$ref?.split('/').pop();
/** The component names a request or answer schema refers to (one, or the choices of a oneOf). */
const refsOf = (schema: any): string[] =>
  schema?.$ref ? [refName(schema)!] : ((schema?.oneOf ?? schema?.anyOf ?? []).map(refName).filter(Boolean) as string[]);

/** A component's fields: its properties and required ones, with those of its allOf parts. */
function fieldsOf(name: string): { properties: string[]; required: string[] } {
  const s = schemas[name];
  const properties = new Set(Object.keys(s.properties ?? {}));
  const required = new Set<string>(s.required ?? []);
  for (const part of s.allOf ?? []) {
    const inner = refName(part) ? fieldsOf(refName(part)!) : { properties: [], required: [] };
    for (const p of [...inner.properties, ...Object.keys(part.properties ?? {})]) properties.add(p);
    for (const r of [...inner.required, ...(part.required ?? [])]) required.add(r);
  }
  return { properties: [...properties].sort(), required: [...required].sort() };
}

const isObjectSchema = (name: string) => fieldsOf(name).properties.length > 0;

/** The object components an answer schema reaches (its own fields, array items, nullable refs, allOf). */
function reached(name: string, into = new Set<string>()): Set<string> {
  if (into.has(name) || !isObjectSchema(name)) return into;
  into.add(name);
  const s = schemas[name];
  const subs = [
    ...(s.allOf ?? []),
    ...(s.allOf ?? []).flatMap((p: any) => Object.values(p.properties ?? {})),
    ...Object.values(s.properties ?? {}),
  ];
  for (const sub of subs as any[]) {
    for (const x of [sub, sub.items, ...(sub.anyOf ?? []), ...(sub.oneOf ?? [])]) {
      const ref = refName(x);
      if (ref) reached(ref, into);
    }
  }
  return into;
}

/** The exported types of types.ts: each one's fields and which of them are optional. */
function clientTypes(): Map<string, { properties: string[]; optional: string[] }> {
  const root = path.resolve(__dirname, '../../..');
  const file = path.join(__dirname, 'types.ts');
  const program = ts.createProgram([file], {
    strict: true,
    noEmit: true,
    skipLibCheck: true,
    baseUrl: root,
    paths: { '@devhooks/core': ['packages/core/src'] },
    resolveJsonModule: true,
    esModuleInterop: true,
    types: [],
  });
  const checker = program.getTypeChecker();
  const moduleSymbol = checker.getSymbolAtLocation(program.getSourceFile(file)!)!;
  const types = new Map<string, { properties: string[]; optional: string[] }>();
  for (const exported of checker.getExportsOfModule(moduleSymbol)) {
    const symbol = exported.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(exported) : exported;
    const props = checker.getPropertiesOfType(checker.getDeclaredTypeOfSymbol(symbol));
    types.set(exported.name, {
      properties: props.map((p) => p.name).sort(),
      optional: props
        .filter((p) => p.flags & ts.SymbolFlags.Optional)
        .map((p) => p.name)
        .sort(),
    });
  }
  return types;
}

describe('ROUTES against the OpenAPI document', () => {
  it('holds exactly the /v1 operations, with their methods; the rest is not the API a client calls', () => {
    const v1 = operations.filter((op) => op.split(' ')[1].startsWith('/v1/')).sort();
    expect(Object.values(ROUTES).sort()).toEqual(v1);
    // probes, Prometheus, the document itself, Bull Board and its failing-receivers page, the console's files
    expect(operations.filter((op) => !v1.includes(op)).sort()).toEqual(APP_OPERATIONS);
  });

  it('fills exactly the path parameters the document declares for each route', () => {
    const resolve = (x: any) => (x.$ref ? spec.components.parameters[x.$ref.split('/').pop()] : x);
    for (const route of Object.values(ROUTES)) {
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

  it("names each route's request and answer schemas as the document does", () => {
    for (const name of names) {
      const op = operation(ROUTES[name]);
      const request = refsOf(op.requestBody?.content?.['application/json']?.schema);
      const answers = Object.entries(op.responses as Record<string, any>)
        .filter(([code]) => code.startsWith('2'))
        .flatMap(([, r]) => refsOf(r.content?.['application/json']?.schema));
      const declared = ROUTE_SCHEMAS[name];
      // a declared name is one the document gives; none declared only where the document has none
      expect([
        name,
        'request',
        declared.request === undefined ? request.length : request.includes(declared.request),
      ]).toEqual([name, 'request', declared.request === undefined ? 0 : true]);
      expect([
        name,
        'answer',
        declared.response === undefined ? answers.length : answers.includes(declared.response),
      ]).toEqual([name, 'answer', declared.response === undefined ? 0 : true]);
    }
  });
});

describe('types.ts against the schemas of the OpenAPI document', () => {
  const types = clientTypes();
  const requests = new Set(names.map((n) => ROUTE_SCHEMAS[n].request).filter((x): x is string => !!x));
  const answers = new Set<string>();
  for (const n of names) if (ROUTE_SCHEMAS[n].response) reached(ROUTE_SCHEMAS[n].response!, answers);

  it('has a type of each schema name the routes declare, and of every object an answer holds', () => {
    expect(answers.size).toBeGreaterThan(15);
    expect([...requests, ...answers].filter((name) => !types.has(name))).toEqual([]);
  });

  it('types every field of an answer, optional exactly where the schema does not require it', () => {
    for (const name of answers) {
      const schema = fieldsOf(name);
      const optional = schema.properties.filter((p) => !schema.required.includes(p));
      expect({ name, ...types.get(name) }).toEqual({ name, properties: schema.properties, optional });
    }
  });

  it('sends only fields a request schema knows, and always the ones it requires', () => {
    for (const name of requests) {
      const schema = fieldsOf(name);
      const type = types.get(name)!;
      expect([name, type.properties.filter((p) => !schema.properties.includes(p))]).toEqual([name, []]);
      const required = type.properties.filter((p) => !type.optional.includes(p));
      expect([name, required]).toEqual([name, schema.required]);
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
