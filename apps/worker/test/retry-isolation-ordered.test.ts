/**
 * The retry path's share (retry-isolation.test.ts) and ordered delivery: a chain head told `go`
 * and then put off past its origin's share gives its lease up (docs/decisions/0007-ordered-delivery.md,
 * "Stalls"), so no run of its job waits for it. The receiver hangs longer than the test runs (the
 * delivery timeout is 60 s): no attempt ends, so nothing else gives a lease up.
 */
import { retryShare } from '@devhooks/engine';
import { eventually, Receiver } from '../../../test/support/receiver';
import { RETRY_CONCURRENCY, retryPathStack } from '../../../test/support/isolation';
import type { Stack } from '../../../test/support/stack';

let s: Stack;
beforeAll(async () => {
  s = await retryPathStack(__filename, { deliveryTimeout: '60s' });
});
afterAll(async () => {
  await s.close();
});

it('an ordered head put off past the share is let go: another run of its job is not kept waiting for it', async () => {
  const share = retryShare(RETRY_CONCURRENCY);
  const stuck = await Receiver.start();
  stuck.respond = () => ({ hang: true });
  try {
    const hook = await s.webhook({
      name: 'hangs, ordered',
      url: stuck.url('/o'),
      topics: ['deviceauth'],
      ordering: 'device',
    });
    const N = 24;
    await s.send({
      events: Array.from({ length: N }, (_, i) => ({
        id: `o${i}`,
        type: 'device-decommissioned',
        device_id: `dev-${i}`,
        data: { id: `dev-${i}` },
      })),
    });
    // N chain heads; every job has run once (told `go` by its gate), past the share put off
    const k = s.keys.shard(0);
    const ids = await eventually(async () => {
      const r = await s.api.call('GET', `/v1/webhooks/${hook.id}/deliveries?limit=100`, { token: s.org.key });
      return r.body.total === N ? (r.body.deliveries as Array<{ id: string }>).map((d) => d.id) : undefined;
    }, 20_000);
    await eventually(async () => {
      const ran = await Promise.all(ids.map((id) => s.redis.hget(`${k.queuePrefix}:retries:${id}`, 'processedOn')));
      return ran.every((t) => t !== null) || undefined;
    }, 20_000);
    await stuck.waitFor(share, 10_000);
    // only the attempts in flight hold their heads: the ones put off gave theirs up (before: each
    // kept it, so a run of its job on another worker waited until the lease ran out)
    const holding = await eventually(async () => {
      const n = await s.redis.hlen(k.orderGoing);
      return n <= share ? n : undefined;
    }, 20_000);
    expect(holding).toBeLessThanOrEqual(share);
  } finally {
    await stuck.close();
  }
});
