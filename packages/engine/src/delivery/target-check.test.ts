/**
 * The create/update-time address policy (docs/contract.md §6), with a fake lookup: nothing here asks DNS.
 */
import { checkTarget } from './target-check';

type Lookup = NonNullable<Parameters<typeof checkTarget>[1]>;

/** A fake dns.promises.lookup answering `addresses` and recording what it was asked. */
function fakeLookup(addresses: string[]) {
  const fn = jest.fn(async (_host: string, _opts?: unknown) =>
    addresses.map((address) => ({ address, family: address.includes(':') ? 6 : 4 })),
  );
  return fn;
}
const asLookup = (f: unknown) => f as Lookup;

describe('checkTarget', () => {
  afterEach(() => jest.useRealTimers());

  describe('names resolving to public addresses', () => {
    it.each([[['93.184.216.34']], [['2606:4700:4700::1111']], [['93.184.216.34', '2606:4700:4700::1111', '8.8.8.8']]])(
      '%j → ok',
      async (addresses) => {
        const lookup = fakeLookup(addresses);
        expect(await checkTarget('https://hooks.example.com/in?x=1', asLookup(lookup))).toEqual({ ok: true });
        expect(lookup).toHaveBeenCalledTimes(1);
        expect(lookup.mock.calls[0][0]).toBe('hooks.example.com');
        expect(lookup.mock.calls[0][1]).toMatchObject({ all: true });
      },
    );
  });

  describe('names resolving to any refused address', () => {
    it.each<[string, string]>([
      ['127.0.0.1', 'loopback'],
      ['10.1.2.3', 'private'],
      ['172.16.5.4', 'private'],
      ['192.168.0.10', 'private'],
      ['169.254.169.254', 'linkLocal'],
      ['100.64.0.1', 'carrierGradeNat'],
      ['::1', 'loopback'],
      ['fd00::1', 'uniqueLocal'],
      ['fc00::5', 'uniqueLocal'],
      ['fe80::1', 'linkLocal'],
      ['::ffff:127.0.0.1', 'loopback'],
      ['::ffff:10.0.0.1', 'private'],
      ['0.0.0.0', 'unspecified'],
      ['224.0.0.1', 'multicast'],
    ])('%s (%s) → refused, naming the address and the range', async (address, range) => {
      const lookup = fakeLookup(['93.184.216.34', address]);
      const v = await checkTarget('https://rebind.example.com/hook', asLookup(lookup));
      expect(v.ok).toBe(false);
      if (v.ok) return;
      expect(v.reason).toContain('rebind.example.com');
      expect(v.reason).toContain(address);
      expect(v.reason).toContain(range);
      // the public address is not blamed
      expect(v.reason).not.toContain('93.184.216.34');
    });

    it('names every refused address', async () => {
      const v = await checkTarget('http://multi.example.com/', asLookup(fakeLookup(['10.0.0.1', '127.0.0.1'])));
      expect(v).toEqual({ ok: false, reason: expect.stringContaining('10.0.0.1 (private)') });
      expect(v.ok === false && v.reason).toContain('127.0.0.1 (loopback)');
    });
  });

  describe('names that do not resolve now', () => {
    it('ENOTFOUND → ok, unresolved', async () => {
      const lookup = jest.fn(async () => {
        throw Object.assign(new Error('getaddrinfo ENOTFOUND nowhere.example.com'), { code: 'ENOTFOUND' });
      });
      expect(await checkTarget('https://nowhere.example.com/', asLookup(lookup))).toEqual({
        ok: true,
        unresolved: true,
      });
      expect(lookup).toHaveBeenCalledTimes(1);
    });

    it('a lookup that hangs past 3 s → ok, unresolved', async () => {
      jest.useFakeTimers();
      const lookup = jest.fn(() => new Promise<never>(() => {}));
      let verdict: unknown;
      const p = checkTarget('https://slow.example.com/', asLookup(lookup)).then((v) => (verdict = v));
      await jest.advanceTimersByTimeAsync(2_900);
      expect(verdict).toBeUndefined();
      await jest.advanceTimersByTimeAsync(200);
      await p;
      expect(verdict).toEqual({ ok: true, unresolved: true });
    });

    it('an answer just before the timeout is still judged', async () => {
      jest.useFakeTimers();
      const lookup = jest.fn(
        () => new Promise((resolve) => setTimeout(() => resolve([{ address: '10.0.0.9', family: 4 }]), 2_500)),
      );
      const p = checkTarget('https://late.example.com/', asLookup(lookup));
      await jest.advanceTimersByTimeAsync(2_600);
      expect(await p).toEqual({ ok: false, reason: expect.stringContaining('10.0.0.9 (private)') });
    });
  });

  describe('IP literals: decided without calling lookup', () => {
    it.each<[string, string]>([
      ['http://127.0.0.1:8080/x', 'loopback'],
      ['http://10.0.0.1/', 'private'],
      ['http://192.168.1.1/', 'private'],
      ['http://169.254.169.254/latest/meta-data', 'linkLocal'],
      ['http://100.100.100.100/', 'carrierGradeNat'],
      ['http://[::1]:9000/', 'loopback'],
      ['http://[fd12:3456::1]/', 'uniqueLocal'],
      ['http://[fe80::1]/', 'linkLocal'],
      ['http://[::ffff:127.0.0.1]/', 'loopback'],
      ['http://[::ffff:192.168.0.1]/', 'private'],
      ['http://0.0.0.0/', 'unspecified'],
      // other notations the URL parser turns into 127.0.0.1
      ['http://2130706433/', 'loopback'],
      ['http://0x7f.1/', 'loopback'],
      ['http://127.1/', 'loopback'],
    ])('%s → refused (%s)', async (url, range) => {
      const lookup = fakeLookup(['93.184.216.34']);
      const v = await checkTarget(url, asLookup(lookup));
      expect(v).toEqual({ ok: false, reason: expect.stringContaining(range) });
      expect(lookup).not.toHaveBeenCalled();
    });

    it('names the address in the reason', async () => {
      const v = await checkTarget('http://10.2.3.4/', asLookup(fakeLookup([])));
      expect(v).toEqual({ ok: false, reason: expect.stringContaining('10.2.3.4') });
    });

    it.each(['http://93.184.216.34/hook', 'https://[2606:4700:4700::1111]:8443/hook', 'http://8.8.8.8:80/'])(
      '%s → ok',
      async (url) => {
        const lookup = fakeLookup(['127.0.0.1']);
        expect(await checkTarget(url, asLookup(lookup))).toEqual({ ok: true });
        expect(lookup).not.toHaveBeenCalled();
      },
    );
  });

  describe('names of this machine: refused without calling lookup', () => {
    it.each([
      'http://localhost/',
      'http://localhost:3000/hook',
      'http://LOCALHOST/',
      'http://localhost./',
      'http://x.localhost/',
      'https://api.dev.localhost:8443/',
      'http://localhost.localdomain/',
    ])('%s', async (url) => {
      const lookup = fakeLookup(['93.184.216.34']);
      const v = await checkTarget(url, asLookup(lookup));
      expect(v).toEqual({ ok: false, reason: expect.stringContaining('loopback') });
      expect(lookup).not.toHaveBeenCalled();
    });
  });
});
