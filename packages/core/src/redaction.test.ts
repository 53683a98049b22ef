/** Log redaction (issue 13, defect 9): secrets at any depth, in objects and arrays, cycles safe. */
import { redact, redactField, redactText, REDACTED } from './redaction';

const SECRET = 'whsec_c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0';

describe('redact', () => {
  it('a secret nested in a webhook', () => {
    expect(redact({ webhook: { id: 'wh_1', secret: SECRET, name: 'n' } })).toEqual({
      webhook: { id: 'wh_1', secret: REDACTED, name: 'n' },
    });
  });

  it('every sensitive key, at any depth', () => {
    const out = JSON.stringify(
      redact({
        a: { b: { c: { d: { password: 'p1', api_key: 'k1', 'x-api-key': 'k2', token: 't1', key: 'k3' } } } },
        auth: { Authorization: 'Bearer abc', cookie: 'sid=1', refresh_token: 't2', 'webhook-signature': 'v1,s' },
        credentials: { user: 'u' },
      }),
    );
    for (const leaked of ['p1', 'k1', 'k2', 't1', 'k3', 'abc', 'sid=1', 't2', 'v1,s', '"u"']) {
      expect(out).not.toContain(leaked);
    }
  });

  it('arrays of objects, and arrays inside arrays', () => {
    expect(redact({ webhooks: [{ secret: 's1' }, [{ token: 't' }, 'plain']] })).toEqual({
      webhooks: [{ secret: REDACTED }, [{ token: REDACTED }, 'plain']],
    });
  });

  it('header maps keep their names and lose every value, nested or not', () => {
    expect(
      redact({
        webhook: { headers: { 'X-Tenant': 't1', Authorization: 'Bearer x' } },
        attempt: { response_headers: { 'set-cookie': 'a=b', server: 'nginx' } },
        list: [{ request: { headers: { 'X-Api': 'v' } } }],
      }),
    ).toEqual({
      webhook: { headers: { 'X-Tenant': REDACTED, Authorization: REDACTED } },
      attempt: { response_headers: { 'set-cookie': REDACTED, server: REDACTED } },
      list: [{ request: { headers: { 'X-Api': REDACTED } } }],
    });
  });

  it('secret-looking text inside harmless strings', () => {
    expect(redactText('sent Authorization: Bearer abc.def-123 and ' + SECRET)).toBe(
      `sent Authorization: Bearer ${REDACTED} and ${REDACTED}`,
    );
    expect(redact({ error: { message: 'basic Zm9vOmJhcg== refused' } })).toEqual({
      error: { message: `basic ${REDACTED} refused` },
    });
  });

  it('cycles are cut, shared objects are not mistaken for cycles', () => {
    const a: Record<string, unknown> = { name: 'a', secret: 's' };
    a.self = a;
    const shared = { token: 't', n: 1 };
    const out = redact({ a, left: shared, right: [shared] }) as any;
    expect(out.a).toEqual({ name: 'a', secret: REDACTED, self: '[circular]' });
    expect(out.left).toEqual({ token: REDACTED, n: 1 });
    expect(out.right).toEqual([{ token: REDACTED, n: 1 }]);
  });

  it('very deep values are summarised', () => {
    let deep: Record<string, unknown> = { secret: 's' };
    for (let i = 0; i < 40; i++) deep = { next: deep };
    const text = JSON.stringify(redact(deep));
    expect(text).toContain('[too deep]');
    expect(text).not.toContain('"s"');
  });

  it('errors keep name, message and stack, redacted', () => {
    const err = new Error('Authorization: Bearer leaked');
    const out = redact({ err }) as any;
    expect(out.err).toMatchObject({ name: 'Error', message: `Authorization: Bearer ${REDACTED}` });
    expect(out.err.stack).not.toContain('leaked');
  });

  it('never changes its input, and leaves harmless values as they are', () => {
    const input = { webhook: { secret: 's', headers: { A: 'v' } }, n: 1, ok: true, none: null, at: new Date(0) };
    const copy = structuredClone(input);
    const out = redact(input) as any;
    expect(input).toEqual(copy);
    expect(out).toMatchObject({ n: 1, ok: true, none: null, at: new Date(0) });
  });

  it('redactField judges the field name itself', () => {
    expect(redactField('secret', { a: 1 })).toBe(REDACTED);
    expect(redactField('headers', { A: 'v' })).toEqual({ A: REDACTED });
    expect(redactField('webhook_id', 'wh_1')).toBe('wh_1');
    expect(redactField('token', undefined)).toBeUndefined();
  });
});
