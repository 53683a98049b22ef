/**
 * Tracing off by default (the OTLP export itself is tested with the real processes, in
 * test/e2e/tracing-otlp.test.ts: the exporter loads node:http by a dynamic import jest cannot run).
 */
import { startTracing, traceContextOf, tracingOn } from './tracing';

describe('startTracing', () => {
  it('without an endpoint does nothing: no spans are made', async () => {
    const stop = startTracing({}, { processName: 'devhooks-test' });
    expect(tracingOn()).toBe(false);
    await stop();
  });

  it('reads a traceparent into a context, and ignores a malformed one', () => {
    const ok = traceContextOf('00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01');
    expect(ok).not.toBe(traceContextOf(undefined));
    expect(traceContextOf('garbage')).toBe(traceContextOf(undefined));
  });
});
