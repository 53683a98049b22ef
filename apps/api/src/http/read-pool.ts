/**
 * A bounded pool for delivery-log reads, so reads cannot starve ingest on the same process: at most
 * `concurrency` run at once, at most `queue` wait (beyond: 503 with Retry-After), and one caller
 * (API key) holds at most `perCaller` of the running and waiting places (beyond: 429 with
 * Retry-After), so one viewer's loops cannot take every place from the others.
 */
import { ApiError } from './errors';

export interface ReadPoolOptions {
  /** Reads running at once (DEVHOOKS_LOG_READ_CONCURRENCY). */
  concurrency: number;
  /** Reads waiting for a place (DEVHOOKS_LOG_READ_QUEUE). */
  queue: number;
  /** Running and waiting reads of one caller (DEVHOOKS_LOG_READ_PER_KEY). */
  perCaller: number;
}

const RETRY_AFTER_S = '1';

export class ReadPool {
  private running = 0;
  private readonly waiting: Array<() => void> = [];
  private readonly byCaller = new Map<string, number>();

  constructor(readonly options: ReadPoolOptions) {}

  /** Reads running and waiting now. */
  get load(): { running: number; waiting: number } {
    return { running: this.running, waiting: this.waiting.length };
  }

  /** Runs `read` when a place is free; throws the 429/503 to answer when none can be had. */
  async run<T>(caller: string, read: () => Promise<T>): Promise<T> {
    const mine = this.byCaller.get(caller) ?? 0;
    if (mine >= this.options.perCaller) {
      throw new ApiError(
        429,
        'too_many_requests',
        `at most ${this.options.perCaller} delivery-log reads per key at once; retry shortly`,
        undefined,
        { 'Retry-After': RETRY_AFTER_S },
      );
    }
    if (this.running >= this.options.concurrency && this.waiting.length >= this.options.queue) {
      throw new ApiError(503, 'busy', 'too many delivery-log reads in progress; retry shortly', undefined, {
        'Retry-After': RETRY_AFTER_S,
      });
    }
    this.byCaller.set(caller, mine + 1);
    try {
      if (this.running >= this.options.concurrency) await new Promise<void>((r) => this.waiting.push(r));
      else this.running++;
      try {
        return await read();
      } finally {
        // hand the place straight to the next waiter, or free it
        const next = this.waiting.shift();
        if (next) next();
        else this.running--;
      }
    } finally {
      const left = (this.byCaller.get(caller) ?? 1) - 1;
      if (left > 0) this.byCaller.set(caller, left);
      else this.byCaller.delete(caller);
    }
  }
}
