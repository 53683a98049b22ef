/**
 * Appending checked events to the event log (docs/contract.md §4, §7): each event to the shard of
 * its partition key, deduplicated, within the backlog bound, and all or nothing for the caller.
 *
 * One shard: one Lua script run, atomic. A batch across shards is appended in two phases: each
 * shard's part is appended carrying the batch's id, then a marker commits the batch (`c`); workers
 * deliver such entries only once they see the marker. When any part fails, the parts already
 * appended are taken back (entries deleted, duplicate-window keys freed) and the batch is marked
 * aborted (`a`): nothing was changed. When even that fails, or a part is too old to take back
 * (TAKE_BACK_MAX_AGE_MS: workers may be about to deliver it), the outcome is unknown: with no
 * marker, workers deliver the entries left once they are older than BATCH_DECIDE_MS, and the
 * caller is told to send the same events again with the same ids (duplicates are then counted, not
 * delivered), which makes the batch whole.
 *
 * After DEVHOOKS_SHARDS grew, an id accepted under an earlier count has its duplicate-window key
 * on the shard it had then: ingest looks it up there first (`lookupShardCounts`,
 * runtime/shard-count.ts).
 */
import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { partitionKey, shardOf, type Keys, type StoredEvent } from '@devhooks/core';
import { encodeEvent } from '../log/stream-codec';
import { waitForReplicas } from '../redis/connection';
import { luaCommands } from '../redis/lua-commands';
import { CommandNotSentError, OutcomeUnknownError, sendWhenReady } from '../redis/outcome';

/** The duplicate window of docs/contract.md §4. */
export const DEDUPE_WINDOW_SECONDS = 24 * 60 * 60;
/** A batch across shards with no marker this long after it was appended counts as committed. */
export const BATCH_DECIDE_MS = 10_000;
/**
 * A part of an aborted batch is taken back only while younger than this (Redis clock): workers
 * count an unmarked part as committed at BATCH_DECIDE_MS (their clock), so one they may already
 * deliver is never deleted, whatever the skew between clocks up to this margin.
 */
export const TAKE_BACK_MAX_AGE_MS = BATCH_DECIDE_MS / 2;
/** How long batch markers are kept: past BATCH_DECIDE_MS, with room for slow readers. */
const BATCH_MARKER_TTL_MS = 6 * BATCH_DECIDE_MS;

export type IngestResult =
  | { ok: true; accepted: number; duplicates: number; ids: string[]; entryIds: string[] }
  | { ok: false; backlog: number };

/** The outcome is not known (Redis failed after part of the work may have been done). */
export class IngestOutcomeUnknown extends OutcomeUnknownError {
  constructor(
    message: string,
    /** The events' ids, generated ones included: send them again with these ids. */
    readonly ids: string[],
  ) {
    super(new Error(message));
  }
}

export interface ShardAppendOptions {
  keys: Keys;
  shard: number;
  /** 0 disables the bound (pings use it: they must get through). */
  maxBacklog: number;
}

export interface IngestOptions {
  keys: Keys;
  /** Event-stream shards (DEVHOOKS_SHARDS). */
  shards: number;
  /** The whole backlog's bound (DEVHOOKS_MAX_BACKLOG), shared out evenly between the shards; 0: none. */
  maxBacklog: number;
  /** Replicas that must hold the events before the answer (DEVHOOKS_INGEST_REPLICAS); 0: none. */
  replicas?: number;
  replicaTimeoutMs?: number;
  /**
   * Other shard counts whose shards may hold an id's duplicate-window key (after DEVHOOKS_SHARDS
   * grew: runtime/shard-count.ts): an id given by its producer found there is a duplicate.
   */
  lookupShardCounts?: number[];
}

/**
 * Appends `events` to one shard in one script run: either all are recorded (new ones appended,
 * repeats within 24 h counted as duplicates) or, when the backlog is over its bound, none.
 * Events without a producer-given id cannot repeat, so they cost no duplicate-window key.
 * Throws `CommandNotSentError` when Redis was unreachable (nothing was appended) and
 * `OutcomeUnknownError` when the connection was lost after the script was sent (it may have run):
 * sending the same events again with the same ids is then safe, as the duplicate window
 * (per org and id, set in the same script run as the append) counts them as duplicates.
 */
export async function appendToShard(redis: Redis, events: StoredEvent[], o: ShardAppendOptions): Promise<IngestResult> {
  const shard = o.keys.shard(o.shard);
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
  return { ok: true, accepted: events.length - duplicates, duplicates, ids: events.map((e) => e.id), entryIds };
}

/** The shard of each event. */
export function shardsOf(events: StoredEvent[], shards: number): number[] {
  return events.map((e) => shardOf(e.org, partitionKey(e), shards));
}

/** Appends events, each to its shard, all or nothing (see the top of this file). */
export async function appendEvents(redis: Redis, events: StoredEvent[], o: IngestOptions): Promise<IngestResult> {
  const where = shardsOf(events, o.shards);
  const seen = o.lookupShardCounts?.length ? await seenUnderOtherCounts(redis, events, where, o) : undefined;
  if (!seen?.size) return appendPlaced(redis, events, where, o);
  // ids accepted under another shard count: duplicates; the others are appended as usual
  const ids = events.map((e) => e.id);
  const rest = ids.map((_, i) => i).filter((i) => !seen.has(i));
  const entryIds = ids.map(() => '');
  if (!rest.length) return { ok: true, accepted: 0, duplicates: events.length, ids, entryIds };
  let r: IngestResult;
  try {
    r = await appendPlaced(
      redis,
      rest.map((i) => events[i]),
      rest.map((i) => where[i]),
      o,
    );
  } catch (err) {
    // the producer sends the whole request again
    if (err instanceof IngestOutcomeUnknown) throw new IngestOutcomeUnknown(err.message, ids);
    throw err;
  }
  if (!r.ok) return r;
  rest.forEach((i, k) => (entryIds[i] = r.entryIds[k]));
  return { ok: true, accepted: r.accepted, duplicates: r.duplicates + seen.size, ids, entryIds };
}

/**
 * The events (indexes) whose producer-given id holds a duplicate-window key on the shard the event
 * has under one of `o.lookupShardCounts`: one MGET per such shard (one slot each), before the
 * append. Nothing is written, so a failure here changed nothing (CommandNotSentError).
 */
async function seenUnderOtherCounts(
  redis: Redis,
  events: StoredEvent[],
  where: number[],
  o: IngestOptions,
): Promise<Set<number>> {
  const byShard = new Map<number, { keys: string[]; idx: number[] }>();
  events.forEach((e, i) => {
    if (!e.idGiven) return; // a generated id is new
    const key = partitionKey(e);
    for (const count of o.lookupShardCounts!) {
      const shard = shardOf(e.org, key, count);
      if (shard === where[i]) continue; // the ingest script looks there
      let g = byShard.get(shard);
      if (!g) byShard.set(shard, (g = { keys: [], idx: [] }));
      g.keys.push(o.keys.shard(shard).dedupe(e.org, e.id));
      g.idx.push(i);
    }
  });
  const seen = new Set<number>();
  try {
    await Promise.all(
      [...byShard.values()].map(async (g) => {
        const found = await redis.mget(...g.keys);
        found.forEach((v, k) => v !== null && seen.add(g.idx[k]));
      }),
    );
  } catch (err) {
    throw new CommandNotSentError(`looking ids up on earlier shards failed: ${(err as Error).message}`);
  }
  return seen;
}

/** Appends events to the shards in `where`, all or nothing. */
async function appendPlaced(
  redis: Redis,
  events: StoredEvent[],
  where: number[],
  o: IngestOptions,
): Promise<IngestResult> {
  const perShard = o.shards > 1 ? Math.ceil(o.maxBacklog / o.shards) : o.maxBacklog;
  const groups = new Map<number, number[]>();
  where.forEach((s, i) => {
    const g = groups.get(s);
    if (g) g.push(i);
    else groups.set(s, [i]);
  });
  if (groups.size === 1) {
    // waiting for replicas can time out after the write: every event then needs a duplicate-window
    // key, so that sending it again with the same id is safe
    const list = o.replicas ? events.map((e) => ({ ...e, idGiven: true })) : events;
    const result = await appendToShard(redis, list, { keys: o.keys, shard: where[0], maxBacklog: perShard });
    if (result.ok) await replicate(redis, o, [where[0]], events);
    return result;
  }
  return appendAcrossShards(redis, events, groups, { ...o, maxBacklog: perShard });
}

async function appendAcrossShards(
  redis: Redis,
  events: StoredEvent[],
  groups: Map<number, number[]>,
  o: IngestOptions,
): Promise<IngestResult> {
  const batch = randomUUID();
  // every event gets a duplicate-window key, so a batch of unknown outcome can be sent again safely
  const marked = events.map((e) => ({ ...e, idGiven: true, batch }));
  const parts = [...groups];
  const settled = await Promise.allSettled(
    parts.map(([shard, idx]) =>
      appendToShard(
        redis,
        idx.map((i) => marked[i]),
        { keys: o.keys, shard, maxBacklog: o.maxBacklog },
      ),
    ),
  );
  const failed = settled.find((s) => s.status === 'rejected') as PromiseRejectedResult | undefined;
  // a part that failed may still have run: left as it is, with no marker (see the top)
  if (failed)
    throw new IngestOutcomeUnknown(
      (failed.reason as Error).message,
      marked.map((e) => e.id),
    );
  const full = settled.find((s) => s.status === 'fulfilled' && !s.value.ok);
  if (full) {
    // over the backlog bound on some shard: take the other parts back; nothing was changed
    let whole: boolean;
    try {
      whole = await takeBack(redis, o.keys, parts, settled as PromiseFulfilledResult<IngestResult>[], marked);
      if (whole) await redis.set(o.keys.batchMarker(batch), 'a', 'PX', BATCH_MARKER_TTL_MS);
    } catch (err) {
      throw new IngestOutcomeUnknown(
        (err as Error).message,
        marked.map((e) => e.id),
      );
    }
    // a part appended too long ago to be taken back stays, unmarked: delivered after BATCH_DECIDE_MS
    if (!whole)
      throw new IngestOutcomeUnknown(
        `part of the batch was appended ${TAKE_BACK_MAX_AGE_MS} ms or more ago and could not be taken back`,
        marked.map((e) => e.id),
      );
    return (full as PromiseFulfilledResult<IngestResult>).value;
  }
  const entryIds = new Array<string>(events.length);
  let duplicates = 0;
  parts.forEach(([, idx], p) => {
    const r = (settled[p] as PromiseFulfilledResult<IngestResult & { ok: true }>).value;
    idx.forEach((i, k) => (entryIds[i] = r.entryIds[k]));
    duplicates += r.duplicates;
  });
  try {
    await replicate(redis, o, [...groups.keys()], events);
    await redis.set(o.keys.batchMarker(batch), 'c', 'PX', BATCH_MARKER_TTL_MS);
  } catch (err) {
    // stored, but not known to be committed: delivered after BATCH_DECIDE_MS (see the top)
    throw new IngestOutcomeUnknown(
      (err as Error).message,
      marked.map((e) => e.id),
    );
  }
  return { ok: true, accepted: events.length - duplicates, duplicates, ids: marked.map((e) => e.id), entryIds };
}

/**
 * Takes back the parts of an aborted batch that were appended; false when some shard refused
 * because its part is TAKE_BACK_MAX_AGE_MS old (that part stays, with its duplicate-window keys).
 */
async function takeBack(
  redis: Redis,
  keys: Keys,
  parts: Array<[number, number[]]>,
  settled: PromiseFulfilledResult<IngestResult>[],
  marked: StoredEvent[],
): Promise<boolean> {
  const lua = luaCommands(redis);
  const taken = await Promise.all(
    parts.map(async ([shard, idx], p) => {
      const r = settled[p].value;
      if (!r.ok) return true;
      const fresh = idx.filter((_, k) => r.entryIds[k] !== '');
      if (!fresh.length) return true;
      const sk = keys.shard(shard);
      const dedupe = fresh.map((i) => sk.dedupe(marked[i].org, marked[i].id));
      const n = await lua.unappend(sk.stream, sk.backlog, dedupe, r.entryIds.filter(Boolean), TAKE_BACK_MAX_AGE_MS);
      return n !== -1;
    }),
  );
  return taken.every(Boolean);
}

/** Waits until `replicas` replicas hold what was just written to these shards (WAIT). */
async function replicate(redis: Redis, o: IngestOptions, shards: number[], events: StoredEvent[]): Promise<void> {
  if (!o.replicas) return;
  const timeoutMs = o.replicaTimeoutMs ?? 2_000;
  const acks = await Promise.all(
    shards.map((s) => waitForReplicas(redis, o.keys.shard(s).stream, o.replicas!, timeoutMs)),
  );
  if (acks.some((n) => n < o.replicas!)) {
    throw new IngestOutcomeUnknown(
      `stored, but fewer than ${o.replicas} replica(s) confirmed it within ${timeoutMs} ms`,
      events.map((e) => e.id),
    );
  }
}

/** Events accepted and not yet acknowledged by a worker, on one shard. */
export async function backlogSize(redis: Redis, keys: Keys, shard = 0): Promise<number> {
  return Number((await redis.get(keys.shard(shard).backlog)) ?? 0);
}
