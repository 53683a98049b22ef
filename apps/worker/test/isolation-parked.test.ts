/**
 * Deliveries parked past the share of a receiver that hangs (issue 13, defect 5; ADR 0005
 * "Parked"): with its share of in-progress slots held by attempts that hang, the worker parks what
 * comes next for it (no attempt used, its retry job delayed 30–60 s at most)
 * instead of putting it off through the retry queue again and again; when the receiver answers
 * again, the parked deliveries go out at once, not when their fallback time comes, and not as attempts by hand.
 */
import { eventually, Receiver } from '../../../test/support/receiver';
import { startStack, type Stack } from '../../../test/support/stack';

const SHARE = 13; // DEVHOOKS_MAX_IN_PROGRESS 100: an eighth of it per origin
const PARKED = 20;

let s: Stack;
let slow: Receiver;
beforeAll(async () => {
  s = await startStack(__filename, {
    worker: {
      DEVHOOKS_DELIVERY_TIMEOUT: '20s',
      DEVHOOKS_MAX_IN_PROGRESS: '100',
      DEVHOOKS_SHUTDOWN_TIMEOUT: '500ms',
      DEVHOOKS_RETRY_SCHEDULE: '0,1h',
    },
    api: { DEVHOOKS_RETRY_SCHEDULE: '0,1h' },
  });
  slow = await Receiver.start();
  slow.respond = () => ({ hang: true });
});
afterAll(async () => {
  await s.close();
  await slow.close();
});

interface Listed {
  id: string;
  status: string;
  attempts: number;
  next_attempt_at: string | null;
}

const events = (from: number, n: number) => ({
  events: Array.from({ length: n }, (_, i) => ({
    id: `p-${from + i}`,
    type: 'device-decommissioned',
    data: { id: `d${from + i}` },
  })),
});

it('parks what comes past the share of a receiver that hangs, and sends it as soon as the receiver answers', async () => {
  const hook = await s.webhook({
    name: 'slow',
    url: slow.url('/slow'),
    topics: ['deviceauth'],
    filter: { types: ['device-decommissioned'] },
  });
  // the worker has seen a receiver answer: before any answer at all, a receiver that hangs cannot
  // be told from the worker being too slow to read its answers (then it is put off, not parked)
  await s.webhook({
    name: 'healthy',
    url: s.rx.url('/ok'),
    topics: ['deviceauth'],
    filter: { types: ['device-status-changed'] },
  });
  await s.send({ events: [{ id: 'ok-0', type: 'device-status-changed', data: { id: 'd0', status: 'accepted' } }] });
  await s.rx.waitOn('/ok', 1);
  const list = async (): Promise<Listed[]> => {
    const r = await s.api.call('GET', `/v1/webhooks/${hook.id}/deliveries?limit=100`, { token: s.org.key });
    return r.body.deliveries;
  };

  // the share fills with attempts that hang, and they run past the 1 s that makes an origin slow
  await s.send(events(0, SHARE));
  await slow.waitFor(SHARE);
  await new Promise((r) => setTimeout(r, 1_500));

  const sentAt = Date.now();
  await s.send(events(SHARE, PARKED));
  const parked = await eventually(async () => {
    const l = (await list()).filter((d) => d.attempts === 0 && d.status === 'pending' && d.next_attempt_at);
    return l.length === PARKED ? l : undefined;
  });
  // parked: no attempt used, and nothing brings them back before their fallback time (30–60 s) but
  // a wake; no request reached the receiver past its share
  for (const d of parked) expect(Date.parse(d.next_attempt_at!) - sentAt).toBeGreaterThan(29_000);
  expect(slow.requests).toHaveLength(SHARE);
  const inSet = await s.redis.zcard(s.keys.shard(0).parked(new URL(slow.url()).origin));
  expect(inSet).toBe(PARKED);

  // the receiver answers the requests it held, and answers at once from now on
  slow.respond = undefined;
  expect(slow.answerHanging()).toBe(SHARE);
  const done = await eventually(async () => {
    const l = await list();
    return l.length === SHARE + PARKED && l.every((d) => d.status === 'succeeded') ? l : undefined;
  }, 15_000);
  expect(new Set(slow.requests.map((r) => r.headers['webhook-id'])).size).toBe(SHARE + PARKED);

  // woken, not retried by hand: no attempt reads as manual
  const ids = new Set(parked.map((d) => d.id));
  for (const d of done.filter((x) => ids.has(x.id))) {
    const r = await s.api.call('GET', `/v1/deliveries/${d.id}`, { token: s.org.key });
    expect(r.body.attempts).toBe(1);
    expect(r.body.attempt_log.map((a: { trigger?: string }) => a.trigger ?? 'scheduled')).toEqual(['scheduled']);
  }
  expect(await s.redis.exists(s.keys.shard(0).parked(new URL(slow.url()).origin))).toBe(0);
});
