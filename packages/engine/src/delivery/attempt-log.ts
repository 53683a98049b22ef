/**
 * What attempts say in the logs. Every attempt is one line at debug (so `DEVHOOKS_LOG_LEVEL=debug`
 * shows all activity); failing webhooks get one summary line per webhook per interval at warn,
 * instead of a line per failed attempt (20k failed deliveries once made 14.8 MB of logs); attempts
 * cut short by a stall of this process get one summary line too.
 */
import type { Logger } from '../ops/logger';
import type { AttemptOutcome } from './attempt';
import type { Delivery } from './delivery';

interface Failing {
  org_id: string;
  failed_attempts: number;
  deliveries_failed: number;
  last_error: string | null;
  last_status_code: number | null;
}

export class AttemptLog {
  private failing = new Map<string, Failing>();
  /** Attempts cut short by a stall of this process since the last summary (AttemptOutcome.stalled). */
  private stalled = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly logger: Logger,
    private readonly summaryEveryMs = 30_000,
  ) {}

  /** Logs one attempt's outcome (and counts failures for the summary). */
  attempt(d: Delivery, out: AttemptOutcome, extra?: Record<string, unknown>): void {
    const r = out.record;
    if (this.logger.isDebugEnabled()) {
      this.logger.debug(out.outcome === 'deferred' ? 'delivery deferred' : 'delivery attempt', {
        org_id: r.org_id,
        delivery_id: r.id,
        webhook_id: r.webhook_id,
        event_id: d.events.length === 1 ? d.events[0].id : undefined,
        events: d.events.length,
        attempt: r.attempts,
        status: r.status,
        status_code: r.status_code,
        error: r.error,
        next_attempt_at: r.next_attempt_at,
        ...extra,
      });
    }
    if (out.stalled) {
      this.stalled++;
      this.timer ??= setTimeout(() => this.summarize(), this.summaryEveryMs).unref();
      return;
    }
    if (out.outcome === 'deferred' || out.decision.kind === 'succeeded') return;
    let f = this.failing.get(r.webhook_id);
    if (!f) {
      f = { org_id: r.org_id, failed_attempts: 0, deliveries_failed: 0, last_error: null, last_status_code: null };
      this.failing.set(r.webhook_id, f);
    }
    f.failed_attempts++;
    if (out.decision.kind === 'failed') f.deliveries_failed++;
    f.last_error = r.error;
    f.last_status_code = r.status_code;
    this.timer ??= setTimeout(() => this.summarize(), this.summaryEveryMs).unref();
  }

  /** One line per webhook that had failed attempts since the last summary. */
  summarize(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    const failing = this.failing;
    this.failing = new Map();
    if (this.stalled) {
      this.logger.warn('attempt deadlines passed while this process stalled: tried again, no attempt used', {
        attempts: this.stalled,
        interval_ms: this.summaryEveryMs,
      });
      this.stalled = 0;
    }
    for (const [webhook_id, f] of failing) {
      this.logger.warn('webhook attempts failing', { webhook_id, ...f, interval_ms: this.summaryEveryMs });
    }
  }
}
