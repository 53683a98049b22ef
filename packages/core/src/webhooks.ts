// Over 250 lines on purpose: every rule of a webhook body (contract §3, §8, §9) checked in one pass,
// with the view that masks what reads must not show.
/** Webhook bodies (docs/contract.md §3): field rules, normalization, and the public view. */
import { filterProblems, type WebhookFilter } from './filters';
import { validators, WEBHOOK_READ_ONLY_FIELDS, type Ordering, type Signing } from './schemas';
import { generateStandardSecret, secretProblem } from './secrets';
import { SIGNATURE_HEADERS } from './signatures';
import type { Topic } from './topics';
import { ajvDetails, joinPointer, type ErrorDetail } from './validation';

export const MAX_HEADERS_BYTES = 4096;
export const MAX_METADATA_BYTES = 4096;
export const MAX_URL_LENGTH = 2048;

/** A webhook as stored (the secret included: the service signs with it). */
export interface Webhook {
  id: string;
  org_id: string;
  name: string;
  url: string;
  topics: Topic[];
  site_id?: string;
  group_id?: string;
  headers: Record<string, string>;
  signing: Signing;
  secret?: string;
  enabled: boolean;
  single_event_per_message: boolean;
  metadata?: Record<string, unknown>;
  /** Requests per second to this webhook, over all workers together (contract §9). */
  rate_limit?: number;
  filter?: WebhookFilter;
  /** Absent in records written before the field existed: `none`. */
  ordering?: Ordering;
  /**
   * The secret a rotation replaced, still signed with (standard signing) until
   * `previous_secret_expires_at`. Never read back.
   */
  previous_secret?: string;
  previous_secret_expires_at?: string;
  created_at: string;
  updated_at: string;
  disabled_reason?: string;
}

/** What a read returns: never a secret, only whether there is one (and until when an old one still signs); header values masked. */
export type WebhookView = Omit<Webhook, 'secret' | 'previous_secret'> & { has_secret: boolean };

/**
 * What every read shows of a header value: receiver credentials (`Authorization`, API keys) live
 * there, so values are write-only. A PUT or PATCH that sends it back keeps the stored value.
 */
export const MASKED_HEADER_VALUE = '***';

/** The webhook's own headers as reads show them: names kept, every value masked. */
export function maskHeaderValues(headers: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of Object.keys(headers)) out[name] = MASKED_HEADER_VALUE;
  return out;
}

export function webhookView(w: Webhook, now = Date.now()): WebhookView {
  const { secret, previous_secret: _p, previous_secret_expires_at: expires, ...rest } = w;
  const view: WebhookView = {
    ...rest,
    headers: maskHeaderValues(w.headers ?? {}),
    ordering: w.ordering ?? 'none',
    has_secret: !!secret,
  };
  if (_p && expires && Date.parse(expires) > now) view.previous_secret_expires_at = expires;
  return view;
}

/**
 * Header values sent back masked (`"***"`) take the stored value of the same name (names ignore
 * case); one with no stored value to stand for is a detail.
 */
function unmaskHeaders(
  headers: Record<string, string>,
  stored: Record<string, string> | undefined,
  at: (path: string, message: string) => ErrorDetail,
  details: ErrorDetail[],
): Record<string, string> {
  const byName = new Map(Object.entries(stored ?? {}).map(([k, v]) => [k.toLowerCase(), v]));
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(headers)) {
    if (v !== MASKED_HEADER_VALUE) out[k] = v;
    else if (byName.has(k.toLowerCase())) out[k] = byName.get(k.toLowerCase())!;
    else {
      details.push(
        at(joinPointer('/headers', k), `"${MASKED_HEADER_VALUE}" keeps a stored value, and this header has none`),
      );
    }
  }
  return out;
}

/** The fields a body sets (read-only fields removed). */
export type WebhookFields = Omit<Webhook, 'id' | 'org_id' | 'created_at' | 'updated_at' | 'disabled_reason'>;

/** An HTTP header name (RFC 9110 token). */
export const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
export const HEADER_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/;
/** Header names a webhook may not set (compared in lowercase). */
export const FORBIDDEN_HEADERS: ReadonlySet<string> = new Set<string>([
  'host',
  'content-length',
  'transfer-encoding',
  'connection',
  // hop-by-hop headers: meaningless on one request, and they would confuse the connection pool
  'keep-alive',
  'upgrade',
  'te',
  'trailer',
  'proxy-connection',
  ...SIGNATURE_HEADERS,
]);

/** Every header name with this prefix (any case) belongs to devhooks. */
export const RESERVED_HEADER_PREFIX = 'webhook-';

export function headerProblem(name: string): string | undefined {
  if (!HEADER_NAME.test(name)) return 'is not a valid HTTP header name';
  const n = name.toLowerCase();
  if (FORBIDDEN_HEADERS.has(n)) return 'is set by devhooks and cannot be overridden';
  if (n.startsWith(RESERVED_HEADER_PREFIX)) return 'webhook-* headers are reserved for devhooks';
  return undefined;
}

/** Syntax of a target URL: absolute http(s), no credentials, at most 2048 characters. */
export function urlProblem(url: string): string | undefined {
  if (url.length > MAX_URL_LENGTH) return `must be at most ${MAX_URL_LENGTH} characters`;
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return 'must be an absolute http or https URL';
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') return 'must be an absolute http or https URL';
  if (!u.hostname) return 'must name a host';
  if (u.username || u.password) return 'must not carry credentials; put them in headers instead';
  return undefined;
}

type Mode = 'create' | 'replace' | 'patch';

export type WebhookCheck =
  { ok: true; fields: WebhookFields; generatedSecret?: string } | { ok: false; details: ErrorDetail[] };

/**
 * Checks a webhook body and merges it: `create` from nothing, `replace` (PUT) over `existing`
 * keeping its secret when none is given, `patch` (PATCH) changing only the fields present.
 * `null` (or `""` for the secret) clears an optional field.
 */
export function checkWebhookBody(body: unknown, mode: Mode, existing?: Webhook, index?: number): WebhookCheck {
  const at = (path: string, message: string): ErrorDetail =>
    index === undefined ? { path, message } : { index, path, message };
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    return { ok: false, details: [at('', 'must be a webhook object')] };
  }
  const validate = mode === 'patch' ? validators.webhookPatch : validators.webhookCreate;
  if (!validate(body)) return { ok: false, details: ajvDetails(validate.errors, index) };
  const b = { ...(body as Record<string, unknown>) };
  for (const f of WEBHOOK_READ_ONLY_FIELDS) delete b[f];
  if (mode === 'patch' && Object.keys(b).length === 0) {
    return { ok: false, details: [at('', 'names no field to change')] };
  }

  const details: ErrorDetail[] = [];
  const base: Partial<WebhookFields> = mode === 'patch' && existing ? { ...existing } : {};
  const has = (k: string) => Object.prototype.hasOwnProperty.call(b, k);
  const pick = <K extends keyof WebhookFields>(k: K, dflt?: WebhookFields[K]): WebhookFields[K] | undefined =>
    has(k) ? (b[k] as WebhookFields[K]) : mode === 'patch' ? base[k] : dflt;

  const name = pick('name')!;
  const url = pick('url')!;
  const topics = pick('topics')!;
  const signing = pick('signing', 'standard')!;
  const enabled = pick('enabled', true)!;
  const single = pick('single_event_per_message', false)!;
  const site = has('site_id') ? (b.site_id as string | null) : mode === 'patch' ? base.site_id : undefined;
  const group = has('group_id') ? (b.group_id as string | null) : mode === 'patch' ? base.group_id : undefined;
  const headersGiven = (has('headers') ? b.headers : mode === 'patch' ? base.headers : undefined) as
    Record<string, string> | null | undefined;
  const metadata = (has('metadata') ? b.metadata : mode === 'patch' ? base.metadata : undefined) as
    Record<string, unknown> | null | undefined;
  const rateLimit = (has('rate_limit') ? b.rate_limit : mode === 'patch' ? base.rate_limit : undefined) as
    number | null | undefined;
  const filter = (has('filter') ? b.filter : mode === 'patch' ? base.filter : undefined) as
    WebhookFilter | null | undefined;
  const ordering = pick('ordering', 'none') ?? 'none';

  if (has('url')) {
    const p = urlProblem(url);
    if (p) details.push(at('/url', p));
  }

  const headers =
    headersGiven && has('headers') ? unmaskHeaders(headersGiven, existing?.headers, at, details) : headersGiven;
  if (headers && has('headers')) {
    const seen = new Set<string>();
    let bytes = 0;
    for (const [k, v] of Object.entries(headers)) {
      const path = joinPointer('/headers', k);
      const p = headerProblem(k);
      if (p) details.push(at(path, p));
      else if (seen.has(k.toLowerCase())) details.push(at(path, 'is given twice (header names ignore case)'));
      if (!HEADER_VALUE.test(v)) details.push(at(path, 'value must not contain control characters or line breaks'));
      seen.add(k.toLowerCase());
      bytes += Buffer.byteLength(k) + Buffer.byteLength(v);
    }
    if (bytes > MAX_HEADERS_BYTES)
      details.push(
        at('/headers', `must be at most ${MAX_HEADERS_BYTES} bytes in all (names and values), not ${bytes}`),
      );
  }

  if (metadata && has('metadata')) {
    const n = Buffer.byteLength(JSON.stringify(metadata));
    if (n > MAX_METADATA_BYTES)
      details.push(at('/metadata', `must be at most ${MAX_METADATA_BYTES} bytes as JSON, not ${n}`));
  }

  // checked again when the topics change: a filter type must stay within them
  if (filter != null && (has('filter') || has('topics'))) details.push(...filterProblems(filter, topics));

  // Secret: given, kept, generated or cleared.
  let secret: string | undefined;
  let generatedSecret: string | undefined;
  const given = has('secret') ? (b.secret as string | null) : undefined;
  if (given !== undefined && given !== null && given !== '') {
    const p = secretProblem(signing, given);
    if (p) details.push(at('/secret', p));
    secret = given;
  } else if (given === null || given === '') {
    // explicit "no secret": standard webhooks always sign, so they get a fresh one
    if (signing === 'standard') secret = generatedSecret = generateStandardSecret();
  } else {
    // the old secret is kept only under the same scheme: a whsec_ string is no Mist secret
    const old = existing?.secret;
    if (mode !== 'create' && old && existing?.signing === signing && !secretProblem(signing, old)) secret = old;
    else if (signing === 'standard') secret = generatedSecret = generateStandardSecret();
  }

  if (details.length) return { ok: false, details };
  const fields: WebhookFields = {
    name,
    url,
    topics,
    headers: headers ?? {},
    signing,
    enabled,
    single_event_per_message: single,
    ordering,
  };
  if (site != null) fields.site_id = site;
  if (group != null) fields.group_id = group;
  if (metadata != null) fields.metadata = metadata;
  if (rateLimit != null) fields.rate_limit = rateLimit;
  if (filter != null) fields.filter = filter;
  if (secret !== undefined) fields.secret = secret;
  // a rotation's previous secret lives on only while the current secret is kept: setting a secret
  // through PUT/PATCH switches at once
  if (secret !== undefined && secret === existing?.secret && existing.previous_secret) {
    fields.previous_secret = existing.previous_secret;
    if (existing.previous_secret_expires_at) fields.previous_secret_expires_at = existing.previous_secret_expires_at;
  }
  return generatedSecret ? { ok: true, fields, generatedSecret } : { ok: true, fields };
}
