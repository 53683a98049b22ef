/** The process flows (test/suites/process-flows.ts) on a local Redis Cluster, 16 shards. */
import { clusterBackend } from '../support/backend';
import { processFlows } from '../suites/process-flows';

jest.setTimeout(180_000);

processFlows(__filename, clusterBackend());
