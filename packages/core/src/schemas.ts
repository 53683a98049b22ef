/**
 * JSON schemas (ajv, compiled once) for the event envelope and each event type's data (docs/contract.md §4),
 * and for webhook bodies (docs/contract.md §3).
 */
import Ajv, { type ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';
import { DEVICE_STATUSES, EVENT_TYPE_NAMES, TOPICS, type EventType } from './topics';

export const ajv = new Ajv({ allErrors: true, strict: true, allowUnionTypes: true, verbose: true });
addFormats(ajv, ['date-time', 'uri']);

export const EVENT_ID_PATTERN = '^[A-Za-z0-9._:-]{1,128}$';
/** Longest site, group or device id accepted. */
export const MAX_SCOPE_ID = 256;

const scopeId = {
  type: ['string', 'null'],
  minLength: 1,
  maxLength: MAX_SCOPE_ID,
} as const;
const nonEmptyString = { type: 'string', minLength: 1, maxLength: 1024 } as const;
/** Mist timestamps are Unix seconds (often fractional); RFC 3339 strings are accepted too. */
export const timestampSchema = {
  anyOf: [{ type: 'number' }, { type: 'string', format: 'date-time' }],
} as const;

export const eventEnvelopeSchema = {
  $id: 'devhooks/event',
  type: 'object',
  additionalProperties: false,
  required: ['type', 'data'],
  properties: {
    id: {
      type: 'string',
      pattern: EVENT_ID_PATTERN,
      description: '1–128 characters of A-Z a-z 0-9 . _ : -',
    },
    type: { type: 'string', enum: EVENT_TYPE_NAMES },
    site_id: scopeId,
    group_id: scopeId,
    device_id: scopeId,
    time: { type: ['string', 'null'], format: 'date-time', maxLength: 64 },
    data: { type: 'object' },
  },
} as const;

const deviceAuth = (required: string[]) => ({
  type: 'object',
  required,
  properties: {
    id: nonEmptyString,
    status: { type: 'string', enum: DEVICE_STATUSES },
    auth_sets: { type: 'array' },
    created_ts: { type: 'string' },
  },
});

const inventory = {
  type: 'object',
  required: ['device_id', 'inventory'],
  properties: {
    device_id: nonEmptyString,
    inventory: {
      type: 'array',
      items: {
        type: 'object',
        required: ['name', 'value', 'scope'],
        properties: { name: nonEmptyString, value: {}, scope: nonEmptyString },
      },
    },
  },
};

const deviceData = deviceAuth(['id']);

/** The schema of each type's `data`; extra fields are kept (Mist and Mender add many). Types may share one. */
export const dataSchemas: Record<EventType, object> = {
  'device-provisioned': deviceData,
  'device-status-changed': deviceAuth(['id', 'status']),
  'device-decommissioned': deviceData,
  'devices-inventory-changed': inventory,
  'device-inventory-changed': inventory,
  audit: {
    type: 'object',
    required: ['id', 'message', 'timestamp'],
    properties: { id: nonEmptyString, message: { type: 'string' }, timestamp: timestampSchema },
  },
  'device-event': {
    type: 'object',
    required: ['type', 'timestamp'],
    properties: { type: nonEmptyString, timestamp: timestampSchema },
  },
  alarm: {
    type: 'object',
    required: ['type', 'timestamp'],
    properties: { type: nonEmptyString, timestamp: timestampSchema },
  },
  message: { type: 'object' },
};

export const WEBHOOK_SIGNINGS = ['standard', 'mender', 'mist'] as const;
export type Signing = (typeof WEBHOOK_SIGNINGS)[number];

/** Contract §8: `device` delivers one partition key's events to a webhook one at a time, in order. */
export const WEBHOOK_ORDERINGS = ['none', 'device'] as const;
export type Ordering = (typeof WEBHOOK_ORDERINGS)[number];

/** Bounds of a webhook's `rate_limit` (requests per second, over all workers). */
export const MIN_RATE_LIMIT = 1;
export const MAX_RATE_LIMIT = 10_000;

/** Fields a read returns; a body may carry them back (GET → edit → PUT) and they are ignored. */
export const WEBHOOK_READ_ONLY_FIELDS = [
  'id',
  'org_id',
  'created_at',
  'updated_at',
  'has_secret',
  'disabled_reason',
  'previous_secret_expires_at',
  // Mist's own webhook objects carry these; accepted so Mist configurations paste as they are.
  'for_site',
  'created_time',
  'modified_time',
] as const;

const webhookProperties = {
  name: { type: 'string', minLength: 1, maxLength: 100 },
  url: { type: 'string', minLength: 1, maxLength: 2048 },
  topics: {
    type: 'array',
    minItems: 1,
    uniqueItems: true,
    items: { type: 'string', enum: TOPICS },
  },
  site_id: scopeId,
  group_id: scopeId,
  headers: {
    type: ['object', 'null'],
    additionalProperties: { type: 'string' },
  },
  signing: { type: 'string', enum: WEBHOOK_SIGNINGS },
  secret: { type: ['string', 'null'], maxLength: 1024 },
  enabled: { type: 'boolean' },
  single_event_per_message: { type: 'boolean' },
  metadata: { type: ['object', 'null'] },
  rate_limit: { type: ['integer', 'null'], minimum: MIN_RATE_LIMIT, maximum: MAX_RATE_LIMIT },
  // checked in full by filterProblems (one clear detail per bad condition)
  filter: { type: ['object', 'null'] },
  ordering: { type: 'string', enum: WEBHOOK_ORDERINGS },
  ...Object.fromEntries(WEBHOOK_READ_ONLY_FIELDS.map((f) => [f, {}])),
};

export const webhookCreateSchema = {
  $id: 'devhooks/webhook',
  type: 'object',
  additionalProperties: false,
  required: ['name', 'url', 'topics'],
  properties: webhookProperties,
} as const;

export const webhookPatchSchema = {
  $id: 'devhooks/webhook-patch',
  type: 'object',
  additionalProperties: false,
  properties: webhookProperties,
} as const;

export const ROLES = ['admin', 'producer', 'viewer'] as const;
export type Role = (typeof ROLES)[number];

export const orgCreateSchema = {
  $id: 'devhooks/org',
  type: 'object',
  additionalProperties: false,
  required: ['name'],
  properties: { name: { type: 'string', minLength: 1, maxLength: 200 } },
} as const;

export const keyCreateSchema = {
  $id: 'devhooks/key',
  type: 'object',
  additionalProperties: false,
  required: ['name', 'role'],
  properties: {
    name: { type: 'string', minLength: 1, maxLength: 200 },
    role: { type: 'string', enum: ROLES },
  },
} as const;

export const webhookIdsSchema = {
  $id: 'devhooks/webhook-ids',
  type: 'object',
  additionalProperties: false,
  required: ['webhook_ids'],
  properties: {
    webhook_ids: {
      type: 'array',
      minItems: 1,
      maxItems: 1000,
      items: { type: 'string', minLength: 1, maxLength: 128 },
    },
  },
} as const;

export const validators = {
  event: ajv.compile(eventEnvelopeSchema),
  data: Object.fromEntries(Object.entries(dataSchemas).map(([type, schema]) => [type, ajv.compile(schema)])) as Record<
    EventType,
    ValidateFunction
  >,
  webhookCreate: ajv.compile(webhookCreateSchema),
  webhookPatch: ajv.compile(webhookPatchSchema),
  orgCreate: ajv.compile(orgCreateSchema),
  keyCreate: ajv.compile(keyCreateSchema),
  webhookIds: ajv.compile(webhookIdsSchema),
};
