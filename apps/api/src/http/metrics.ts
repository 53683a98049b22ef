/** API metrics: requests by route and status, and the events in. */
import type { RequestHandler } from 'express';
import { Counter, Histogram, type Registry } from 'prom-client';

export interface ApiMetrics {
  requests: Counter<'method' | 'route' | 'status'>;
  duration: Histogram<'method' | 'route'>;
  eventsAccepted: Counter;
  eventsDuplicate: Counter;
  eventsRejected: Counter<'reason'>;
}

export function apiMetrics(registry: Registry): ApiMetrics {
  return {
    requests: new Counter({
      name: 'devhooks_http_requests_total',
      help: 'API requests by route and status',
      labelNames: ['method', 'route', 'status'],
      registers: [registry],
    }),
    duration: new Histogram({
      name: 'devhooks_http_request_duration_seconds',
      help: 'API request duration by route',
      labelNames: ['method', 'route'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10, 30],
      registers: [registry],
    }),
    eventsAccepted: new Counter({
      name: 'devhooks_events_accepted_total',
      help: 'Events accepted (202) and queued',
      registers: [registry],
    }),
    eventsDuplicate: new Counter({
      name: 'devhooks_events_duplicates_total',
      help: 'Events recognised as repeats within 24 h (counted, not delivered again)',
      registers: [registry],
    }),
    eventsRejected: new Counter({
      name: 'devhooks_events_rejected_total',
      help: 'Events refused, by reason (invalid, too_large, backlog)',
      labelNames: ['reason'],
      registers: [registry],
    }),
  };
}

/** Counts every request under its route template (never the raw path: ids would explode cardinality). */
export function requestMetrics(m: ApiMetrics): RequestHandler {
  return (req, res, next) => {
    const start = performance.now();
    res.on('finish', () => {
      const route = req.route ? `${req.baseUrl}${String(req.route.path)}` : req.baseUrl || 'unmatched';
      m.requests.inc({ method: req.method, route, status: String(res.statusCode) });
      m.duration.observe({ method: req.method, route }, (performance.now() - start) / 1000);
    });
    next();
  };
}
