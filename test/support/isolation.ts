/** The isolation tests' setup: one webhook whose receiver hangs, one healthy, and a burst for both. */
import type { Receiver } from './receiver';
import { startStack, type Stack } from './stack';

/** Retry job slots of the retry-path isolation tests' worker. */
export const RETRY_CONCURRENCY = 16;
// the first step is a delay: every first attempt runs in the retry worker
const RETRY_FIRST_SCHEDULE = '300ms,1h';

/** A stack whose every first attempt runs in the retry worker (RETRY_CONCURRENCY job slots). */
export function retryPathStack(file: string, o: { deliveryTimeout: string }): Promise<Stack> {
  return startStack(file, {
    worker: {
      DEVHOOKS_DELIVERY_TIMEOUT: o.deliveryTimeout,
      DEVHOOKS_ENDPOINT_CONCURRENCY: '64',
      DEVHOOKS_RETRY_CONCURRENCY: String(RETRY_CONCURRENCY),
      DEVHOOKS_RETRY_SCHEDULE: RETRY_FIRST_SCHEDULE,
    },
    api: { DEVHOOKS_RETRY_SCHEDULE: RETRY_FIRST_SCHEDULE },
  });
}

/** A webhook on `hanging` and one on the stack's own (healthy) receiver, both on `deviceauth`. */
export async function hangingAndHealthy(s: Stack, hanging: Receiver) {
  const bad = await s.webhook({ name: 'hangs', url: hanging.url('/hang'), topics: ['deviceauth'] });
  const good = await s.webhook({ name: 'healthy', url: s.rx.url('/ok'), topics: ['deviceauth'] });
  return { bad, good };
}

/** `n` Mender decommission events (one delivery per `deviceauth` webhook each), ids `<prefix><i>`. */
export const decommissions = (n: number, prefix: string) => ({
  events: Array.from({ length: n }, (_, i) => ({
    id: `${prefix}${i}`,
    type: 'device-decommissioned',
    data: { id: `d${i}` },
  })),
});
