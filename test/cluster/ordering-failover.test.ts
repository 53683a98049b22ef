/**
 * Ordered delivery (test/suites/ordering.ts) through a Redis failover: on a local Redis Cluster
 * (16 shards), a worker is SIGKILLed and then the master holding the most shards; its replica takes
 * over. Every device's accepted events are still exactly its acceptance order. 50 devices × 40 events.
 */
import { clusterBackend } from '../support/backend';
import { orderingSuite } from '../suites/ordering';

jest.setTimeout(300_000);

orderingSuite(__filename, clusterBackend(), { devices: 50, eventsPerDevice: 40, failShare: 0.2, failover: true });
