/**
 * What logs must never hold (secrets, signatures, API keys, tokens, `Authorization`, webhook
 * header values), removed at any depth: objects and arrays, cycles safe, the input never changed.
 * Pure, so the engine's logger and anything else that writes structured output share it.
 */

export const REDACTED = '[redacted]';

/** Keys whose values are secret wherever they appear. */
const SENSITIVE_KEY = /secret|signature|authorization|password|passwd|token|api[-_]?key|^key$|cookie|credential/i;
/** Header maps: names are kept, every value is redacted (webhook headers carry receiver credentials). */
const HEADER_MAP_KEY = /^(?:.*_)?headers$/i;
/** Secret-looking text inside otherwise harmless strings (an error message quoting a header, say). */
const SECRET_TEXT = /\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]+|whsec_[A-Za-z0-9+/=]+/gi;
/** Deeper than this, a value is summarised rather than walked (logs are not archives). */
const MAX_DEPTH = 16;

/** A string with secret-looking parts replaced. */
export function redactText(text: string): string {
  return text.replace(SECRET_TEXT, (m, scheme?: string) => (scheme ? `${scheme} ${REDACTED}` : REDACTED));
}

/** The value of field `key`, as it may be logged. */
export function redactField(key: string, value: unknown): unknown {
  // most log fields are ids and numbers: no set for those
  return walk(key, value, typeof value === 'object' && value !== null ? new WeakSet() : NO_OBJECTS, 0);
}

const NO_OBJECTS = new WeakSet<object>();

/** A value (any shape) as it may be logged: a copy wherever something had to go. */
export function redact(value: unknown): unknown {
  return walk('', value, new WeakSet(), 0);
}

function walk(key: string, value: unknown, seen: WeakSet<object>, depth: number): unknown {
  if (key && SENSITIVE_KEY.test(key)) return value === undefined || value === null ? value : REDACTED;
  if (typeof value === 'string') return redactText(value);
  if (value === null || typeof value !== 'object') return value;
  if (seen.has(value)) return '[circular]';
  if (depth >= MAX_DEPTH) return '[too deep]';
  seen.add(value);
  try {
    if (key && HEADER_MAP_KEY.test(key) && !Array.isArray(value)) return maskValues(value as Record<string, unknown>);
    if (Array.isArray(value)) return value.map((v) => walk('', v, seen, depth + 1));
    if (value instanceof Error) {
      return { name: value.name, message: redactText(value.message), stack: value.stack && redactText(value.stack) };
    }
    if (value instanceof Date) return value;
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = walk(k, v, seen, depth + 1);
    return out;
  } finally {
    seen.delete(value);
  }
}

function maskValues(headers: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(headers)) out[k] = REDACTED;
  return out;
}
