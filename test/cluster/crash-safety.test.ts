/** Crash safety (test/suites/crash-safety.ts) on a local Redis Cluster, 16 shards: a worker SIGKILLed mid-burst. */
import { clusterBackend } from '../support/backend';
import { crashSafety } from '../suites/crash-safety';

jest.setTimeout(400_000);

crashSafety(__filename, clusterBackend(), { events: 5_000 });
