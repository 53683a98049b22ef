/**
 * Deliveries parked behind an open circuit breaker (docs/decisions/0005, "Parked").
 *
 * A delivery the breaker turns away keeps its retry job, delayed until the breaker's longest
 * cooldown at most (the record's `next_attempt_at`), and its id goes into its origin's parked set
 * in its shard (`Keys.shard(n).parked(origin)`). When the origin answers again, the parked jobs are
 * promoted, so they run at once; until then they cost nothing. Any worker wakes them, not only the
 * one whose breaker parked them (it may have died with its breaker): the process whose probe closed
 * its breaker, a process's first answer from the origin, and the answer to a delivery that a
 * breaker turned away (the open period's scout, which comes back whichever worker runs its job).
 * Before, each came back every time the breaker let a probe through, and while it stayed open was
 * turned away again: a job taken, a record read and written, the job moved back, over and over,
 * which on two shared cores delayed the healthy webhooks' deliveries (the bench's isolation phase).
 *
 * Nothing waits forever: a parked job runs at its own time if no wake comes (no answer came, a
 * wake failed); a wake only brings it forward. A promote that finds the job gone, running or
 * already waiting changes nothing. A delivery leaves its parked set only once its job has been
 * promoted: a worker killed in the middle of a wake leaves the rest for the next one (before, a
 * wake took its deliveries off the set first, and one cut short left them to their fallback time).
 */
import { Job } from 'bullmq';
import type { EngineContext } from '../runtime/engine-context';
import { luaCommands } from '../redis/lua-commands';
import { RETRY_JOB_NAME, type RetryJobData } from '../retry/retry-queue';

export interface ParkedDelivery {
  shard: number;
  origin: string;
  id: string;
  /** When its job runs at the latest (ms). */
  runAt: number;
}

/** Deliveries per park or unpark script (Lua's unpack bound is far above this). */
const CHUNK = 500;
/**
 * A wake looks again this much later: a delivery turned away just before the probe closed the
 * breaker is parked by the commit that follows it, after the first pass (ms).
 */
export const WAKE_AGAIN_MS = 2_000;

/** Adds deliveries to their origins' parked sets (one script per shard and origin, in chunks). */
export async function parkDeliveries(
  ctx: Pick<EngineContext, 'redis' | 'keys'>,
  list: ParkedDelivery[],
  now = Date.now(),
): Promise<void> {
  const groups = new Map<string, { key: string; entries: Array<[number, string]> }>();
  for (const p of list) {
    const key = ctx.keys.shard(p.shard).parked(p.origin);
    let g = groups.get(key);
    if (!g) groups.set(key, (g = { key, entries: [] }));
    g.entries.push([p.runAt, p.id]);
  }
  const lua = luaCommands(ctx.redis);
  await Promise.all(
    [...groups.values()].flatMap((g) => {
      const calls: Array<Promise<number>> = [];
      for (let i = 0; i < g.entries.length; i += CHUNK) calls.push(lua.park(g.key, now, g.entries.slice(i, i + CHUNK)));
      return calls;
    }),
  );
}

/** What a wake pass did: jobs it promoted, and deliveries it left parked for the next pass. */
export interface WakeResult {
  woken: number;
  /**
   * Left in the set for the next pass: parked while their job still ran (a retry job parks its
   * delivery when it commits the attempt, before it moves itself back to delayed), so a promote
   * could not bring it forward yet; or Redis did not say where the job is.
   */
  kept: number;
}

/**
 * Promotes the jobs of `origin`'s parked deliveries in every shard (it answers again). A delivery
 * leaves the set only after its job was promoted, or found with nothing to bring forward: a pass
 * cut short (its process killed, Redis gone) leaves the rest parked for the next wake, never
 * stranded until their fallback time minutes later.
 */
export async function wakeParked(
  ctx: Pick<EngineContext, 'redis' | 'keys' | 'shards' | 'queues'>,
  origin: string,
  now = Date.now(),
): Promise<WakeResult> {
  const lua = luaCommands(ctx.redis);
  const result: WakeResult = { woken: 0, kept: 0 };
  for (let shard = 0; shard < ctx.shards; shard++) {
    const key = ctx.keys.shard(shard).parked(origin);
    const queue = ctx.queues.of(shard);
    for (;;) {
      const read = await lua.peekParked(key, now, CHUNK);
      if (!read.length) break;
      const done: Array<[number, string]> = [];
      let kept = 0;
      await Promise.all(
        read.map(([runAt, id]) =>
          // a job object is all promote needs (its id)
          new Job<RetryJobData>(queue, RETRY_JOB_NAME, { deliveryId: id }, {}, id).promote().then(
            () => {
              done.push([runAt, id]);
              result.woken++;
            },
            async () => {
              // not delayed: gone, waiting or retried by hand (nothing to bring forward: taken off);
              // still running the attempt that parked it, or moved back to delayed just after the
              // promote looked, or no answer from Redis (kept: the next pass tries again)
              const state = await queue.getJobState(id).catch(() => undefined);
              if (state === undefined || state === 'active' || state === 'delayed') kept++;
              else done.push([runAt, id]);
            },
          ),
        ),
      );
      // off the set once their jobs moved; one parked again meanwhile (a new time) stays
      if (done.length) await lua.unpark(key, done);
      result.kept += kept;
      // with some kept, the rest of the set waits for the next pass (they would be read again)
      if (kept || read.length < CHUNK) break;
    }
  }
  return result;
}

/**
 * A wake of one origin runs at most this often (ms): every delivery that was parked and comes back
 * with an answer asks for one, and a pass is a script per shard.
 */
export const WAKE_GAP_MS = 1_000;
/** Origins whose last wake this process remembers (a larger map is forgotten: a wake too many). */
const MAX_WAKES_KNOWN = 10_000;

/**
 * Wakes parked deliveries when their receiver answers again (OriginLimiter.onReachable): at once,
 * at most once per WAKE_GAP_MS per origin, and once more shortly after the first.
 */
export class ParkedWaker {
  private readonly again = new Map<string, NodeJS.Timeout>();
  private readonly lastPass = new Map<string, number>();
  private closed = false;

  constructor(
    private readonly ctx: Pick<EngineContext, 'redis' | 'keys' | 'shards' | 'queues' | 'logger' | 'metrics'>,
    private readonly againMs = WAKE_AGAIN_MS,
    private readonly now: () => number = Date.now,
  ) {}

  /** `origin` answers again (OriginLimiter.onReachable). */
  wake(origin: string): void {
    if (this.closed) return;
    const now = this.now();
    const last = this.lastPass.get(origin);
    if (last === undefined || now - last >= WAKE_GAP_MS) {
      if (this.lastPass.size >= MAX_WAKES_KNOWN) this.lastPass.clear();
      this.lastPass.set(origin, now);
      void this.pass(origin);
    }
    this.passAgain(origin);
  }

  /** A pass over `origin` `againMs` from now, unless one is due (not pushed back by later wakes). */
  private passAgain(origin: string): void {
    if (this.closed || this.again.has(origin)) return;
    const t = setTimeout(() => {
      this.again.delete(origin);
      if (this.closed) return;
      this.lastPass.set(origin, this.now());
      void this.pass(origin);
    }, this.againMs);
    t.unref();
    this.again.set(origin, t);
  }

  private async pass(origin: string): Promise<void> {
    try {
      const { woken: n, kept } = await wakeParked(this.ctx, origin);
      // kept while their jobs still ran: another pass once they are delayed
      if (kept) this.passAgain(origin);
      if (n) {
        this.ctx.metrics.parked.inc({ event: 'woken' }, n);
        this.ctx.logger.info('receiver answers again: parked deliveries woken', { origin, deliveries: n });
      }
    } catch (err) {
      // they run at their own time instead
      this.ctx.logger.warn('waking parked deliveries failed', { origin, error: (err as Error).message });
    }
  }

  close(): void {
    this.closed = true;
    for (const t of this.again.values()) clearTimeout(t);
    this.again.clear();
  }
}
