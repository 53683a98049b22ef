/** The process flows (test/suites/process-flows.ts) on the standalone test Redis. */
import { standaloneBackend } from '../support/backend';
import { processFlows } from '../suites/process-flows';

jest.setTimeout(120_000);

processFlows(__filename, standaloneBackend());
