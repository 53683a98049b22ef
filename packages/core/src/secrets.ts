/** Webhook secrets per signing scheme (docs/contract.md §3): generation and validation. */
import { randomBytes } from 'node:crypto';
import type { Signing } from './schemas';

export const STANDARD_SECRET_PREFIX = 'whsec_';
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const HEX = /^(?:[0-9a-fA-F]{2}){1,64}$/;

/**
 * The rules of `secretProblem` as JSON Schema, for documents (the API's OpenAPI description);
 * core's tests check that both agree. Standard: `whsec_` + base64 of 24–64 bytes (32–88 characters).
 */
export const SECRET_SCHEMAS = {
  standard: {
    type: 'string',
    pattern:
      '^whsec_(?:(?:[A-Za-z0-9+/]{4}){8,20}(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?|(?:[A-Za-z0-9+/]{4}){21}(?:[A-Za-z0-9+/]{2}==)?)$',
  },
  mender: { type: 'string', pattern: HEX.source },
  mist: { type: 'string', minLength: 1, maxLength: 256 },
} as const satisfies Record<Signing, object>;

/** A fresh `standard` secret: `whsec_` + base64 of 32 random bytes. */
export function generateStandardSecret(): string {
  return STANDARD_SECRET_PREFIX + randomBytes(32).toString('base64');
}

/** A fresh secret for any scheme (rotation): standard as above, mender 32 bytes of hex, mist 43 characters. */
export function generateSecret(signing: Signing): string {
  switch (signing) {
    case 'standard':
      return generateStandardSecret();
    case 'mender':
      return randomBytes(32).toString('hex');
    case 'mist':
      return randomBytes(32).toString('base64url');
  }
}

/** Why `secret` is not valid for `signing`, or undefined when it is. */
export function secretProblem(signing: Signing, secret: string): string | undefined {
  switch (signing) {
    case 'standard': {
      if (!secret.startsWith(STANDARD_SECRET_PREFIX)) return 'must start with whsec_ (standard signing)';
      const b64 = secret.slice(STANDARD_SECRET_PREFIX.length);
      if (!BASE64.test(b64) || b64.length === 0) return 'must be whsec_ followed by base64';
      const n = Buffer.from(b64, 'base64').length;
      if (n < 24 || n > 64) return `must encode 24 to 64 bytes after whsec_ (it encodes ${n})`;
      return undefined;
    }
    case 'mender':
      return HEX.test(secret) ? undefined : 'must be hex of even length, 2 to 128 digits (mender signing)';
    case 'mist': {
      const n = [...secret].length;
      return n >= 1 && n <= 256 ? undefined : 'must be 1 to 256 characters (mist signing)';
    }
  }
}

/** The HMAC key bytes a secret stands for under its scheme. */
export function signingKey(signing: Signing, secret: string): Buffer {
  switch (signing) {
    case 'standard':
      return Buffer.from(secret.slice(STANDARD_SECRET_PREFIX.length), 'base64');
    case 'mender':
      return Buffer.from(secret, 'hex');
    case 'mist':
      return Buffer.from(secret, 'utf8');
  }
}
