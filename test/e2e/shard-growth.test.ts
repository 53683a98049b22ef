/** Growing DEVHOOKS_SHARDS from 4 to 8 (test/suites/shard-growth.ts) on the standalone test Redis. */
import { standaloneBackend } from '../support/backend';
import { shardGrowth } from '../suites/shard-growth';

jest.setTimeout(180_000);

shardGrowth(__filename, standaloneBackend(), { from: 4 });
