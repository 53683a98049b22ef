/**
 * What attempts say in the logs: a debug line per attempt only at debug level, one warn summary
 * per failing webhook per interval, nothing at info for successes or deferrals.
 */
import { Registry } from 'prom-client';
import { capturedLogger, testDelivery, testWebhook } from '../../../../test/support/engine';
import { eventually } from '../../../../test/support/receiver';
import { workerMetrics } from '../ops/metrics';
import { decide, deferred, type AttemptOutcome } from './attempt';
import { AttemptLog } from './attempt-log';
import type { Delivery } from './delivery';

const ctx = { schedule: [0, 1_000, 60_000], metrics: workerMetrics(new Registry()) };
const attempt = (d: Delivery, statusCode: number): AttemptOutcome =>
  decide(ctx, d, { statusCode, durationMs: 2 }, Date.now());

describe('AttemptLog', () => {
  it('at debug: one line per attempt with the delivery context, deferrals named as such', () => {
    const { logger, lines } = capturedLogger('debug');
    const log = new AttemptLog(logger, 60_000);
    const d = testDelivery(testWebhook());
    log.attempt(d, attempt(d, 200), { manual: true });
    log.attempt(d, deferred(d, 1_000));
    expect(lines).toEqual([
      expect.objectContaining({
        level: 'debug',
        message: 'delivery attempt',
        delivery_id: d.id,
        webhook_id: d.target.id,
        org_id: d.target.org_id,
        event_id: d.events[0].id,
        attempt: 1,
        status: 'succeeded',
        status_code: 200,
        manual: true,
      }),
      expect.objectContaining({ level: 'debug', message: 'delivery deferred', attempt: 0 }),
    ]);
    log.summarize();
  });

  it('at info: nothing per attempt, and nothing at all for successes and deferrals', () => {
    const { logger, lines } = capturedLogger('info');
    const log = new AttemptLog(logger, 60_000);
    const d = testDelivery(testWebhook());
    log.attempt(d, attempt(d, 200));
    log.attempt(d, deferred(d, 1_000));
    log.summarize();
    expect(lines).toEqual([]);
  });

  it('one warn summary per failing webhook, counting failed attempts and deliveries failed for good', () => {
    const { logger, lines } = capturedLogger('info');
    const log = new AttemptLog(logger, 60_000);
    const a = testWebhook();
    const b = testWebhook({ org_id: 'org_b' });
    for (let i = 0; i < 3; i++) {
      const d = testDelivery(a);
      log.attempt(d, attempt(d, 503));
    }
    const gone = testDelivery(a);
    log.attempt(gone, attempt(gone, 404));
    const other = testDelivery(b);
    log.attempt(other, attempt(other, 500));
    const fine = testDelivery(testWebhook());
    log.attempt(fine, attempt(fine, 200));
    expect(lines).toEqual([]);

    log.summarize();
    expect(lines).toHaveLength(2);
    expect(lines).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          level: 'warn',
          message: 'webhook attempts failing',
          webhook_id: a.id,
          org_id: a.org_id,
          failed_attempts: 4,
          deliveries_failed: 1,
          last_error: 'http_404',
          last_status_code: 404,
          interval_ms: 60_000,
        }),
        expect.objectContaining({ webhook_id: b.id, org_id: 'org_b', failed_attempts: 1, deliveries_failed: 0 }),
      ]),
    );

    // the next interval starts empty
    log.summarize();
    expect(lines).toHaveLength(2);
  });

  it('summarizes by itself after the interval', async () => {
    const { logger, lines } = capturedLogger('info');
    const log = new AttemptLog(logger, 20);
    const d = testDelivery(testWebhook());
    log.attempt(d, attempt(d, 500));
    await eventually(() => lines.length > 0);
    expect(lines).toEqual([expect.objectContaining({ message: 'webhook attempts failing', failed_attempts: 1 })]);
  });
});
