/** Appending checked events to the event stream (contract §4): atomic, deduplicated, bounded. */
import type { Redis } from 'ioredis';
import type { Keys, StoredEvent } from '@devhooks/core';
import { luaCommands } from '../redis/lua-commands';
import { sendWhenReady } from '../redis/outcome';
import { encodeEvent } from '../log/stream-codec';

/** The duplicate window of contract §4. */
export const DEDUPE_WINDOW_SECONDS = 24 * 60 * 60;

export type IngestResult =
  | { ok: true; accepted: number; duplicates: number; ids: string[]; entryIds: string[] }
  | { ok: false; backlog: number };

export interface IngestOptions {
  keys: Keys;
  shard?: number;
  /** 0 disables the bound (pings use it: they must get through). */
  maxBacklog: number;
}

/**
 * Appends `events` in one script run: either all are recorded (new ones appended, repeats within
 * 24 h counted as duplicates) or, when the backlog is over its bound, none.
 * Events without a producer-given id cannot repeat, so they cost no duplicate-window key.
 * Throws `CommandNotSentError` when Redis was unreachable (nothing was appended) and
 * `OutcomeUnknownError` when the connection was lost after the script was sent (it may have run):
 * sending the same events again with the same ids is then safe, as the duplicate window
 * (per org and id, set in the same script run as the append) counts them as duplicates.
 */
export async function appendEvents(redis: Redis, events: StoredEvent[], o: IngestOptions): Promise<IngestResult> {
  const shard = o.keys.shard(o.shard ?? 0);
  const keys = [shard.stream, shard.backlog];
  const args: Array<string | number> = [o.maxBacklog, DEDUPE_WINDOW_SECONDS, events.length];
  for (const e of events) {
    if (e.idGiven) {
      keys.push(shard.dedupe(e.org, e.id));
      args.push(keys.length);
    } else args.push(0);
    for (const v of encodeEvent(e)) args.push(v);
  }
  const out = await sendWhenReady(redis, () => luaCommands(redis).ingest(keys, args));
  if (out[0] === -1) return { ok: false, backlog: Number(out[1]) };
  const entryIds = out.map(String);
  const duplicates = entryIds.filter((id) => id === '').length;
  return {
    ok: true,
    accepted: events.length - duplicates,
    duplicates,
    ids: events.map((e) => e.id),
    entryIds,
  };
}

/** Events accepted and not yet acknowledged by a worker. */
export async function backlogSize(redis: Redis, keys: Keys, shard = 0): Promise<number> {
  return Number((await redis.get(keys.shard(shard).backlog)) ?? 0);
}
