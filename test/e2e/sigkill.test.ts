/** Crash safety (test/suites/crash-safety.ts) on the standalone test Redis, with 10,000 events. */
import { standaloneBackend } from '../support/backend';
import { crashSafety } from '../suites/crash-safety';

jest.setTimeout(400_000);

crashSafety(__filename, standaloneBackend(), { events: 10_000 });
