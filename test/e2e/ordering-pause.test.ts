/**
 * Ordered delivery (test/suites/ordering.ts) through stalls: besides the SIGKILL, the two live
 * workers are frozen (SIGSTOP), overlapping, past their 1 s liveness and let go on eight times
 * mid-run, while answers take up to 300 ms, so each is taken for dead with attempts in hand
 * (docs/decisions/0007-ordered-delivery.md, "Stalls").
 */
import { standaloneBackend } from '../support/backend';
import { orderingSuite } from '../suites/ordering';

jest.setTimeout(300_000);

orderingSuite(__filename, standaloneBackend(), {
  devices: 100,
  eventsPerDevice: 50,
  failShare: 0.2,
  pauses: 8,
  answerDelayMs: 300,
});
