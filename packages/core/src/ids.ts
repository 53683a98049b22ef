/** Identifiers: random ids for things people create, derived ids for things the service creates. */
import { createHash, hash, randomBytes } from 'node:crypto';

const ALPHABET = '0123456789abcdefghijklmnopqrstuvwxyz';

function base36(bytes: Buffer, length: number): string {
  let out = '';
  for (let i = 0; i < length; i++) out += ALPHABET[bytes[i] % 36];
  return out;
}

/** `org_…`, `key_…`, `wh_…`: 20 random base-36 characters (about 103 bits). */
export function newId(kind: 'org' | 'key' | 'wh' | 'evt'): string {
  return `${kind}_${base36(randomBytes(20), 20)}`;
}

/** A new API key: shown once, stored only as its hash. */
export function newApiKey(): string {
  return `dh_${randomBytes(30).toString('base64url')}`;
}

export function hashApiKey(key: string): string {
  return createHash('sha256').update(key).digest('hex');
}

/**
 * A delivery's id, derived from what it carries and where it goes, so a re-read stream entry or
 * a re-built batch yields the same id (and the same retry job) rather than a second one. It starts
 * with the entry's time (ms, base 36): the delivery log files records by hour from it.
 */
export function deliveryId(firstEntryId: string, webhookId: string, eventCount = 1, shard = 0): string {
  // entry ids repeat across shards' streams (each counts ms-seq of its own): the shard tells them
  // apart; shard 0 hashes as before shards existed, so its ids do not change
  const entry = shard ? `${shard}/${firstEntryId}` : firstEntryId;
  const h = hash('sha256', `${entry}\u0000${webhookId}\u0000${eventCount}`, 'buffer');
  const ms = Number.parseInt(firstEntryId, 10) || 0;
  return `dlv_${ms.toString(36)}_${base36(h, 20)}`;
}

const HOUR_MS = 3_600_000;

/** When the first event of a delivery was accepted (ms), from its id; undefined for a malformed id. */
export function deliveryMs(id: string): number | undefined {
  // on the worker's hot path: no regular expression
  const end = id.indexOf('_', 4);
  if (!id.startsWith('dlv_') || end < 5 || end > 15 || id.length !== end + 21) return undefined;
  let ms = 0;
  for (let i = 4; i < end; i++) {
    const c = id.charCodeAt(i);
    const digit = c >= 48 && c <= 57 ? c - 48 : c >= 97 && c <= 122 ? c - 87 : -1;
    if (digit < 0) return undefined;
    ms = ms * 36 + digit;
  }
  return ms;
}

/** The hour (since the epoch) a delivery id was created in, or undefined for a malformed id. */
export function deliveryHour(id: string): number | undefined {
  const ms = deliveryMs(id);
  return ms === undefined ? undefined : Math.floor(ms / HOUR_MS);
}

/** The `webhook-id` (message id) of a batch: derived from its stream entry ids, so stable for the same events. */
export function batchMessageId(entryIds: readonly string[], shard = 0): string {
  const h = createHash('sha256');
  if (shard) h.update(`${shard}/`);
  for (const id of entryIds) h.update(id).update('\u0000');
  return `msg_${base36(h.digest(), 24)}`;
}
