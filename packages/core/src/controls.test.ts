/** Secret rotation and the recover/replay windows. */
import { checkWindow, MAX_ROTATION_GRACE_MS, rotateSecret } from './controls';
import { generateStandardSecret, secretProblem } from './secrets';
import { signatureHeaders, verifyStandard } from './signatures';
import { signingKey } from './secrets';
import type { Webhook } from './webhooks';

const NOW = Date.parse('2026-01-01T00:00:00Z');
const OLD = generateStandardSecret();
const hook = (o: Partial<Webhook> = {}): Webhook => ({
  id: 'wh_1',
  org_id: 'org_1',
  name: 'w',
  url: 'https://example.com/in',
  topics: ['alarms'],
  headers: {},
  signing: 'standard',
  secret: OLD,
  enabled: true,
  single_event_per_message: false,
  ordering: 'none',
  created_at: '2025-01-01T00:00:00Z',
  updated_at: '2025-01-01T00:00:00Z',
  ...o,
});

describe('rotateSecret', () => {
  it('standard: a new secret, the old one kept for 24 h by default', () => {
    const r = rotateSecret(hook(), {}, NOW);
    if (!r.ok) throw new Error(JSON.stringify(r.details));
    expect(secretProblem('standard', r.secret)).toBeUndefined();
    expect(r.secret).not.toBe(OLD);
    expect(r.previousExpiresAt).toBe('2026-01-02T00:00:00.000Z');
    expect(r.fields).toMatchObject({
      secret: r.secret,
      previous_secret: OLD,
      previous_secret_expires_at: r.previousExpiresAt,
    });
    expect(r.fields).not.toHaveProperty('id');
  });

  it.each<[unknown, number]>([
    ['1h', 3_600_000],
    [90, 90_000],
    ['7d', MAX_ROTATION_GRACE_MS],
  ])('grace %j', (grace, ms) => {
    const r = rotateSecret(hook(), { grace }, NOW);
    expect(r).toMatchObject({ ok: true, previousExpiresAt: new Date(NOW + ms).toISOString() });
  });

  it('grace 0 switches at once', () => {
    for (const grace of ['0', 0]) {
      const r = rotateSecret(hook({ previous_secret: 'x', previous_secret_expires_at: 'y' }), { grace }, NOW);
      expect(r).toMatchObject({ ok: true, previousExpiresAt: null });
      if (r.ok) expect(r.fields).not.toHaveProperty('previous_secret');
    }
  });

  it('takes a given secret', () => {
    const s = generateStandardSecret();
    expect(rotateSecret(hook(), { secret: s }, NOW)).toMatchObject({ ok: true, secret: s });
  });

  it.each(['mender', 'mist'] as const)('%s switches at once (one signature per header)', (signing) => {
    const r = rotateSecret(hook({ signing, secret: signing === 'mender' ? 'abcd' : 'old' }), {}, NOW);
    expect(r).toMatchObject({ ok: true, previousExpiresAt: null });
    if (r.ok) expect(secretProblem(signing, r.secret)).toBeUndefined();
  });

  it.each<[unknown, string]>([
    [{ grace: '8d' }, '/grace'],
    [{ grace: 'soon' }, '/grace'],
    [{ grace: -1 }, '/grace'],
    [{ grace: 1.5 }, '/grace'],
    [{ secret: 'nope' }, '/secret'],
    [{ secret: OLD }, '/secret'],
    [{ other: 1 }, '/other'],
  ])('refuses %j', (body, path) => {
    const r = rotateSecret(hook(), body, NOW);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.details.map((d) => d.path)).toContain(path);
  });
});

describe('signatures during a rotation', () => {
  it('standard sends v1,<new> v1,<old>; a receiver with either secret verifies', () => {
    const fresh = generateStandardSecret();
    const ts = Math.floor(Date.now() / 1000);
    const h = signatureHeaders(
      'standard',
      signingKey('standard', fresh),
      'msg_1',
      ts,
      '{"a":1}',
      signingKey('standard', OLD),
    );
    expect(h['webhook-signature']).toMatch(/^v1,\S+ v1,\S+$/);
    const headers = { 'webhook-id': 'msg_1', 'webhook-timestamp': String(ts), ...h };
    expect(verifyStandard(fresh, headers, '{"a":1}')).toBe(true);
    expect(verifyStandard(OLD, headers, '{"a":1}')).toBe(true);
    expect(verifyStandard(generateStandardSecret(), headers, '{"a":1}')).toBe(false);
  });

  it('mender ignores a previous key', () => {
    const h = signatureHeaders('mender', Buffer.from('ab', 'hex'), 'm', 1, 'x', Buffer.from('cd', 'hex'));
    expect(Object.keys(h)).toEqual(['x-men-signature', 'x-men-algorithm']);
    expect(h['x-men-signature']).toMatch(/^[0-9a-f]{64}$/);
  });
});

describe('checkWindow', () => {
  it('until defaults to now; types for replay', () => {
    expect(checkWindow({ since: '2026-01-01T00:00:00Z' }, 'recover', NOW + 5)).toEqual({
      ok: true,
      since: NOW,
      until: NOW + 5,
    });
    expect(
      checkWindow({ since: '2026-01-01T00:00:00Z', until: '2026-01-01T01:00:00Z', types: ['alarm'] }, 'replay'),
    ).toEqual({
      ok: true,
      since: NOW,
      until: NOW + 3_600_000,
      types: ['alarm'],
    });
  });

  it.each<[unknown, 'recover' | 'replay', string]>([
    [undefined, 'recover', '/since'],
    [{}, 'recover', '/since'],
    [{ since: 'yesterday' }, 'recover', '/since'],
    [{ since: '2999-01-01T00:00:00Z' }, 'recover', '/since'],
    [{ since: '2026-01-02T00:00:00Z', until: '2026-01-01T00:00:00Z' }, 'replay', '/until'],
    [{ since: '2026-01-01T00:00:00Z', types: ['alarm'] }, 'recover', '/types'],
    [{ since: '2026-01-01T00:00:00Z', types: ['nope'] }, 'replay', '/types/0'],
  ])('refuses %j (%s)', (body, kind, path) => {
    const r = checkWindow(body, kind);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.details.map((d) => d.path)).toContain(path);
  });
});
