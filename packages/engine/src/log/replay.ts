/**
 * Replay (contract §9): every event accepted in a window that matches a webhook now (topics, site,
 * group, filter, and the types asked for) is appended again as a copy targeted at that webhook (the
 * field pings use), on the shard it came from, keeping its event id: a single-event delivery of the
 * copy carries the same `webhook-id` as the original's. Copies skip the duplicate window (they are
 * not new events) and are never replayed themselves.
 */
import type { Redis } from 'ioredis';
import { WebhookIndex, type Keys, type StoredEvent, type Webhook, type Window } from '@devhooks/core';
import { appendToShard } from '../ingest/ingest';
import { decodeEvent, entryTime } from './stream-codec';

/** Most events one replay sends; a larger window is refused (ask for a smaller one). */
export const MAX_REPLAY_EVENTS = 100_000;
const PAGE = 1_000;
const APPEND_CHUNK = 500;

/** `since`/`until`: inclusive bounds on when events were accepted, in ms; `types`: only these. */
export interface ReplayOptions extends Window {
  webhook: Webhook;
  /** Event-stream shards to read: 0 … shards-1. */
  shards: number;
  /** Backlog bound (0: none): a replay that would pass it is refused. */
  maxBacklog: number;
  max?: number;
}

export type ReplayResult =
  | { ok: true; events: number }
  /** Part of the window has been trimmed from the log: it holds events accepted from `oldest` (ms) on. */
  | { ok: false; reason: 'beyond_log'; oldest: number }
  | { ok: false; reason: 'too_many'; max: number }
  | { ok: false; reason: 'backlog'; backlog: number };

/**
 * The first ms whose events a shard still holds in full: 0 while nothing was ever trimmed (every
 * entry ever added is still there), else the time of its oldest entry (or just after the last one,
 * when trimming emptied it).
 */
async function heldSince(redis: Redis, stream: string): Promise<number> {
  const flat = (await redis.xinfo('STREAM', stream).catch(() => [])) as unknown[];
  const info = new Map<string, unknown>();
  for (let i = 0; i + 1 < flat.length; i += 2) info.set(String(flat[i]), flat[i + 1]);
  if (Number(info.get('entries-added') ?? 0) <= Number(info.get('length') ?? 0)) return 0;
  const first = info.get('first-entry') as [string, string[]] | null | undefined;
  if (first && first[0]) return entryTime(first[0]) + (first[0].endsWith('-0') ? 0 : 1);
  return entryTime(String(info.get('last-generated-id') ?? '0-0')) + 1;
}

/** Calls `visit` with every event of the shard accepted in [since, until], in order, a page at a time. */
async function scan(
  redis: Redis,
  stream: string,
  since: number,
  until: number,
  visit: (events: StoredEvent[]) => Promise<boolean | void>,
): Promise<void> {
  let start = `${since}-0`;
  const end = `${until}-18446744073709551615`;
  for (;;) {
    const rows = (await redis.xrange(stream, start, end, 'COUNT', PAGE)) as Array<[string, string[]]>;
    const events: StoredEvent[] = [];
    for (const [, fields] of rows) {
      try {
        events.push(decodeEvent(fields));
      } catch {
        // an unreadable entry was never delivered either: nothing to replay
      }
    }
    if ((await visit(events)) === false || rows.length < PAGE) return;
    start = `(${rows[rows.length - 1][0]}`;
  }
}

export async function replayEvents(redis: Redis, keys: Keys, o: ReplayOptions): Promise<ReplayResult> {
  const max = o.max ?? MAX_REPLAY_EVENTS;
  const shards = Array.from({ length: o.shards }, (_, n) => n);
  const oldest = Math.max(...(await Promise.all(shards.map((n) => heldSince(redis, keys.shard(n).stream)))));
  if (o.since < oldest) return { ok: false, reason: 'beyond_log', oldest };

  const index = new WebhookIndex([o.webhook]);
  const types = o.types ? new Set<string>(o.types) : undefined;
  const wanted = (e: StoredEvent) =>
    e.org === o.webhook.org_id && !e.webhook && (!types || types.has(e.type)) && index.match(e).length > 0;

  // first pass: count, so a window past the bound changes nothing
  let count = 0;
  for (const n of shards) {
    await scan(redis, keys.shard(n).stream, o.since, o.until, async (events) => {
      for (const e of events) if (wanted(e)) count++;
      return count <= max;
    });
    if (count > max) return { ok: false, reason: 'too_many', max };
  }
  if (o.maxBacklog > 0 && count > 0) {
    const backlog = Math.max(
      ...(await Promise.all(shards.map(async (n) => Number((await redis.get(keys.shard(n).backlog)) ?? 0)))),
    );
    if (backlog + count > o.maxBacklog) return { ok: false, reason: 'backlog', backlog };
  }

  let appended = 0;
  for (const n of shards) {
    let pending: StoredEvent[] = [];
    const flush = async () => {
      const r = await appendToShard(redis, pending, { keys, shard: n, maxBacklog: 0 });
      if (r.ok) appended += r.accepted;
      pending = [];
    };
    await scan(redis, keys.shard(n).stream, o.since, o.until, async (events) => {
      for (const e of events) {
        if (!wanted(e) || appended + pending.length >= count) continue;
        pending.push({ ...e, idGiven: false, webhook: o.webhook.id });
        if (pending.length >= APPEND_CHUNK) await flush();
      }
    });
    if (pending.length) await flush();
  }
  return { ok: true, events: appended };
}
