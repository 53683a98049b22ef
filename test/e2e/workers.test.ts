/** Workers sharing the streams (test/suites/shared-workers.ts) on the standalone test Redis. */
import { standaloneBackend } from '../support/backend';
import { sharedWorkers } from '../suites/shared-workers';

jest.setTimeout(120_000);

sharedWorkers(__filename, standaloneBackend());
