/**
 * The address policy at dial time (docs/contract.md §6): every connection an attempt opens is
 * checked against the address actually dialled, through a custom DNS lookup and an undici
 * connector, so a name that later resolves to a private address (DNS rebinding) is refused
 * before connecting. Create- and update-time checks are in `target-check.ts`.
 */
import dns from 'node:dns';
import type { LookupAddress, LookupOptions } from 'node:dns';
import { buildConnector } from 'undici';
import { checkAddress, isIpLiteral } from '@devhooks/core';

/** The error code of a refused dial: the sender reports it as `blocked_address`. */
export const BLOCKED_ADDRESS_CODE = 'EBLOCKEDADDRESS';

class BlockedAddressError extends Error {
  code = BLOCKED_ADDRESS_CODE;
}

type LookupCallback = (err: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void;

/** dns.lookup, minus every address the policy refuses; fails when none is left. */
export function safeLookup(hostname: string, options: LookupOptions, callback: LookupCallback): void {
  dns.lookup(hostname, { ...options, all: true }, (err, addresses) => {
    if (err) return callback(err, '');
    const allowed = addresses.filter((a) => checkAddress(a.address).allowed);
    if (!allowed.length) {
      const ranges = addresses.map((a) => `${a.address} (${checkAddress(a.address).range})`).join(', ');
      return callback(new BlockedAddressError(`${hostname} resolves only to refused addresses: ${ranges}`), '');
    }
    if (options.all) callback(null, allowed);
    else callback(null, allowed[0].address, allowed[0].family);
  });
}

export interface PolicyConnectorOptions {
  /** Connect timeout (ms). */
  timeoutMs: number;
  /** Development and tests: loopback and private addresses are allowed, nothing is checked. */
  allowPrivateTargets: boolean;
}

/** An undici connector that refuses IP literals and names outside the policy before connecting. */
export function policyConnector(o: PolicyConnectorOptions): buildConnector.connector {
  const base = buildConnector({
    timeout: o.timeoutMs,
    ...(o.allowPrivateTargets ? {} : { lookup: safeLookup }),
  } as buildConnector.BuildOptions);
  if (o.allowPrivateTargets) return base;
  return (opts, cb) => {
    if (isIpLiteral(opts.hostname)) {
      const v = checkAddress(opts.hostname);
      if (!v.allowed) {
        cb(new BlockedAddressError(`${opts.hostname} is a ${v.range} address`), null);
        return;
      }
    }
    base(opts, cb);
  };
}
