/**
 * Write-behind for the stream consumer: settled deliveries and acknowledgements gather in
 * PendingWrites and are committed every `flushMs`, at once past FLUSH_NOW_AT, one commit at a time.
 * A commit that keeps failing is given up: its entries stay pending in the group and are claimed
 * and redone later (delivery is at least once).
 */
import type { EngineContext } from '../runtime/engine-context';
import { commit, PendingWrites } from './commit';

/** Commit retries before leaving the entries pending. */
const COMMIT_TRIES = 20;
/** Flush at once past this many pending writes. */
const FLUSH_NOW_AT = 512;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export interface CommitLoopOptions {
  /** After each commit, done or given up. */
  onCommitEnd?: (batch: PendingWrites) => void;
}

export class CommitLoop {
  /** What the next commit persists. */
  writes = new PendingWrites();
  private timer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> | undefined;
  private stopping = false;

  constructor(
    private readonly ctx: EngineContext,
    private readonly flushMs: number,
    private readonly o: CommitLoopOptions = {},
  ) {}

  /** Commits soon: within `flushMs`, or at once when many writes wait. */
  schedule(): void {
    if (this.timer) return;
    const delay = this.writes.size >= FLUSH_NOW_AT ? 0 : this.flushMs;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.flush();
    }, delay);
  }

  /** Commits what waits now (drain): fewer retries, the process is going. */
  async final(): Promise<void> {
    this.stopping = true;
    await this.flush();
  }

  private async flush(): Promise<void> {
    while (this.flushing) await this.flushing;
    if (this.writes.empty) return;
    const batch = this.writes;
    this.writes = new PendingWrites();
    this.flushing = (async () => {
      for (let attempt = 1; ; attempt++) {
        try {
          await commit(this.ctx, batch);
          return;
        } catch (err) {
          this.ctx.logger.error('commit failed', { error: (err as Error).message, attempt });
          if (attempt >= COMMIT_TRIES || (this.stopping && attempt >= 3)) return;
          await sleep(Math.min(250 * attempt, 2_000));
        }
      }
    })();
    try {
      await this.flushing;
    } finally {
      this.flushing = undefined;
      this.o.onCommitEnd?.(batch);
    }
    if (this.writes.size) this.schedule();
  }
}
