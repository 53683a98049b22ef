/**
 * Webhook filters (contract §9): `{"types": [...], "data": {"<dotted.path>": <condition>}}`, every
 * condition must hold. A condition is a scalar (equal), `{"$in": [...]}`, `{"$ne": v}` or
 * `{"$exists": bool}`. Checked once when a webhook is written, compiled once per webhook when a
 * worker loads it, and evaluated at fan-out only for webhooks that have one.
 */
import { ajv } from './schemas';
import { EVENT_TYPE_NAMES, topicOf, type EventType, type Topic } from './topics';
import { ajvDetails, joinPointer, type ErrorDetail } from './validation';

export type Scalar = string | number | boolean | null;
export type FilterCondition = Scalar | { $in: Scalar[] } | { $ne: Scalar } | { $exists: boolean };

export interface WebhookFilter {
  types?: EventType[];
  data?: Record<string, FilterCondition>;
}

/** Most data conditions in one filter, and longest dotted path. */
export const MAX_FILTER_CONDITIONS = 32;
export const MAX_FILTER_PATH = 256;
export const MAX_FILTER_IN = 100;

const scalar = { type: ['string', 'number', 'boolean', 'null'], maxLength: 1024 } as const;

/** One data condition: a scalar (equal), `{"$in": [...]}`, `{"$ne": v}` or `{"$exists": bool}`. */
export const filterConditionSchema = {
  anyOf: [
    scalar,
    {
      type: 'object',
      additionalProperties: false,
      required: ['$in'],
      properties: { $in: { type: 'array', minItems: 1, maxItems: MAX_FILTER_IN, items: scalar } },
    },
    { type: 'object', additionalProperties: false, required: ['$ne'], properties: { $ne: scalar } },
    {
      type: 'object',
      additionalProperties: false,
      required: ['$exists'],
      properties: { $exists: { type: 'boolean' } },
    },
  ],
} as const;

export const webhookFilterSchema = {
  $id: 'devhooks/webhook-filter',
  type: 'object',
  additionalProperties: false,
  minProperties: 1,
  properties: {
    types: { type: 'array', minItems: 1, uniqueItems: true, items: { type: 'string', enum: EVENT_TYPE_NAMES } },
    data: {
      type: 'object',
      minProperties: 1,
      maxProperties: MAX_FILTER_CONDITIONS,
      propertyNames: { pattern: `^[^.]{1,128}(\\.[^.]{1,128})*$`, maxLength: MAX_FILTER_PATH },
      additionalProperties: filterConditionSchema,
    },
  },
} as const;

const validateFilter = ajv.compile(webhookFilterSchema);

const CONDITION_RULE =
  'must be a string, number, boolean or null (equal), or exactly one of {"$in": [values]}, {"$ne": value}, {"$exists": true|false}';

/**
 * Problems of a filter, with paths under `/filter` (one detail per bad condition, naming its path).
 * `topics` are the webhook's: a type outside them could never match.
 */
export function filterProblems(filter: unknown, topics: readonly Topic[]): ErrorDetail[] {
  if (!validateFilter(filter)) {
    const details: ErrorDetail[] = [];
    const conditions = new Set<string>();
    for (const e of validateFilter.errors ?? []) {
      const m = /^\/data\/([^/]+)/.exec(e.instancePath);
      if (m && e.keyword !== 'propertyNames') {
        const path = `/filter/data/${m[1]}`;
        if (!conditions.has(path)) details.push({ path, message: CONDITION_RULE });
        conditions.add(path);
      } else if (e.keyword === 'propertyNames' || (e.keyword === 'pattern' && e.instancePath.startsWith('/data'))) {
        const name = (e.params as { propertyName?: string }).propertyName ?? '';
        details.push({
          path: joinPointer('/filter/data', name),
          message: `is not a dotted path (non-empty names joined by ".", at most ${MAX_FILTER_PATH} characters)`,
        });
      } else if (e.keyword !== 'pattern' && e.keyword !== 'maxLength') {
        details.push(...ajvDetails([e], undefined, '/filter'));
      }
    }
    return details.length ? details : [{ path: '/filter', message: 'is not a valid filter' }];
  }
  const f = filter as WebhookFilter;
  const details: ErrorDetail[] = [];
  f.types?.forEach((t, i) => {
    const topic = topicOf(t) as Topic;
    if (!topics.includes(topic))
      details.push({
        path: `/filter/types/${i}`,
        message: `${t} is a ${topic} event and this webhook does not subscribe to ${topic}`,
      });
  });
  return details;
}

/** What a filter is evaluated on: the event's type and its data, parsed at most once. */
export interface FilterSubject {
  type: string;
  data(): unknown;
}

export type CompiledFilter = (e: FilterSubject) => boolean;

const ABSENT = Symbol('absent');

function lookup(value: unknown, path: readonly string[]): unknown {
  let v = value;
  for (const seg of path) {
    if (v === null || typeof v !== 'object') return ABSENT;
    if (!Object.prototype.hasOwnProperty.call(v, seg)) return ABSENT;
    v = (v as Record<string, unknown>)[seg];
  }
  return v === undefined ? ABSENT : v;
}

function conditionTest(c: FilterCondition): (v: unknown) => boolean {
  if (c === null || typeof c !== 'object') return (v) => v === c;
  if ('$in' in c) {
    const set = new Set<unknown>(c.$in);
    return (v) => set.has(v);
  }
  if ('$ne' in c) return (v) => v !== c.$ne;
  const want = c.$exists;
  return (v) => (v !== ABSENT) === want;
}

/** A filter as one function (types first: they need no parsing). */
export function compileFilter(f: WebhookFilter): CompiledFilter {
  const types = f.types ? new Set<string>(f.types) : undefined;
  const conditions = Object.entries(f.data ?? {}).map(([path, c]) => {
    const segs = path.split('.');
    const test = conditionTest(c);
    return (data: unknown) => test(lookup(data, segs));
  });
  return (e) => {
    if (types && !types.has(e.type)) return false;
    if (!conditions.length) return true;
    const data = e.data();
    for (const c of conditions) if (!c(data)) return false;
    return true;
  };
}

/** A subject over an event whose data is still a JSON string: parsed on first use, once. */
export function filterSubject(e: { type: string; data: string }): FilterSubject {
  let parsed: unknown = ABSENT;
  return {
    type: e.type,
    data: () => {
      if (parsed === ABSENT) {
        try {
          parsed = JSON.parse(e.data);
        } catch {
          parsed = undefined;
        }
      }
      return parsed;
    },
  };
}
