/**
 * Request bodies as whole JSON Schemas (draft 2020-12), for documents such as the API's OpenAPI
 * description: core's ajv schemas with what core checks in code folded in (each event type's data,
 * filters, secrets per scheme, header names and values, the URL scheme). The service validates
 * with the ajv schemas and those checks; json-schemas.test.ts keeps both in agreement.
 * They refer to core's schemas by `$id` (e.g. `devhooks/webhook-filter`) and carry none themselves
 * (the ajv schemas they extend own those ids).
 */
import { webhookFilterSchema } from './filters';
import { dataSchemas, eventEnvelopeSchema, webhookCreateSchema, webhookPatchSchema, WEBHOOK_SIGNINGS } from './schemas';
import { SECRET_SCHEMAS } from './secrets';
import { EVENT_TYPE_NAMES, type EventType } from './topics';
import { FORBIDDEN_HEADERS, HEADER_NAME, HEADER_VALUE, RESERVED_HEADER_PREFIX } from './webhooks';

/** A pattern matching `text` in any letter case (JSON Schema patterns take no flags). */
function anyCase(text: string): string {
  return [...text]
    .map((c) =>
      c.toLowerCase() !== c.toUpperCase()
        ? `[${c.toUpperCase()}${c.toLowerCase()}]`
        : c.replace(/[.*+?^${}()|[\]\\/]/, '\\$&'),
    )
    .join('');
}

const RESERVED_HEADER_NAME = `^(?:${[...FORBIDDEN_HEADERS].map(anyCase).join('|')}|${anyCase(RESERVED_HEADER_PREFIX)}.*)$`;

/** `headers`: names are tokens and not reserved; values hold no control characters. */
export const webhookHeadersJsonSchema = {
  ...webhookCreateSchema.properties.headers,
  propertyNames: { pattern: HEADER_NAME.source, not: { pattern: RESERVED_HEADER_NAME } },
  additionalProperties: { type: 'string', pattern: HEADER_VALUE.source },
};

/** The scheme part of `urlProblem` (the rest needs a URL parser). */
const HTTP_URL_PATTERN = `^${anyCase('http')}${anyCase('s')}?://`;

/** `secret` by `signing` (`null` or `""` means none); a create without `signing` is `standard`. */
function secretRules(mode: 'create' | 'patch'): object[] {
  return WEBHOOK_SIGNINGS.map((signing) => ({
    if: {
      properties: { signing: { const: signing } },
      ...(mode === 'create' && signing === 'standard' ? {} : { required: ['signing'] }),
    },
    then: { properties: { secret: { anyOf: [{ type: 'null' }, { const: '' }, SECRET_SCHEMAS[signing]] } } },
  }));
}

/**
 * A webhook body: `create` for create and replace (PUT), `patch` for PATCH. What only the stored
 * webhook can tell (a PATCH's secret against the current scheme, filter types against the topics,
 * addresses a URL resolves to) stays with checkWebhookBody.
 */
export function webhookBodyJsonSchema(mode: 'create' | 'patch'): object {
  const { $id: _id, ...base } = mode === 'create' ? webhookCreateSchema : webhookPatchSchema;
  return {
    ...base,
    ...(mode === 'patch' ? { minProperties: 1 } : {}),
    properties: {
      ...base.properties,
      url: { ...base.properties.url, pattern: HTTP_URL_PATTERN },
      headers: webhookHeadersJsonSchema,
      filter: { anyOf: [{ $ref: webhookFilterSchema.$id }, { type: 'null' }] },
    },
    allOf: secretRules(mode),
  };
}

/** Event types grouped by the schema of their data (types sharing one are listed together). */
function typesByDataSchema(): EventType[][] {
  const groups = new Map<object, EventType[]>();
  for (const type of EVENT_TYPE_NAMES) groups.set(dataSchemas[type], [...(groups.get(dataSchemas[type]) ?? []), type]);
  return [...groups.values()];
}

const { $id: _eventId, ...eventEnvelope } = eventEnvelopeSchema;

/** One event in: the envelope, and `data` by the schema of its `type`. */
export const eventJsonSchema = {
  ...eventEnvelope,
  allOf: typesByDataSchema().map((types) => ({
    if: {
      properties: { type: types.length === 1 ? { const: types[0] } : { enum: types } },
      required: ['type'],
    },
    then: { properties: { data: dataSchemas[types[0]] } },
  })),
};
