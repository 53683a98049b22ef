/**
 * Bodies of the delivery controls (contract §9): secret rotation, recover and replay windows.
 * Checked here, once, for the API; the engine does the work.
 */
import { parseDuration } from './durations';
import { ajv } from './schemas';
import { generateSecret, secretProblem } from './secrets';
import { EVENT_TYPE_NAMES, type EventType } from './topics';
import { ajvDetails, type ErrorDetail } from './validation';
import type { Webhook, WebhookFields } from './webhooks';

export const DEFAULT_ROTATION_GRACE_MS = 24 * 3_600_000;
export const MAX_ROTATION_GRACE_MS = 7 * 24 * 3_600_000;

const time = { type: 'string', format: 'date-time', maxLength: 64 } as const;

export const rotateSecretSchema = {
  $id: 'devhooks/rotate-secret',
  type: 'object',
  additionalProperties: false,
  properties: {
    secret: { type: 'string', minLength: 1, maxLength: 1024 },
    grace: { type: ['string', 'integer'], minimum: 0, maxLength: 32 },
  },
} as const;

export const recoverSchema = {
  $id: 'devhooks/recover',
  type: 'object',
  additionalProperties: false,
  required: ['since'],
  properties: { since: time, until: time },
} as const;

export const replaySchema = {
  $id: 'devhooks/replay',
  type: 'object',
  additionalProperties: false,
  required: ['since'],
  properties: {
    since: time,
    until: time,
    types: { type: 'array', minItems: 1, uniqueItems: true, items: { type: 'string', enum: EVENT_TYPE_NAMES } },
  },
} as const;

const validateRotate = ajv.compile(rotateSecretSchema);
const validateRecover = ajv.compile(recoverSchema);
const validateReplay = ajv.compile(replaySchema);

export type Checked<T> = ({ ok: true } & T) | { ok: false; details: ErrorDetail[] };

export interface Rotation {
  /** The webhook's fields after the rotation. */
  fields: WebhookFields;
  secret: string;
  /** When the old secret stops signing; null: it stopped at once. */
  previousExpiresAt: string | null;
}

/** `grace`: a duration (`"24h"`, `"30m"`, `"0"`) or whole seconds; 0 … 7 days. */
function graceMs(grace: string | number | undefined): number | string {
  if (grace === undefined) return DEFAULT_ROTATION_GRACE_MS;
  let ms: number;
  try {
    ms = typeof grace === 'number' ? grace * 1000 : parseDuration(grace, 'grace');
  } catch {
    return 'must be a duration such as "24h", "30m" or "0", or whole seconds';
  }
  if (ms > MAX_ROTATION_GRACE_MS) return 'must be at most 7d';
  return ms;
}

/**
 * A rotation of `w`'s secret: the given one (checked against the webhook's scheme) or a new one.
 * `standard` keeps signing with the old secret too for the grace period; `mender` and `mist`
 * headers hold one signature, so they switch at once.
 */
export function rotateSecret(w: Webhook, body: unknown, now = Date.now()): Checked<Rotation> {
  if (!validateRotate(body ?? {})) return { ok: false, details: ajvDetails(validateRotate.errors) };
  const b = (body ?? {}) as { secret?: string; grace?: string | number };
  const details: ErrorDetail[] = [];
  const grace = graceMs(b.grace);
  if (typeof grace === 'string') details.push({ path: '/grace', message: grace });
  const problem = b.secret === undefined ? undefined : secretProblem(w.signing, b.secret);
  if (problem) details.push({ path: '/secret', message: problem });
  if (b.secret !== undefined && b.secret === w.secret)
    details.push({ path: '/secret', message: 'is the current secret; a rotation needs a new one' });
  if (details.length || typeof grace === 'string') return { ok: false, details };

  const { id: _i, org_id: _o, created_at: _c, updated_at: _u, disabled_reason: _d, ...kept } = w;
  const fields: WebhookFields = { ...kept, secret: b.secret ?? generateSecret(w.signing) };
  delete fields.previous_secret;
  delete fields.previous_secret_expires_at;
  let previousExpiresAt: string | null = null;
  if (w.signing === 'standard' && w.secret && grace > 0) {
    previousExpiresAt = new Date(now + grace).toISOString();
    fields.previous_secret = w.secret;
    fields.previous_secret_expires_at = previousExpiresAt;
  }
  return { ok: true, fields, secret: fields.secret!, previousExpiresAt };
}

export interface Window {
  since: number;
  until: number;
  types?: EventType[];
}

/** A `{since, until?, types?}` window (recover takes no types); until defaults to now. */
export function checkWindow(body: unknown, kind: 'recover' | 'replay', now = Date.now()): Checked<Window> {
  const validate = kind === 'recover' ? validateRecover : validateReplay;
  if (body === undefined || !validate(body)) {
    return {
      ok: false,
      details: body === undefined ? [{ path: '/since', message: 'is required' }] : ajvDetails(validate.errors),
    };
  }
  const b = body as { since: string; until?: string; types?: EventType[] };
  const since = Date.parse(b.since);
  const until = b.until === undefined ? now : Date.parse(b.until);
  if (b.until === undefined && since > now)
    return { ok: false, details: [{ path: '/since', message: 'must not be in the future' }] };
  if (until < since) return { ok: false, details: [{ path: '/until', message: 'must not be before since' }] };
  return b.types ? { ok: true, since, until, types: b.types } : { ok: true, since, until };
}
