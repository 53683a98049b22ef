/** Validation errors in the `details` shape of docs/contract.md §4, and the ajv → details translation. */
import type { ErrorObject } from 'ajv';

export interface ErrorDetail {
  /** Position of the item in a batch (events or webhooks); absent for single objects. */
  index?: number;
  /** JSON pointer into the item (RFC 6901), e.g. `/data/status`; `""` is the item itself. */
  path: string;
  message: string;
}

/** At most this many details are reported for one request; the rest are summarised. */
export const MAX_DETAILS = 50;

export const errorDetailSchema = {
  $id: 'devhooks/error-detail',
  type: 'object',
  required: ['path', 'message'],
  properties: {
    index: {
      type: 'integer',
      minimum: 0,
      description: 'Position of the item in a batch (events, webhooks, webhook_ids); absent for a single object.',
    },
    path: {
      type: 'string',
      description: 'JSON pointer (RFC 6901) into the item, or the query parameter (`/limit`); `""` is the item itself.',
    },
    message: { type: 'string' },
  },
} as const;

/** Every error answer of the API: `{"error": {"code", "message", "details"?}}` (docs/contract.md §4). */
export const errorBodySchema = {
  $id: 'devhooks/error',
  type: 'object',
  required: ['error'],
  properties: {
    error: {
      type: 'object',
      required: ['code', 'message'],
      properties: {
        code: { type: 'string', examples: ['invalid_request'] },
        message: { type: 'string' },
        details: {
          type: 'array',
          minItems: 1,
          items: { $ref: errorDetailSchema.$id },
          description: `Present only when there are details. Event batches report at most ${MAX_DETAILS}, then one summary line.`,
        },
      },
    },
  },
} as const;

export function pointerEscape(segment: string | number): string {
  return String(segment).replace(/~/g, '~0').replace(/\//g, '~1');
}

export function joinPointer(base: string, ...segments: Array<string | number>): string {
  return base + segments.map((s) => '/' + pointerEscape(s)).join('');
}

function describeType(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  return typeof value;
}

/** Turns ajv errors into details; `basePath` prefixes paths (e.g. `/data` for a type's data schema). */
export function ajvDetails(errors: ErrorObject[] | null | undefined, index?: number, basePath = ''): ErrorDetail[] {
  const out: ErrorDetail[] = [];
  const seen = new Set<string>();
  for (const e of errors ?? []) {
    let path = basePath + e.instancePath;
    let message: string;
    switch (e.keyword) {
      case 'required':
        path = joinPointer(path, (e.params as { missingProperty: string }).missingProperty);
        message = 'is required';
        break;
      case 'additionalProperties':
        path = joinPointer(path, (e.params as { additionalProperty: string }).additionalProperty);
        message = 'is not an allowed field';
        break;
      case 'enum':
        message = `must be one of: ${(e.params as { allowedValues: unknown[] }).allowedValues.map(String).join(', ')}`;
        break;
      case 'type':
        message = `must be ${(e.params as { type: string }).type}, not ${describeType(e.data)}`;
        break;
      case 'pattern':
        message =
          e.parentSchema && (e.parentSchema as { description?: string }).description
            ? `must be ${(e.parentSchema as { description: string }).description}`
            : `must match ${(e.params as { pattern: string }).pattern}`;
        break;
      case 'format':
        message = `must be a valid ${(e.params as { format: string }).format === 'date-time' ? 'RFC 3339 date-time' : (e.params as { format: string }).format}`;
        break;
      case 'if':
      case 'anyOf':
      case 'oneOf':
        continue; // the branch errors say more
      default:
        message = e.message ?? 'is invalid';
    }
    const key = path + '\u0000' + message;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push(index === undefined ? { path, message } : { index, path, message });
  }
  return out;
}

/** Caps a detail list so one bad 1000-item batch cannot produce a megabyte of errors. */
export function capDetails(details: ErrorDetail[]): ErrorDetail[] {
  if (details.length <= MAX_DETAILS) return details;
  const rest = details.length - MAX_DETAILS;
  return [...details.slice(0, MAX_DETAILS), { path: '', message: `… and ${rest} more error${rest === 1 ? '' : 's'}` }];
}
