/**
 * Keeps each shard's BullMQ retry worker taking jobs. After a Redis Cluster failover a worker's
 * blocking connection can stay attached to the node that died and never wake up again, while its
 * delayed jobs fall due; the supervisor looks every CHECK_EVERY_MS for a queue whose earliest delayed
 * job is overdue by more than STUCK_AFTER_MS, or whose waiting jobs have waited that long with none
 * of its jobs active, and replaces that queue's worker (the jobs stay in Redis, so nothing is lost:
 * the new worker takes them).
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

  /**
   * Replaces the workers of queues whose delayed jobs are overdue, or whose waiting jobs have waited
   * that long while no job of the queue is active anywhere (every consumer's blocking connection
   * lost after a failover: the stalled-job check, on another connection, still moves the jobs of a
   * dead worker back to waiting, where nothing takes them).
   */
  async check(now = Date.now()): Promise<void> {
    if (this.checking) return;
    this.checking = true;
    try {
      for (let shard = 0; shard < this.workers.length; shard++) {
        const overdue = await this.overdueMs(shard, now).catch(() => 0);
        if (overdue < STUCK_AFTER_MS) continue;
        this.logger.warn('retry worker stuck: replaced', { shard, overdue_ms: overdue });
        const old = this.workers[shard];
        this.workers[shard] = this.make(shard);
        void this.workers[shard].run();
        await old.close(true).catch(() => undefined);
      }
    } finally {
      this.checking = false;
    }
  }

  /** How long the shard queue's oldest job due to run has been left (0: none is). */
  private async overdueMs(shard: number, now: number): Promise<number> {
    const queue = this.queues.of(shard);
    const dueAt = (j: { timestamp: number; delay?: number }) => j.timestamp + (j.delay ?? 0);
    const [earliest] = await queue.getJobs(['delayed'], 0, 0, true);
    let overdue = earliest ? now - dueAt(earliest) : 0;
    const counts = await queue.getJobCounts('wait', 'active');
    if (counts.wait > 0 && counts.active === 0) {
      const [oldest] = await queue.getJobs(['wait'], 0, 0, true);
      if (oldest) overdue = Math.max(overdue, now - dueAt(oldest));
    }
    return overdue;
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
