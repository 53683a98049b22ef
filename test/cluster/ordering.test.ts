/** Ordered delivery (test/suites/ordering.ts) on a local Redis Cluster, 16 shards: 100 devices × 50 events. */
import { clusterBackend } from '../support/backend';
import { orderingSuite } from '../suites/ordering';

jest.setTimeout(300_000);

orderingSuite(__filename, clusterBackend(), { devices: 100, eventsPerDevice: 50, failShare: 0.2 });
