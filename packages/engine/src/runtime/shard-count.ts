/**
 * DEVHOOKS_SHARDS may grow on a running deployment, never shrink (docs/decisions/0006, "Changing the
 * shard count"). Every process records the shard count it was started with:
 *
 * - `{prefix}:shard-count` holds the most shards used, and a process started with fewer refuses to
 *   start, since the streams of the shards left out would never be read (their events lost);
 * - `{prefix}:shard-history` holds every count with the time (Redis clock) it was first recorded.
 *
 * An event's shard, and so its duplicate-window key, depends on the count, so a growth must not let
 * an id accepted under one count be accepted again under another. API processes therefore read the
 * history every second (`ShardLayout`) and all follow one plan (`ingestShardPlan`):
 *
 * - a larger count is used for ingest only `SHARD_SWITCH_MS` after it was first recorded, by every
 *   API process at once, old ones included (they learn it from the history): until then, events go
 *   to the shards of the count before it;
 * - a process that has not read the history for `SHARD_LAYOUT_STALE_MS` (< the switch delay)
 *   accepts no event (503, nothing changed), so no process appends under a count older than the
 *   one the others use;
 * - ingest also looks an id up on the shard it had under every other count that may hold its key:
 *   the counts recorded but not used yet, and earlier counts until the duplicate window (and an
 *   hour) has passed since ingest stopped using them.
 */
import type { Keys } from '@devhooks/core';
import type { Redis } from 'ioredis';
import { DEDUPE_WINDOW_SECONDS } from '../ingest/ingest';
import type { Logger } from '../ops/logger';
import { CommandNotSentError, sendWhenReady } from '../redis/outcome';

/** How long after a larger count is first recorded ingest starts using it. */
export const SHARD_SWITCH_MS = 10_000;
/** How often API processes read the history. */
export const SHARD_LAYOUT_REFRESH_MS = 1_000;
/** An API process whose last read of the history is older than this accepts no event. */
export const SHARD_LAYOUT_STALE_MS = 5_000;
/** How long an API process reuses its ingest plan before working it out again. */
const PLAN_REUSE_MS = 250;
/** How long an earlier count's shards are looked up after ingest stopped using it. */
export const EARLIER_COUNT_LOOKUP_MS = DEDUPE_WINDOW_SECONDS * 1_000 + 60 * 60 * 1_000;

/**
 * Records ARGV[1] as a shard count used (KEYS[1]: the most used, KEYS[2]: the history), and returns
 * {the most used, the Redis clock in ms, the history as count, ms, count, ms, …}. A most-used count
 * recorded before the history was kept enters it with time 0 (in use since ever).
 */
const RECORD_SHARD_COUNT = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local cur = tonumber(redis.call('GET', KEYS[1]) or '0')
local want = tonumber(ARGV[1])
if cur > 0 and redis.call('HEXISTS', KEYS[2], cur) == 0 then redis.call('HSET', KEYS[2], cur, 0) end
if want > cur then
  redis.call('SET', KEYS[1], want)
  redis.call('HSETNX', KEYS[2], want, now)
  cur = want
end
return {cur, now, redis.call('HGETALL', KEYS[2])}
`;

export class ShardCountError extends Error {}

/** One shard count of the history: `since` is when it was first recorded (ms, Redis clock; 0: before the history). */
export interface ShardCountRecord {
  count: number;
  since: number;
}

export interface ShardCountState {
  /** The most shards used. */
  most: number;
  /** The Redis clock (ms) when it was read. */
  now: number;
  /** Ascending by count (and so by time: counts only grow). */
  history: ShardCountRecord[];
}

/** Records `shards` as used and reads the history back (one script on the control-plane slot). */
export async function readShardCounts(redis: Redis, keys: Keys, shards: number): Promise<ShardCountState> {
  const [most, now, flat] = (await redis.eval(RECORD_SHARD_COUNT, 2, keys.shardCount, keys.shardHistory, shards)) as [
    number,
    number,
    string[],
  ];
  const history: ShardCountRecord[] = [];
  for (let i = 0; i + 1 < flat.length; i += 2) history.push({ count: Number(flat[i]), since: Number(flat[i + 1]) });
  history.sort((a, b) => a.count - b.count);
  return { most: Number(most), now: Number(now), history };
}

/** Records `shards` as used; throws ShardCountError when more were used before. */
export async function recordShardCount(redis: Redis, keys: Keys, shards: number): Promise<ShardCountState> {
  const state = await readShardCounts(redis, keys, shards);
  if (state.most > shards) throw shardCountError(keys, shards, state.most);
  return state;
}

function shardCountError(keys: Keys, shards: number, used: number): ShardCountError {
  return new ShardCountError(
    `DEVHOOKS_SHARDS=${shards}, but this deployment (prefix ${keys.prefix}) has used ${used} shards: the events ` +
      `of shards ${shards}–${used - 1} would never be delivered. Start every process with DEVHOOKS_SHARDS=${used} ` +
      `or more (growing is safe; shrinking is not supported).`,
  );
}

/** Where ingest puts events now, and where else it looks their ids up. */
export interface IngestShardPlan {
  /** The count events are appended under. */
  shards: number;
  /** Other counts whose shards may hold an id's duplicate-window key. */
  lookups: number[];
}

/** The plan every API process follows at `now` (Redis clock), given the history (see the top). */
export function ingestShardPlan(history: ShardCountRecord[], now: number): IngestShardPlan {
  if (!history.length) throw new Error('no shard count recorded');
  let active = 0;
  for (let i = 1; i < history.length; i++) if (history[i].since + SHARD_SWITCH_MS <= now) active = i;
  const lookups: number[] = [];
  history.forEach((h, i) => {
    if (i > active) lookups.push(h.count);
    // ingest stopped using an earlier count when the next one came into use
    else if (i < active && now < history[i + 1].since + SHARD_SWITCH_MS + EARLIER_COUNT_LOOKUP_MS)
      lookups.push(h.count);
  });
  return { shards: history[active].count, lookups };
}

/**
 * An API process's view of the shard counts, read again every `SHARD_LAYOUT_REFRESH_MS`. `plan()`
 * refuses (CommandNotSentError: 503, nothing changed) when no read succeeded within
 * `SHARD_LAYOUT_STALE_MS` and a read on the spot fails too.
 */
export class ShardLayout {
  private state: ShardCountState | undefined;
  /** Redis clock minus the local clock, at the last read. */
  private offset = 0;
  /** Local ms of the last successful read. */
  private readAt = -Infinity;
  private timer: NodeJS.Timeout | undefined;
  private reading: Promise<void> | undefined;
  /** The plan last logged. */
  private planned = '';
  /** The plan by the last read, reused on the hot path until `until` (local ms). */
  private cached: { plan: IngestShardPlan; until: number } | undefined;
  private failing = false;

  constructor(
    private readonly redis: Redis,
    private readonly keys: Keys,
    /** DEVHOOKS_SHARDS of this process. */
    readonly configured: number,
    private readonly logger?: Logger,
  ) {}

  /** Records the configured count and reads the history; throws ShardCountError when more shards were used. */
  async record(): Promise<void> {
    await this.refresh();
    const most = this.state!.most;
    if (most > this.configured) throw shardCountError(this.keys, this.configured, most);
  }

  /** Reads the history every SHARD_LAYOUT_REFRESH_MS until `stop`. */
  start(): void {
    if (this.timer) return;
    const tick = () => {
      this.refresh()
        .catch(() => undefined)
        .finally(() => {
          if (this.timer) this.timer = setTimeout(tick, SHARD_LAYOUT_REFRESH_MS).unref();
        });
    };
    this.timer = setTimeout(tick, SHARD_LAYOUT_REFRESH_MS).unref();
  }

  stop(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  /** The most shards used, as last read (at least the configured count): every shard that may hold events. */
  get most(): number {
    return Math.max(this.configured, this.state?.most ?? 0);
  }

  /**
   * The plan without a wait when the view is fresh and the last plan still holds (the hot path:
   * no promise per request); undefined when `plan()` must work it out.
   */
  planNow(): IngestShardPlan | undefined {
    const local = Date.now();
    if (local - this.readAt > SHARD_LAYOUT_STALE_MS || !this.cached || local >= this.cached.until) return undefined;
    return this.cached.plan;
  }

  /** The ingest plan now (see the top of this file). */
  async plan(): Promise<IngestShardPlan> {
    if (Date.now() - this.readAt > SHARD_LAYOUT_STALE_MS) {
      try {
        await this.refresh();
      } catch (err) {
        throw new CommandNotSentError(`the shard counts could not be read: ${(err as Error).message}`);
      }
    }
    return this.current();
  }

  /**
   * The plan by the last read, logged when it changes; worked out again at most every
   * PLAN_REUSE_MS (a process that switches that much later than another is still safe: each looks
   * up the count the other appends under).
   */
  private current(): IngestShardPlan {
    const local = Date.now();
    if (this.cached && local < this.cached.until) return this.cached.plan;
    const plan = ingestShardPlan(this.state!.history, local + this.offset);
    this.cached = { plan, until: local + PLAN_REUSE_MS };
    const said = `${plan.shards} ${plan.lookups.join(',')}`;
    if (said !== this.planned) {
      this.planned = said;
      this.logger?.info('ingest shard counts', { shards: plan.shards, looked_up: plan.lookups });
    }
    return plan;
  }

  /** Reads the counts again now (also done every SHARD_LAYOUT_REFRESH_MS once started). */
  refresh(): Promise<void> {
    // one read at a time: requests that find the view stale share it
    this.reading ??= (async () => {
      try {
        const asked = Date.now();
        // like ingest: not connected within READY_WAIT_MS, it fails rather than queue
        const state = await sendWhenReady(this.redis, () => readShardCounts(this.redis, this.keys, this.configured));
        const now = Date.now();
        this.state = state;
        this.cached = undefined;
        this.offset = state.now - Math.round((asked + now) / 2);
        this.readAt = asked;
        if (this.failing) this.logger?.info('shard counts read again');
        this.failing = false;
        this.current();
      } catch (err) {
        if (!this.failing) this.logger?.warn('could not read the shard counts', { error: (err as Error).message });
        this.failing = true;
        throw err;
      } finally {
        this.reading = undefined;
      }
    })();
    return this.reading;
  }
}
