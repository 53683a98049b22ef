/**
 * Keeps each shard's BullMQ retry worker taking jobs. After a Redis Cluster failover a worker's
 * blocking connection can stay attached to the node that died and never wake up again, while its
 * delayed jobs fall due; the supervisor looks every CHECK_EVERY_MS for a queue whose earliest delayed
 * job is overdue by more than STUCK_AFTER_MS and replaces that queue's worker (the jobs stay in
 * Redis, so nothing is lost: the new worker takes them).
 */
import type { Worker } from 'bullmq';
import type { Logger } from '../ops/logger';
import type { RetryJobData, RetryQueues } from './retry-queue';

const CHECK_EVERY_MS = 5_000;
const STUCK_AFTER_MS = 15_000;

export class RetryWorkers {
  private readonly workers: Array<Worker<RetryJobData>>;
  private timer: NodeJS.Timeout | undefined;
  private checking = false;

  constructor(
    private readonly queues: RetryQueues,
    /** Makes the (not yet running) worker of a shard's queue. */
    private readonly make: (shard: number) => Worker<RetryJobData>,
    private readonly logger: Logger,
  ) {
    this.workers = queues.all.map((_, shard) => make(shard));
  }

  start(): void {
    for (const w of this.workers) void w.run();
    this.timer = setInterval(() => void this.check(), CHECK_EVERY_MS);
    this.timer.unref();
  }

  /** Replaces the workers of queues whose delayed jobs are overdue. */
  async check(now = Date.now()): Promise<void> {
    if (this.checking) return;
    this.checking = true;
    try {
      for (let shard = 0; shard < this.workers.length; shard++) {
        const [earliest] = await this.queues
          .of(shard)
          .getJobs(['delayed'], 0, 0, true)
          .catch(() => []);
        if (!earliest) continue;
        const due = earliest.timestamp + (earliest.delay ?? 0);
        if (now - due < STUCK_AFTER_MS) continue;
        this.logger.warn('retry worker stuck: replaced', { shard, overdue_ms: now - due });
        const old = this.workers[shard];
        this.workers[shard] = this.make(shard);
        void this.workers[shard].run();
        await old.close(true).catch(() => undefined);
      }
    } finally {
      this.checking = false;
    }
  }

  /** Closes every worker: gracefully within `deadlineMs`, then by force. */
  async close(deadlineMs: number): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await Promise.all(
      this.workers.map(async (w) => {
        const graceful = w.close();
        const timer = new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), deadlineMs).unref());
        if ((await Promise.race([graceful.then(() => 'ok' as const), timer])) === 'timeout') await w.close(true);
      }),
    );
  }
}
