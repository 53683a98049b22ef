/**
 * `devhooks_endpoint_in_flight` with a bounded number of series: receiver origins are unbounded (one
 * per webhook URL's host), so only the `top` origins with the most requests in flight get a series of
 * their own, and the rest are summed under `origin="other"` (DEVHOOKS_METRICS_TOP_ORIGINS, default 20).
 * The hot path only updates a map; the series are chosen at scrape time.
 */
import { Gauge, type Registry } from 'prom-client';

/** The label of the series that sums every origin outside the top ones. */
export const OTHER_ORIGINS = 'other';

export class InFlightByOrigin {
  private readonly counts = new Map<string, number>();

  constructor(
    /** Origins with a series of their own. */
    public top: number,
  ) {}

  /** The origin limiter's callback: requests in flight to `origin` are now `n`. */
  set(origin: string, n: number): void {
    if (n > 0) this.counts.set(origin, n);
    else this.counts.delete(origin);
  }

  /** The series to export: the `top` busiest origins (ties by name), then the rest as `other` when any. */
  series(): Array<[origin: string, inFlight: number]> {
    const all = [...this.counts].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1));
    const kept = all.slice(0, this.top);
    const rest = all.slice(this.top).reduce((sum, [, n]) => sum + n, 0);
    if (all.length > this.top) kept.push([OTHER_ORIGINS, rest]);
    return kept;
  }

  /** The gauge, filled from `series()` at each scrape (a series that left the top is dropped). */
  gauge(registry: Registry): Gauge<'origin'> {
    const series = () => this.series();
    return new Gauge({
      name: 'devhooks_endpoint_in_flight',
      help: 'Requests in flight per receiver origin: the busiest DEVHOOKS_METRICS_TOP_ORIGINS, the rest as origin="other"',
      labelNames: ['origin'],
      registers: [registry],
      collect() {
        this.reset();
        for (const [origin, n] of series()) this.set({ origin }, n);
      },
    });
  }
}
