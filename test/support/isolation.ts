/** The isolation tests' setup: one webhook whose receiver hangs, one healthy, and a burst for both. */
import type { Receiver } from './receiver';
import type { Stack } from './stack';

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
