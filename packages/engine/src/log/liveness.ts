/**
 * Worker liveness: each worker says it is alive in every shard's liveness set, a lapse time
 * `ttlMs` ahead on the Redis clock, refreshed every third of it. A worker that dies stops
 * refreshing: once its liveness lapsed, live workers claim its pending entries at once
 * (StreamLease.claimFromDead) instead of waiting for the claim-idle time. A live worker's entries
 * are never claimed that way: its liveness never lapses while it runs.
 *
 * On an orderly stop the liveness is made to lapse at once, so whatever a drain left behind is
 * taken over without delay.
 */
import type { Redis } from 'ioredis';
import type { Logger } from '../ops/logger';
import { luaCommands } from '../redis/lua-commands';

export class WorkerLiveness {
  private timer: NodeJS.Timeout | undefined;
  private failing = false;
  /** When (local clock) the last beat that every set took was sent: the liveness holds ttlMs past it. */
  private lastHeldFrom = -Infinity;

  constructor(
    private readonly redis: Redis,
    /** Each shard's liveness set (keys.shard(n).liveness). */
    private readonly sets: string[],
    readonly consumer: string,
    readonly ttlMs: number,
    private readonly logger: Logger,
  ) {}

  /** Says alive once (awaited: registered before any entry is read), then keeps saying it. */
  async start(): Promise<void> {
    await this.beat(this.ttlMs);
    this.timer = setInterval(() => void this.beat(this.ttlMs).catch(() => undefined), Math.max(100, this.ttlMs / 3));
    this.timer.unref();
  }

  /** Stops refreshing and lets the liveness lapse now. */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.beat(0).catch(() => undefined);
  }

  /**
   * Is this worker surely still alive in others' eyes (its liveness cannot have lapsed since the
   * last beat it knows took)? A quarter of the TTL is kept back for the clocks and the beat's round
   * trip. False after a stall of the process (GC pause, CPU starvation): others may have taken it
   * for dead and claimed its work.
   */
  surelyHeld(now = performance.now()): boolean {
    return now < this.lastHeldFrom + this.ttlMs * 0.75;
  }

  private async beat(ttlMs: number): Promise<void> {
    const lua = luaCommands(this.redis);
    const sentAt = performance.now();
    try {
      await Promise.all(this.sets.map((set) => lua.livenessBeat(set, this.consumer, ttlMs)));
      if (ttlMs > 0) this.lastHeldFrom = sentAt;
      else this.lastHeldFrom = -Infinity;
      if (this.failing) this.logger.info('worker liveness refreshed again', { consumer: this.consumer });
      this.failing = false;
    } catch (err) {
      // past the TTL, other workers take this worker's entries over (delivered twice at worst)
      if (!this.failing)
        this.logger.warn('worker liveness refresh failed', { consumer: this.consumer, error: (err as Error).message });
      this.failing = true;
      throw err;
    }
  }
}
