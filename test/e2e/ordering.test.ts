/** Ordered delivery (test/suites/ordering.ts) on the standalone test Redis: 100 devices × 50 events. */
import { standaloneBackend } from '../support/backend';
import { orderingSuite } from '../suites/ordering';

jest.setTimeout(240_000);

orderingSuite(__filename, standaloneBackend(), { devices: 100, eventsPerDevice: 50, failShare: 0.2 });
