/** Workers sharing the streams (test/suites/shared-workers.ts) on a local Redis Cluster, 16 shards. */
import { clusterBackend } from '../support/backend';
import { sharedWorkers } from '../suites/shared-workers';

jest.setTimeout(180_000);

sharedWorkers(__filename, clusterBackend());
