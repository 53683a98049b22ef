/** Identifiers: random ids, API keys and their hashes, derived delivery and message ids. */
import { createHash } from 'node:crypto';
import { batchMessageId, deliveryHour, deliveryId, hashApiKey, newApiKey, newId } from './ids';

describe('newId', () => {
  it.each(['org', 'key', 'wh', 'evt'] as const)('%s_ + 20 base-36 characters, distinct', (kind) => {
    const ids = Array.from({ length: 200 }, () => newId(kind));
    for (const id of ids) expect(id).toMatch(new RegExp(`^${kind}_[0-9a-z]{20}$`));
    expect(new Set(ids).size).toBe(ids.length);
  });
});

describe('newApiKey / hashApiKey', () => {
  it('a key is dh_ + base64url of 30 bytes, distinct each time', () => {
    const keys = Array.from({ length: 100 }, newApiKey);
    for (const k of keys) expect(k).toMatch(/^dh_[A-Za-z0-9_-]{40}$/);
    expect(new Set(keys).size).toBe(100);
  });

  it.each<[string, string]>([
    ['abc', 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad'], // FIPS 180-2 vector
    ['', 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855'],
  ])('hash of %j is its SHA-256 hex', (key, hash) => {
    expect(hashApiKey(key)).toBe(hash);
  });

  it('hashes a generated key like node:crypto does, and differs per key', () => {
    const k = newApiKey();
    expect(hashApiKey(k)).toBe(createHash('sha256').update(k).digest('hex'));
    expect(hashApiKey(k)).not.toBe(hashApiKey(k + 'x'));
  });
});

describe('deliveryId', () => {
  const FORMAT = /^dlv_[0-9a-z]{1,11}_[0-9a-z]{20}$/;

  it('is deterministic and well-formed', () => {
    const a = deliveryId('1714564800000-0', 'wh_1', 3);
    expect(a).toMatch(FORMAT);
    expect(deliveryId('1714564800000-0', 'wh_1', 3)).toBe(a);
  });

  it('eventCount defaults to 1', () => {
    expect(deliveryId('1-0', 'wh_1')).toBe(deliveryId('1-0', 'wh_1', 1));
    expect(deliveryId('1-0', 'wh_1', 1, 0)).toBe(deliveryId('1-0', 'wh_1', 1));
  });

  it('tells the same entry id on two shards apart (each shard stream counts its own ids)', () => {
    const ids = new Set([0, 1, 2, 15].map((s) => deliveryId('1714564800000-0', 'wh_1', 1, s)));
    expect(ids.size).toBe(4);
    expect(batchMessageId(['1-0', '1-1'], 3)).not.toBe(batchMessageId(['1-0', '1-1']));
  });

  it('distinct inputs give distinct ids', () => {
    const inputs: Array<[string, string, number]> = [
      ['1-0', 'wh_1', 1],
      ['1-1', 'wh_1', 1],
      ['2-0', 'wh_1', 1],
      ['1-0', 'wh_2', 1],
      ['1-0', 'wh_1', 2],
      ['1-0', 'wh_1', 100],
      ['1-0wh_1', '', 1], // the parts are separated, not just concatenated
      ['', '1-0wh_1', 1],
      ['1-0', 'wh_11', 1],
      ['1-0', 'wh_1', 11],
    ];
    const ids = inputs.map(([e, w, n]) => deliveryId(e, w, n));
    for (const id of ids) expect(id).toMatch(FORMAT);
    expect(new Set(ids).size).toBe(inputs.length);
  });

  it('starts with the entry time, so deliveryHour finds the hour it was created in', () => {
    const id = deliveryId('1714564800000-0', 'wh_1');
    expect(id.startsWith(`dlv_${(1714564800000).toString(36)}_`)).toBe(true);
    expect(deliveryHour(id)).toBe(Math.floor(1714564800000 / 3_600_000));
    expect(deliveryHour(deliveryId('1714568399999-7', 'wh_1'))).toBe(Math.floor(1714564800000 / 3_600_000));
  });

  it.each(['', 'dlv_', 'dlv_abc', 'key_x_aaaaaaaaaaaaaaaaaaaa', 'dlv_!_aaaaaaaaaaaaaaaaaaaa'])(
    'deliveryHour(%j) is undefined',
    (id) => {
      expect(deliveryHour(id)).toBeUndefined();
    },
  );

  it('no collisions over many stream entries × webhooks', () => {
    const ids = new Set<string>();
    for (let e = 0; e < 100; e++) for (let w = 0; w < 20; w++) ids.add(deliveryId(`17145648000${e}-0`, `wh_${w}`));
    expect(ids.size).toBe(2000);
  });
});

describe('batchMessageId', () => {
  const FORMAT = /^msg_[0-9a-z]{24}$/;

  it.each<[string[]]>([[[]], [['1-0']], [['1-0', '1-1', '2-0']]])('%j is stable and well-formed', (ids) => {
    const a = batchMessageId(ids);
    expect(a).toMatch(FORMAT);
    expect(batchMessageId([...ids])).toBe(a);
  });

  it('distinct lists give distinct ids (order and boundaries count)', () => {
    const lists = [
      [],
      ['1-0'],
      ['1-1'],
      ['1-0', '1-1'],
      ['1-1', '1-0'],
      ['1-01-1'],
      ['1-0', '1-1', '1-2'],
      ['1-0', ''],
    ];
    const ids = lists.map(batchMessageId);
    for (const id of ids) expect(id).toMatch(FORMAT);
    expect(new Set(ids).size).toBe(lists.length);
  });

  it('differs from the delivery id of the same entry', () => {
    expect(batchMessageId(['1-0']).slice(4)).not.toBe(deliveryId('1-0', 'wh_1').slice(4));
  });
});
