/**
 * Secrets at rest (webhook secrets and header values): AES-256-GCM under DEVHOOKS_ENCRYPTION_KEY.
 *
 * A sealed value is `enc:v1:<kid>:<iv>:<ciphertext>:<tag>` (base64url parts, a random 12-byte IV,
 * a 16-byte tag), where `kid` is a short hash of the key that sealed it, so a value says which key
 * opens it and a re-encryption pass knows what is left to do. The caller's `context` (e.g. the
 * webhook id and field) is bound as additional data: a sealed value copied to another webhook or
 * field does not open. Values without the `enc:` prefix are plain (written before a key was set)
 * and read as they are; without a key, a value that itself starts with `enc:` is stored as
 * `enc:raw:<value>`, so no value a user sends can pass for a sealed one. See
 * docs/decisions/0002-secrets-at-rest.md.
 */
import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';

export const SEALED_PREFIX = 'enc:v1:';
/** A plain value that itself starts with `enc:`, stored without a key: escaped so it never reads as sealed. */
const ESCAPED_PREFIX = 'enc:raw:';
const IV_BYTES = 12;
const TAG_BYTES = 16;
export const ENCRYPTION_KEY_BYTES = 32;

/** The key id written into sealed values: 8 hex digits of a hash of the key (reveals nothing of it). */
export function keyId(key: Buffer): string {
  return createHash('sha256').update('devhooks-key-id:').update(key).digest('hex').slice(0, 8);
}

/** A base64 key of 32 bytes, or throws naming the variable. */
export function parseEncryptionKey(value: string, name: string): Buffer {
  const key = Buffer.from(value.trim(), 'base64');
  if (key.length !== ENCRYPTION_KEY_BYTES || !/^[A-Za-z0-9+/_-]+={0,2}$/.test(value.trim())) {
    throw new Error(`${name} must be base64 of ${ENCRYPTION_KEY_BYTES} bytes (e.g. openssl rand -base64 32)`);
  }
  return key;
}

export class SecretKeyUnavailable extends Error {
  constructor(readonly kid: string) {
    super(
      `a stored secret is sealed with encryption key ${kid}, which is neither DEVHOOKS_ENCRYPTION_KEY nor DEVHOOKS_ENCRYPTION_KEY_OLD`,
    );
    this.name = 'SecretKeyUnavailable';
  }
}

export function isSealed(stored: string): boolean {
  return stored.startsWith(SEALED_PREFIX);
}

/** The key id a stored value is sealed with, or undefined for a plain value. */
export function sealedKeyId(stored: string): string | undefined {
  return isSealed(stored) ? stored.slice(SEALED_PREFIX.length).split(':', 1)[0] : undefined;
}

export interface SecretBoxKeys {
  /** Seals and opens (DEVHOOKS_ENCRYPTION_KEY); absent: new values are stored plain. */
  key?: Buffer;
  /** Only opens (DEVHOOKS_ENCRYPTION_KEY_OLD), while a re-encryption pass moves values to `key`. */
  oldKey?: Buffer;
}

export class SecretBox {
  /** The id of the sealing key, or undefined when values are stored plain. */
  readonly kid: string | undefined;
  private readonly openers = new Map<string, Buffer>();

  constructor(private readonly keys: SecretBoxKeys = {}) {
    this.kid = keys.key ? keyId(keys.key) : undefined;
    for (const k of [keys.key, keys.oldKey]) if (k) this.openers.set(keyId(k), k);
  }

  /** True when new values are encrypted. */
  get sealing(): boolean {
    return this.kid !== undefined;
  }

  /** The value to store for `plain`: sealed under the current key, or as it is without one. */
  seal(plain: string, context: string): string {
    if (!this.keys.key) return plain.startsWith('enc:') ? ESCAPED_PREFIX + plain : plain;
    const iv = randomBytes(IV_BYTES);
    const c = createCipheriv('aes-256-gcm', this.keys.key, iv, { authTagLength: TAG_BYTES });
    c.setAAD(Buffer.from(context, 'utf8'));
    const ct = Buffer.concat([c.update(plain, 'utf8'), c.final()]);
    const parts = [this.kid, iv.toString('base64url'), ct.toString('base64url'), c.getAuthTag().toString('base64url')];
    return SEALED_PREFIX + parts.join(':');
  }

  /** The plain value of a stored one; throws when its key is not configured or it was tampered with. */
  open(stored: string, context: string): string {
    if (stored.startsWith(ESCAPED_PREFIX)) return stored.slice(ESCAPED_PREFIX.length);
    if (!isSealed(stored)) return stored;
    const [kid, iv, ct, tag, ...rest] = stored.slice(SEALED_PREFIX.length).split(':');
    const key = this.openers.get(kid);
    if (!key) throw new SecretKeyUnavailable(kid);
    if (iv === undefined || ct === undefined || tag === undefined || rest.length) {
      throw new Error(`a stored secret sealed with key ${kid} is malformed`);
    }
    try {
      const d = createDecipheriv('aes-256-gcm', key, Buffer.from(iv, 'base64url'), { authTagLength: TAG_BYTES });
      d.setAAD(Buffer.from(context, 'utf8'));
      d.setAuthTag(Buffer.from(tag, 'base64url'));
      return Buffer.concat([d.update(Buffer.from(ct, 'base64url')), d.final()]).toString('utf8');
    } catch {
      throw new Error(`a stored secret sealed with key ${kid} does not open (altered, or moved from elsewhere)`);
    }
  }

  /** Whether a stored value is not yet in its target form (sealed under the current key, or plain without one). */
  needsReseal(stored: string): boolean {
    return sealedKeyId(stored) !== this.kid;
  }
}
