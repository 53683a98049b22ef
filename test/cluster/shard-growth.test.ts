/** Growing DEVHOOKS_SHARDS from 8 to 16 (test/suites/shard-growth.ts) on a local Redis Cluster. */
import { clusterBackend } from '../support/backend';
import { shardGrowth } from '../suites/shard-growth';

jest.setTimeout(300_000);

shardGrowth(__filename, clusterBackend({ shards: 8 }), { from: 8 });
