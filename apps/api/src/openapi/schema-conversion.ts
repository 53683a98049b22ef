/**
 * Core's ajv schemas → OpenAPI 3.1 component schemas (JSON Schema 2020-12): notes (descriptions,
 * examples) added, `$id`s dropped and refs by id turned into `#/components/schemas/<Name>`, inline
 * copies of another component replaced by a `$ref` to it, and anything that is not a 2020-12
 * keyword refused (an ajv-only keyword would otherwise slip into the document unnoticed).
 */
import type { SchemaNotes } from './schema-notes';

type Schema = Record<string, unknown>;

const COMPONENTS = '#/components/schemas/';
/** Keywords whose value is one schema, a list of schemas, or a map of schemas. */
const ONE_SCHEMA = ['items', 'additionalProperties', 'propertyNames', 'not', 'if', 'then', 'else', 'contains'];
const SCHEMA_LIST = ['allOf', 'anyOf', 'oneOf', 'prefixItems'];
const SCHEMA_MAP = ['properties', 'patternProperties', '$defs', 'dependentSchemas'];
const ANNOTATIONS = ['description', 'examples', 'title', '$comment', 'default', 'readOnly', 'writeOnly', 'deprecated'];
const KEYWORDS = new Set([
  ...ONE_SCHEMA,
  ...SCHEMA_LIST,
  ...SCHEMA_MAP,
  ...ANNOTATIONS,
  ...['unevaluatedItems', 'unevaluatedProperties', 'dependentRequired', '$ref', 'type', 'enum', 'const', 'format'],
  ...['multipleOf', 'maximum', 'exclusiveMaximum', 'minimum', 'exclusiveMinimum', 'maxLength', 'minLength'],
  ...['pattern', 'maxItems', 'minItems', 'uniqueItems', 'maxContains', 'minContains', 'maxProperties'],
  ...['minProperties', 'required', 'contentEncoding', 'contentMediaType', 'contentSchema'],
]);

const isSchema = (v: unknown): v is Schema => typeof v === 'object' && v !== null && !Array.isArray(v);

/** A shallow copy of `node` with `f` applied to every schema directly inside it. */
function mapSubschemas(node: Schema, f: (child: Schema) => Schema): Schema {
  const out: Schema = { ...node };
  for (const key of ONE_SCHEMA) if (isSchema(node[key])) out[key] = f(node[key]);
  for (const key of SCHEMA_LIST) if (Array.isArray(node[key])) out[key] = (node[key] as Schema[]).map(f);
  for (const key of SCHEMA_MAP) {
    const map = node[key];
    if (isSchema(map)) out[key] = Object.fromEntries(Object.entries(map).map(([k, v]) => [k, f(v as Schema)]));
  }
  return out;
}

function everySchema(root: Schema, visit: (node: Schema) => void): void {
  visit(root);
  mapSubschemas(root, (child) => (everySchema(child, visit), child));
}

/** A copy of a component's schema in which other components' very schema objects are `$ref`s. */
function copyReferring(root: Schema, nameOf: Map<object, string>): Schema {
  const copy = (node: Schema): Schema => {
    const name = nameOf.get(node);
    return name ? { $ref: COMPONENTS + name } : mapSubschemas(node, copy);
  };
  return mapSubschemas(root, copy);
}

function withNotes(name: string, schema: Schema, notes: SchemaNotes | undefined): Schema {
  const { properties: propertyNotes, ...own } = notes ?? {};
  const out: Schema = { ...schema, ...own };
  if (propertyNotes) {
    const properties = { ...(schema.properties as Record<string, Schema> | undefined) };
    for (const [p, note] of Object.entries(propertyNotes)) {
      if (!properties[p]) throw new Error(`OpenAPI notes: ${name} has no property ${p}`);
      properties[p] = { ...properties[p], ...note };
    }
    out.properties = properties;
  }
  return out;
}

/** The constraints of a schema, annotations left out, with sorted keys: equal keys, same schema. */
function constraintKey(node: unknown): string {
  if (Array.isArray(node)) return `[${node.map(constraintKey).join(',')}]`;
  if (node === null || typeof node !== 'object') return JSON.stringify(node);
  const entries = Object.entries(node)
    .filter(([k]) => !ANNOTATIONS.includes(k))
    .sort(([a], [b]) => (a < b ? -1 : 1));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${constraintKey(v)}`).join(',')}}`;
}

function annotationsOf(node: Schema): Schema {
  return Object.fromEntries(Object.entries(node).filter(([k]) => ANNOTATIONS.includes(k)));
}

/** Inline copies of `byKey`'s schemas inside `node` (not `node` itself) become `$ref`s, annotations kept. */
function referToEqual(node: Schema, byKey: Map<string, string>): Schema {
  return mapSubschemas(node, (child) => {
    const name = byKey.get(constraintKey(child));
    return name ? { $ref: COMPONENTS + name, ...annotationsOf(child) } : referToEqual(child, byKey);
  });
}

/** The component schemas of the document from core's schemas and the notes on them. */
export function toOpenApiSchemas(
  core: Record<string, object>,
  notes: Record<string, SchemaNotes>,
): Record<string, Schema> {
  for (const name of Object.keys(notes)) if (!(name in core)) throw new Error(`OpenAPI notes: no schema ${name}`);
  const nameOf = new Map<object, string>(Object.entries(core).map(([name, schema]) => [schema, name]));
  const nameOfId = new Map<string, string>();
  const out: Record<string, Schema> = {};
  for (const [name, schema] of Object.entries(core)) {
    const { $id, ...copy } = copyReferring(schema as Schema, nameOf);
    if (typeof $id === 'string') nameOfId.set($id, name);
    out[name] = withNotes(name, copy, notes[name]);
  }
  for (const [name, schema] of Object.entries(out)) {
    everySchema(schema, (node) => {
      for (const k of Object.keys(node))
        if (!KEYWORDS.has(k)) throw new Error(`${name}: "${k}" is no JSON Schema keyword`);
      if (typeof node.$ref !== 'string' || node.$ref.startsWith(COMPONENTS)) return;
      const target = nameOfId.get(node.$ref);
      if (!target) throw new Error(`${name}: $ref ${node.$ref} names no component`);
      node.$ref = COMPONENTS + target;
    });
  }
  // Copies (value sets, shared pieces) become refs too; a bare `{"type": ...}` says nothing worth a name.
  const byKey = new Map<string, string>();
  for (const [name, schema] of Object.entries(out)) {
    const key = constraintKey(schema);
    if (!/^\{"type":[^,]*\}$/.test(key) && !byKey.has(key)) byKey.set(key, name);
  }
  return Object.fromEntries(Object.entries(out).map(([name, schema]) => [name, referToEqual(schema, byKey)]));
}
