/** Secrets at rest: AES-256-GCM sealing with a key id, opening under the current or old key. */
import { randomBytes } from 'node:crypto';
import {
  isSealed,
  keyId,
  parseEncryptionKey,
  SecretBox,
  SecretKeyUnavailable,
  sealedKeyId,
  SEALED_PREFIX,
} from './secret-box';

const k1 = randomBytes(32);
const k2 = randomBytes(32);
const secret = 'whsec_' + randomBytes(32).toString('base64');

describe('SecretBox', () => {
  it('seals as enc:v1:<kid>:<iv>:<ct>:<tag> and opens back to the plain value', () => {
    const box = new SecretBox({ key: k1 });
    const sealed = box.seal(secret, 'wh_1/secret');
    expect(sealed.startsWith(SEALED_PREFIX)).toBe(true);
    const [kid, iv, ct, tag] = sealed.slice(SEALED_PREFIX.length).split(':');
    expect(kid).toBe(keyId(k1));
    expect(kid).toMatch(/^[0-9a-f]{8}$/);
    expect(Buffer.from(iv, 'base64url')).toHaveLength(12);
    expect(Buffer.from(tag, 'base64url')).toHaveLength(16);
    expect(Buffer.from(ct, 'base64url')).toHaveLength(Buffer.byteLength(secret));
    expect(box.open(sealed, 'wh_1/secret')).toBe(secret);
    expect(sealedKeyId(sealed)).toBe(kid);
  });

  it('never shows the plain value nor its base64 in the sealed form', () => {
    const box = new SecretBox({ key: k1 });
    const sealed = box.seal(secret, 'ctx');
    expect(sealed).not.toContain(secret);
    expect(sealed).not.toContain(secret.slice(6));
    expect(sealed).not.toContain(Buffer.from(secret).toString('base64'));
    expect(sealed).not.toContain(Buffer.from(secret).toString('base64url'));
  });

  it('uses a fresh IV every time', () => {
    const box = new SecretBox({ key: k1 });
    const seen = new Set(Array.from({ length: 50 }, () => box.seal('same', 'ctx')));
    expect(seen.size).toBe(50);
  });

  it('binds the context: a value moved to another webhook or field does not open', () => {
    const box = new SecretBox({ key: k1 });
    const sealed = box.seal(secret, 'wh_1/secret');
    expect(() => box.open(sealed, 'wh_2/secret')).toThrow(/does not open/);
    expect(() => box.open(sealed, 'wh_1/header/authorization')).toThrow(/does not open/);
  });

  it('refuses a tampered value', () => {
    const box = new SecretBox({ key: k1 });
    const sealed = box.seal(secret, 'c');
    const parts = sealed.split(':');
    const ct = Buffer.from(parts[4], 'base64url');
    ct[0] ^= 1;
    parts[4] = ct.toString('base64url');
    expect(() => box.open(parts.join(':'), 'c')).toThrow(/does not open/);
    expect(() => box.open(sealed + ':x', 'c')).toThrow(/malformed/);
  });

  it('opens values of the old key, seals only under the new one, and says what needs resealing', () => {
    const old = new SecretBox({ key: k1 });
    const sealedOld = old.seal(secret, 'c');
    const rotating = new SecretBox({ key: k2, oldKey: k1 });
    expect(rotating.open(sealedOld, 'c')).toBe(secret);
    expect(rotating.needsReseal(sealedOld)).toBe(true);
    const resealed = rotating.seal(rotating.open(sealedOld, 'c'), 'c');
    expect(sealedKeyId(resealed)).toBe(keyId(k2));
    expect(rotating.needsReseal(resealed)).toBe(false);
    // once the old key is removed, only the old values stop opening
    const after = new SecretBox({ key: k2 });
    expect(after.open(resealed, 'c')).toBe(secret);
    expect(() => after.open(sealedOld, 'c')).toThrow(SecretKeyUnavailable);
  });

  it('reads plain values as they are (written before a key was set) and marks them for sealing', () => {
    const box = new SecretBox({ key: k1 });
    expect(box.open('plain-value', 'c')).toBe('plain-value');
    expect(box.needsReseal('plain-value')).toBe(true);
    expect(isSealed('plain-value')).toBe(false);
  });

  it('without a key stores plain, and an old key alone decrypts back to plain', () => {
    const none = new SecretBox();
    expect(none.sealing).toBe(false);
    expect(none.seal('v', 'c')).toBe('v');
    expect(none.needsReseal('v')).toBe(false);
    const sealed = new SecretBox({ key: k1 }).seal('v', 'c');
    expect(() => none.open(sealed, 'c')).toThrow(SecretKeyUnavailable);
    const back = new SecretBox({ oldKey: k1 });
    expect(back.needsReseal(sealed)).toBe(true);
    expect(back.open(sealed, 'c')).toBe('v');
  });

  it('without a key, a value that looks sealed is escaped: it reads back as sent and never as sealed', () => {
    const forged = new SecretBox({ key: k1 }).seal('x', 'c');
    const none = new SecretBox();
    for (const v of [forged, 'enc:v1:deadbeef:a:b:c', 'enc:raw:x', 'enc:']) {
      const stored = none.seal(v, 'c');
      expect(stored).toBe(`enc:raw:${v}`);
      expect(isSealed(stored)).toBe(false);
      expect(none.open(stored, 'c')).toBe(v);
      expect(none.needsReseal(stored)).toBe(false);
      // a key set later seals it like any other plain value
      const box = new SecretBox({ key: k2 });
      expect(box.needsReseal(stored)).toBe(true);
      expect(box.open(box.seal(box.open(stored, 'c'), 'c'), 'c')).toBe(v);
    }
  });

  it('keeps any UTF-8 value, the empty string included', () => {
    const box = new SecretBox({ key: k1 });
    for (const v of ['', 'ünïcödé ✓ 🔑', 'x'.repeat(4096)]) expect(box.open(box.seal(v, 'c'), 'c')).toBe(v);
  });
});

describe('parseEncryptionKey', () => {
  it('takes base64 (or base64url) of 32 bytes', () => {
    expect(parseEncryptionKey(k1.toString('base64'), 'K').equals(k1)).toBe(true);
    expect(parseEncryptionKey(k1.toString('base64url'), 'K').equals(k1)).toBe(true);
  });

  it('refuses anything else, naming the variable', () => {
    for (const bad of [
      '',
      'short',
      randomBytes(16).toString('base64'),
      randomBytes(33).toString('base64'),
      '!'.repeat(44),
    ])
      expect(() => parseEncryptionKey(bad, 'DEVHOOKS_ENCRYPTION_KEY')).toThrow(
        /DEVHOOKS_ENCRYPTION_KEY must be base64 of 32 bytes/,
      );
  });
});
