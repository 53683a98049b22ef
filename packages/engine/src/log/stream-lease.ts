/**
 * A worker's lease on one shard's event stream, through the consumer group: reading new entries,
 * claiming entries a dead worker left behind, and keeping this worker's own entries fresh so a
 * slow delivery is never claimed (and run twice) while it is still in progress.
 *
 * Crash safety: entries a dead worker held stay pending in the group and are claimed by a live one:
 * at once when that worker's liveness lapsed (log/liveness.ts; XPENDING + XCLAIM of its entries),
 * else (XAUTOCLAIM) once idle for `claimIdleMs`; a live worker refreshes its own (XCLAIM JUSTID).
 */
import { CONSUMER_GROUP } from '@devhooks/core';
import type { Redis } from 'ioredis';
import { luaCommands } from '../redis/lua-commands';

/** An entry as XREADGROUP / XAUTOCLAIM return it: its id and its flat field list. */
export type RawEntry = [string, string[]];

const HEARTBEAT_CHUNK = 1_000;
const CLAIM_COUNT = 200;
/** Entries of a dead consumer are claimed once idle this long (not touched since its last heartbeat). */
const DEAD_MIN_IDLE_MS = 1_000;

export class StreamLease {
  constructor(
    /** Commands (claims, heartbeats, group creation). */
    private readonly redis: Redis,
    /** A connection of its own: XREADGROUP BLOCK holds it. */
    private readonly reader: Redis,
    readonly stream: string,
    readonly consumer: string,
    /** The shard's liveness set (keys.shard(n).liveness); without it, dead workers wait for the idle time. */
    private readonly liveness?: string,
  ) {}

  async ensureGroup(): Promise<void> {
    try {
      await luaCommands(this.redis).groupCreate(this.stream, CONSUMER_GROUP);
    } catch (err) {
      // two workers creating it at once
      if (!String((err as Error).message).includes('BUSYGROUP')) throw err;
    }
  }

  /** New entries for this consumer; null when none came within `blockMs`. */
  async read(count: number, blockMs: number): Promise<RawEntry[] | null> {
    let reply: Array<[string, RawEntry[]]> | null;
    try {
      reply = (await this.reader.xreadgroup(
        'GROUP',
        CONSUMER_GROUP,
        this.consumer,
        'COUNT',
        count,
        'BLOCK',
        blockMs,
        'STREAMS',
        this.stream,
        '>',
      )) as Array<[string, RawEntry[]]> | null;
    } catch (err) {
      // the stream or its group was deleted (its keys cleared by hand, by tests or by the bench): make it again and read on
      if (String((err as Error).message).includes('NOGROUP')) await this.ensureGroup().catch(() => undefined);
      throw err;
    }
    return reply?.[0]?.[1] ?? null;
  }

  /**
   * Claims entries idle in any consumer's hands for `idleMs`, a page at a time; `take` handles each
   * page and says whether to go on (false: this worker is full or stopping).
   */
  async claimIdle(idleMs: number, take: (entries: RawEntry[]) => Promise<boolean>): Promise<void> {
    let cursor = '0-0';
    do {
      const [next, entries] = (await this.redis.xautoclaim(
        this.stream,
        CONSUMER_GROUP,
        this.consumer,
        idleMs,
        cursor,
        'COUNT',
        CLAIM_COUNT,
      )) as [string, RawEntry[], string[]];
      cursor = next;
      // deleted entries come back as null
      if (!(await take(entries.filter((e) => !!e)))) return;
    } while (cursor !== '0-0');
  }

  /**
   * Claims the pending entries of consumers whose liveness lapsed, a page at a time, as `claimIdle`
   * does; false when `take` said to stop.
   */
  async claimFromDead(take: (entries: RawEntry[]) => Promise<boolean>): Promise<boolean> {
    if (!this.liveness) return true;
    const lua = luaCommands(this.redis);
    const dead = await lua.deadConsumers(this.stream, this.liveness!, CONSUMER_GROUP, this.consumer);
    for (const owner of dead) {
      for (;;) {
        const pending = (await this.redis.xpending(
          this.stream,
          CONSUMER_GROUP,
          'IDLE',
          DEAD_MIN_IDLE_MS,
          '-',
          '+',
          CLAIM_COUNT,
          owner,
        )) as Array<[string, string, number, number]>;
        if (!pending.length) break;
        const ids = pending.map((p) => p[0]);
        const claimed = (await this.redis.xclaim(
          this.stream,
          CONSUMER_GROUP,
          this.consumer,
          DEAD_MIN_IDLE_MS,
          ...ids,
        )) as RawEntry[];
        // deleted entries come back as null (and leave the pending list)
        if (!(await take(claimed.filter((e) => !!e)))) return false;
        if (pending.length < CLAIM_COUNT) break;
      }
    }
    return true;
  }

  /** Resets the idle time of entries this consumer holds. */
  async heartbeat(entryIds: string[]): Promise<void> {
    for (let i = 0; i < entryIds.length; i += HEARTBEAT_CHUNK) {
      await this.redis.xclaim(
        this.stream,
        CONSUMER_GROUP,
        this.consumer,
        0,
        ...entryIds.slice(i, i + HEARTBEAT_CHUNK),
        'JUSTID',
      );
    }
  }

  /** Stops a blocked read at once (drain). */
  close(): void {
    this.reader.disconnect();
  }
}
