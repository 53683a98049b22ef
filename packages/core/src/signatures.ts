/**
 * The three signing schemes of docs/contract.md §6, and constant-time verifiers for receivers and tests.
 *
 * - standard (Standard Webhooks): `webhook-signature: v1,<base64 HMAC-SHA256(key, "<id>.<ts>.<body>")>`
 * - mender: `X-Men-Signature: <hex HMAC-SHA256(key, body)>`, `X-Men-Algorithm: MEN-HMAC-SHA256-Payload`
 * - mist: `X-Mist-Signature-v2: <hex HMAC-SHA256(key, body)>`, `X-Mist-Signature: <hex HMAC-SHA1(key, body)>`
 */
import { createHmac, timingSafeEqual, type KeyObject } from 'node:crypto';
import type { Signing } from './schemas';
import { signingKey } from './secrets';

/** A decoded secret: raw bytes, or a KeyObject made once from them (cheaper per signature). */
export type SigningKey = Buffer | KeyObject;

export const MENDER_ALGORITHM = 'MEN-HMAC-SHA256-Payload';
/** The signature header names of each scheme (lowercase, as sent). */
export const SIGNATURE_HEADERS_BY_SCHEME: Readonly<Record<Signing, readonly string[]>> = {
  standard: ['webhook-signature'],
  mender: ['x-men-signature', 'x-men-algorithm'],
  mist: ['x-mist-signature-v2', 'x-mist-signature'],
};
/** Header names this service sets for signatures, every scheme (lowercase, as sent). */
export const SIGNATURE_HEADERS = Object.values(SIGNATURE_HEADERS_BY_SCHEME).flat();

/** The signature headers of a scheme as shown to people: values redacted, the constant algorithm kept. */
export function redactedSignatureHeaders(signing: Signing): Record<string, string> {
  const out: Record<string, string> = {};
  for (const n of SIGNATURE_HEADERS_BY_SCHEME[signing])
    out[n] = n === 'x-men-algorithm' ? MENDER_ALGORITHM : '[redacted]';
  return out;
}

export function signStandard(key: SigningKey, msgId: string, timestamp: number, body: string | Buffer): string {
  const mac = createHmac('sha256', key)
    .update(
      typeof body === 'string'
        ? `${msgId}.${timestamp}.${body}`
        : Buffer.concat([Buffer.from(`${msgId}.${timestamp}.`), body]),
    )
    .digest('base64');
  return `v1,${mac}`;
}

export function signMender(key: SigningKey, body: string | Buffer): string {
  return createHmac('sha256', key).update(body).digest('hex');
}

export function signMist(key: SigningKey, body: string | Buffer): { v2: string; v1: string } {
  return {
    v2: createHmac('sha256', key).update(body).digest('hex'),
    v1: createHmac('sha1', key).update(body).digest('hex'),
  };
}

/**
 * The signature headers for one attempt. `key` is the decoded secret (see `signingKey`);
 * no key, no signature headers (mender and mist webhooks may have no secret). `previousKey`: a
 * rotated-out secret still in its grace period; `standard` then sends both signatures, new first
 * (`v1,<new> v1,<old>`); the other schemes carry one signature and ignore it.
 */
export function signatureHeaders(
  signing: Signing,
  key: SigningKey | undefined,
  msgId: string,
  timestamp: number,
  body: string | Buffer,
  previousKey?: SigningKey,
): Record<string, string> {
  if (!key) return {};
  switch (signing) {
    case 'standard': {
      const sig = signStandard(key, msgId, timestamp, body);
      if (!previousKey) return { 'webhook-signature': sig };
      return { 'webhook-signature': `${sig} ${signStandard(previousKey, msgId, timestamp, body)}` };
    }
    case 'mender':
      return { 'x-men-signature': signMender(key, body), 'x-men-algorithm': MENDER_ALGORITHM };
    case 'mist': {
      const s = signMist(key, body);
      return { 'x-mist-signature-v2': s.v2, 'x-mist-signature': s.v1 };
    }
  }
}

function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

type HeaderBag = Record<string, string | string[] | undefined>;
function header(headers: HeaderBag, name: string): string | undefined {
  const v =
    headers[name] ??
    headers[name.toLowerCase()] ??
    Object.entries(headers).find(([k]) => k.toLowerCase() === name.toLowerCase())?.[1];
  return Array.isArray(v) ? v[0] : v;
}

/**
 * Verifies a Standard Webhooks request. Accepts any of the space-separated `v1,` signatures and
 * refuses timestamps further than `toleranceSeconds` from `now` (replay protection).
 */
export function verifyStandard(
  secret: string,
  headers: HeaderBag,
  body: string | Buffer,
  toleranceSeconds = 300,
  now = Date.now(),
): boolean {
  const id = header(headers, 'webhook-id');
  const ts = header(headers, 'webhook-timestamp');
  const sigs = header(headers, 'webhook-signature');
  if (!id || !ts || !sigs || !/^\d+$/.test(ts)) return false;
  if (Math.abs(now / 1000 - Number(ts)) > toleranceSeconds) return false;
  const expected = signStandard(signingKey('standard', secret), id, Number(ts), body);
  return sigs.split(' ').some((s) => safeEqual(s, expected));
}

/** Verifies `X-Men-Signature` against a hex secret. */
export function verifyMender(secretHex: string, headers: HeaderBag, body: string | Buffer): boolean {
  const sig = header(headers, 'x-men-signature');
  return !!sig && safeEqual(sig.toLowerCase(), signMender(signingKey('mender', secretHex), body));
}

/** Verifies both Mist signatures (SHA-256 `X-Mist-Signature-v2` and SHA-1 `X-Mist-Signature`). */
export function verifyMist(secret: string, headers: HeaderBag, body: string | Buffer): boolean {
  const v2 = header(headers, 'x-mist-signature-v2');
  const v1 = header(headers, 'x-mist-signature');
  if (!v2 || !v1) return false;
  const s = signMist(signingKey('mist', secret), body);
  return safeEqual(v2.toLowerCase(), s.v2) && safeEqual(v1.toLowerCase(), s.v1);
}
