/**
 * Which addresses a webhook may reach (docs/contract.md §6). Only globally routable unicast addresses are
 * allowed: loopback, private (RFC 1918, fc00::/7), link-local, CGNAT, multicast, unspecified,
 * broadcast, documentation/benchmarking and other reserved ranges are refused. IPv4-mapped IPv6
 * addresses (::ffff:a.b.c.d) are judged as the IPv4 address they carry; NAT64, 6to4 and Teredo
 * prefixes, which embed IPv4 addresses, are refused.
 */
import ipaddr from 'ipaddr.js';

const GLOBAL_UNICAST_V6 = ipaddr.IPv6.parseCIDR('2000::/3');

export interface AddressVerdict {
  allowed: boolean;
  /** ipaddr.js's name of the range, e.g. `loopback`, `private`, `uniqueLocal`, `unicast`. */
  range: string;
}

export function checkAddress(ip: string): AddressVerdict {
  let addr: ipaddr.IPv4 | ipaddr.IPv6;
  try {
    addr = ipaddr.parse(ip.replace(/^\[|\]$/g, '').replace(/%.*$/, ''));
  } catch {
    return { allowed: false, range: 'invalid' };
  }
  if (addr.kind() === 'ipv6' && (addr as ipaddr.IPv6).isIPv4MappedAddress()) {
    addr = (addr as ipaddr.IPv6).toIPv4Address();
  }
  const range = addr.range();
  // ipaddr.js calls everything outside its named ranges "unicast"; for IPv6 only 2000::/3 is
  // globally routable (the rest, e.g. IPv4-compatible ::a.b.c.d, is reserved or unassigned)
  if (range === 'unicast' && addr.kind() === 'ipv6' && !(addr as ipaddr.IPv6).match(GLOBAL_UNICAST_V6)) {
    return { allowed: false, range: 'reserved' };
  }
  return { allowed: range === 'unicast', range };
}

export function isAllowedAddress(ip: string): boolean {
  return checkAddress(ip).allowed;
}

export function isIpLiteral(host: string): boolean {
  return ipaddr.isValid(host.replace(/^\[|\]$/g, ''));
}

/** Names that always mean this machine, refused without asking DNS. */
export function isLocalHostname(host: string): boolean {
  const h = host.toLowerCase().replace(/\.$/, '');
  return h === 'localhost' || h.endsWith('.localhost') || h === 'localhost.localdomain';
}
