/**
 * Which addresses a webhook may reach (docs/contract.md §6). Pure functions over strings: nothing here opens
 * a socket or asks DNS.
 */
import { checkAddress, isAllowedAddress, isIpLiteral, isLocalHostname } from './address-policy';

describe('checkAddress / isAllowedAddress', () => {
  describe('refused', () => {
    it.each<[string, string]>([
      // IPv4 loopback, private, link-local, CGNAT
      ['127.0.0.1', 'loopback'],
      ['127.255.255.254', 'loopback'],
      ['10.0.0.1', 'private'],
      ['10.255.255.255', 'private'],
      ['172.16.0.1', 'private'],
      ['172.31.255.255', 'private'],
      ['192.168.1.1', 'private'],
      ['169.254.169.254', 'linkLocal'], // cloud metadata
      ['100.64.0.1', 'carrierGradeNat'],
      ['100.127.255.255', 'carrierGradeNat'],
      // multicast, unspecified, broadcast, reserved
      ['224.0.0.1', 'multicast'],
      ['239.255.255.250', 'multicast'],
      ['0.0.0.0', 'unspecified'],
      ['0.1.2.3', 'unspecified'],
      ['255.255.255.255', 'broadcast'],
      ['192.0.2.1', 'reserved'], // TEST-NET-1
      ['198.51.100.1', 'reserved'], // TEST-NET-2
      ['203.0.113.1', 'reserved'], // TEST-NET-3
      ['198.18.0.1', 'reserved'], // benchmarking
      ['240.0.0.1', 'reserved'],
      // IPv4 in the other notations inet_aton accepts: still loopback
      ['127.1', 'loopback'],
      ['2130706433', 'loopback'],
      ['0x7f.0.0.1', 'loopback'],
      // IPv6
      ['::1', 'loopback'],
      ['::', 'unspecified'],
      ['fc00::1', 'uniqueLocal'],
      ['fd12:3456::1', 'uniqueLocal'],
      ['fe80::1', 'linkLocal'],
      ['fe80::1%eth0', 'linkLocal'],
      ['ff02::1', 'multicast'],
      ['2001:db8::1', 'reserved'], // documentation
      // IPv4-mapped: judged as the IPv4 address they carry
      ['::ffff:127.0.0.1', 'loopback'],
      ['::ffff:7f00:1', 'loopback'],
      ['::ffff:10.0.0.1', 'private'],
      ['::ffff:192.168.0.1', 'private'],
      ['::ffff:169.254.169.254', 'linkLocal'],
      // prefixes that embed IPv4 addresses
      ['64:ff9b::a00:1', 'rfc6052'], // NAT64 of 10.0.0.1
      ['2002:a00:1::1', '6to4'], // 6to4 of 10.0.0.1
      ['2001:0:4136:e378:8000:63bf:3fff:fdd2', 'teredo'],
      // bracketed, as in a URL's host
      ['[::1]', 'loopback'],
      ['[fe80::1]', 'linkLocal'],
    ])('%s (%s)', (ip, range) => {
      expect(checkAddress(ip)).toEqual({ allowed: false, range });
      expect(isAllowedAddress(ip)).toBe(false);
    });
  });

  describe('allowed: globally routable unicast', () => {
    it.each([
      '8.8.8.8',
      '1.1.1.1',
      '93.184.216.34',
      '172.32.0.1', // just past 172.16.0.0/12
      '172.15.255.255', // just before it
      '100.128.0.1', // just past 100.64.0.0/10
      '::ffff:8.8.8.8', // IPv4-mapped public
      '2606:4700:4700::1111',
      '2a00:1450:4001::1',
      '[2606:4700:4700::1111]',
    ])('%s', (ip) => {
      expect(checkAddress(ip)).toEqual({ allowed: true, range: 'unicast' });
      expect(isAllowedAddress(ip)).toBe(true);
    });
  });

  describe('invalid strings are refused', () => {
    it.each(['', 'not-an-ip', 'example.com', '8.8.8.8.8', '256.0.0.1', '1.2.3.4/24', '::1::1', 'gggg::1', ' 8.8.8.8x'])(
      '%j',
      (ip) => {
        expect(checkAddress(ip)).toEqual({ allowed: false, range: 'invalid' });
        expect(isAllowedAddress(ip)).toBe(false);
      },
    );
  });

  it.each(['::7f00:1', '::a00:1', '::2', '1::1', '4000::1', 'e000::1'])(
    'refuses %s: outside 2000::/3, not globally routable (IPv4-compatible, reserved or unassigned)',
    (ip) => {
      expect(checkAddress(ip)).toEqual({ allowed: false, range: 'reserved' });
    },
  );
});

describe('isIpLiteral', () => {
  it.each<[string, boolean]>([
    ['127.0.0.1', true],
    ['8.8.8.8', true],
    ['::1', true],
    ['[::1]', true],
    ['2606:4700:4700::1111', true],
    ['[2606:4700:4700::1111]', true],
    ['::ffff:10.0.0.1', true],
    ['example.com', false],
    ['localhost', false],
    ['', false],
    ['8.8.8.8.8', false],
    ['hooks.example.com.', false],
  ])('%j → %s', (host, expected) => {
    expect(isIpLiteral(host)).toBe(expected);
  });
});

describe('isLocalHostname', () => {
  it.each<[string, boolean]>([
    ['localhost', true],
    ['LOCALHOST.', true],
    ['LocalHost', true],
    ['a.localhost', true],
    ['deep.sub.localhost.', true],
    ['localhost.localdomain', true],
    ['example.com', false],
    ['localhost.example.com', false],
    ['notlocalhost', false],
    ['mylocalhost.com', false],
    ['127.0.0.1', false], // an IP literal, judged by checkAddress instead
  ])('%j → %s', (host, expected) => {
    expect(isLocalHostname(host)).toBe(expected);
  });
});
