/** Webhook secrets per signing scheme (docs/contract.md §3): generation, validation, key bytes. */
import { generateStandardSecret, secretProblem, signingKey, STANDARD_SECRET_PREFIX } from './secrets';

const b64 = (bytes: number, fill = 5) => Buffer.alloc(bytes, fill).toString('base64');

describe('generateStandardSecret', () => {
  it('is whsec_ + base64 of 32 random bytes, valid for standard signing', () => {
    expect(STANDARD_SECRET_PREFIX).toBe('whsec_');
    const s = generateStandardSecret();
    expect(s).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    expect(Buffer.from(s.slice(6), 'base64')).toHaveLength(32);
    expect(secretProblem('standard', s)).toBeUndefined();
  });

  it('is different every time', () => {
    const seen = new Set(Array.from({ length: 100 }, generateStandardSecret));
    expect(seen.size).toBe(100);
  });
});

describe('secretProblem', () => {
  it.each<['standard' | 'mender' | 'mist', string, RegExp | undefined]>([
    ['standard', 'whsec_' + b64(24), undefined],
    ['standard', 'whsec_' + b64(25), undefined], // padded with ==
    ['standard', 'whsec_' + b64(26), undefined], // padded with =
    ['standard', 'whsec_' + b64(64), undefined],
    ['standard', 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw', undefined], // the Standard Webhooks example
    ['standard', 'whsec_' + b64(23), /encode 24 to 64 bytes after whsec_ \(it encodes 23\)/],
    ['standard', 'whsec_' + b64(65), /encode 24 to 64 bytes after whsec_ \(it encodes 65\)/],
    ['standard', 'whsec_', /followed by base64/],
    ['standard', 'whsec_' + b64(32).replace(/=$/, ''), /followed by base64/], // padding missing
    ['standard', 'whsec_' + '-'.repeat(32), /followed by base64/], // base64url is not base64
    ['standard', 'whsec_ ' + b64(24), /followed by base64/],
    ['standard', b64(32), /must start with whsec_/],
    ['standard', 'WHSEC_' + b64(32), /must start with whsec_/],
    ['mender', 'ab', undefined],
    ['mender', 'AbCdEf', undefined],
    ['mender', '0'.repeat(128), undefined],
    ['mender', '', /hex of even length, 2 to 128 digits/],
    ['mender', 'a', /hex of even length/],
    ['mender', 'abc', /hex of even length/],
    ['mender', '0'.repeat(130), /hex of even length/],
    ['mender', 'gg', /hex of even length/],
    ['mender', 'ab cd', /hex of even length/],
    ['mist', 'x', undefined],
    ['mist', 'x'.repeat(256), undefined],
    ['mist', '€'.repeat(256), undefined],
    ['mist', '😀'.repeat(256), undefined], // 256 characters, 512 UTF-16 units
    ['mist', '', /1 to 256 characters/],
    ['mist', 'x'.repeat(257), /1 to 256 characters/],
    ['mist', '😀'.repeat(257), /1 to 256 characters/],
  ])('%s %j → %s', (signing, secret, problem) => {
    const p = secretProblem(signing, secret);
    if (problem === undefined) expect(p).toBeUndefined();
    else expect(p).toMatch(problem);
  });
});

describe('signingKey', () => {
  it.each<['standard' | 'mender' | 'mist', string, string]>([
    [
      'standard',
      'whsec_' + Buffer.from('0123456789abcdef01234567').toString('base64'),
      Buffer.from('0123456789abcdef01234567').toString('hex'),
    ],
    [
      'standard',
      'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw',
      Buffer.from('MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw', 'base64').toString('hex'),
    ],
    ['mender', '00ff10', '00ff10'],
    ['mender', 'ABCD', 'abcd'],
    ['mist', 'abc', '616263'],
    ['mist', 'é', 'c3a9'], // UTF-8 bytes
    ['mist', 'whsec_AAAA', Buffer.from('whsec_AAAA').toString('hex')], // taken literally
  ])('%s %j → key bytes %s', (signing, secret, hex) => {
    expect(signingKey(signing, secret).toString('hex')).toBe(hex);
  });
});
