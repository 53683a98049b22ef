/** The worker settings of isolation and takeover: DEVHOOKS_ORIGIN_IN_PROGRESS and DEVHOOKS_WORKER_LIVENESS. */
import { loadWorkerConfig } from '../src/config';

const base = { DEVHOOKS_REDIS_URL: 'redis://127.0.0.1:6379' };

it('reads the per-origin in-progress share and the liveness TTL, with their defaults', () => {
  const d = loadWorkerConfig(base);
  expect(d.livenessMs).toBe(3_000);
  expect(d.maxInProgressPerOrigin).toBeUndefined(); // the engine's default: an eighth of the bound
  const c = loadWorkerConfig({ ...base, DEVHOOKS_WORKER_LIVENESS: '1s', DEVHOOKS_ORIGIN_IN_PROGRESS: '20' });
  expect(c.livenessMs).toBe(1_000);
  expect(c.maxInProgressPerOrigin).toBe(20);
});

it('refuses a liveness TTL under 500ms and values that are not durations or integers', () => {
  expect(() => loadWorkerConfig({ ...base, DEVHOOKS_WORKER_LIVENESS: '100ms' })).toThrow(/DEVHOOKS_WORKER_LIVENESS/);
  expect(() => loadWorkerConfig({ ...base, DEVHOOKS_WORKER_LIVENESS: 'soon' })).toThrow(/DEVHOOKS_WORKER_LIVENESS/);
  expect(() => loadWorkerConfig({ ...base, DEVHOOKS_ORIGIN_IN_PROGRESS: '-3' })).toThrow(/DEVHOOKS_ORIGIN_IN_PROGRESS/);
});
