/**
 * The address policy at create and update time (docs/contract.md §6): a url that is, or resolves to, a
 * refused address is refused. Names that do not resolve now are accepted: every attempt checks the
 * address it actually dials anyway.
 */
import dns from 'node:dns/promises';
import { checkAddress, isIpLiteral, isLocalHostname } from '@devhooks/core';

export type TargetVerdict = { ok: true; unresolved?: boolean } | { ok: false; reason: string };

const LOOKUP_TIMEOUT_MS = 3_000;

export async function checkTarget(url: string, lookup = dns.lookup): Promise<TargetVerdict> {
  const host = new URL(url).hostname.replace(/^\[|\]$/g, '');
  if (isIpLiteral(host)) {
    const v = checkAddress(host);
    return v.allowed ? { ok: true } : { ok: false, reason: `${host} is a ${v.range} address` };
  }
  if (isLocalHostname(host)) return { ok: false, reason: `${host} names this machine (loopback)` };
  let addresses: Array<{ address: string }>;
  try {
    addresses = await Promise.race([
      lookup(host, { all: true, verbatim: true }),
      new Promise<never>((_, reject) =>
        setTimeout(() => reject(new Error('lookup timed out')), LOOKUP_TIMEOUT_MS).unref(),
      ),
    ]);
  } catch {
    return { ok: true, unresolved: true };
  }
  const refused = addresses.map((a) => ({ a: a.address, v: checkAddress(a.address) })).filter((x) => !x.v.allowed);
  if (refused.length) {
    return { ok: false, reason: `${host} resolves to ${refused.map((x) => `${x.a} (${x.v.range})`).join(', ')}` };
  }
  return { ok: true };
}
