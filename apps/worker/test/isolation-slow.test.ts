/**
 * Isolation under slow receivers (issue 13, defect 5): receivers that hang must not take the
 * in-progress slots a worker needs for the others. With four hanging receivers holding their first
 * requests, a burst to a healthy receiver is delivered in full before any hanging attempt times out.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { startStack, type Stack } from '../../../test/support/stack';

/** A receiver that never answers; counts requests, and requests the client gave up on. */
class HangingReceiver {
  requests = 0;
  abandoned = 0;
  private readonly open = new Set<http.ServerResponse>();
  private constructor(private readonly server: http.Server) {}

  static async start(): Promise<HangingReceiver> {
    const server = http.createServer();
    const rx = new HangingReceiver(server);
    server.on('request', (req: http.IncomingMessage, res: http.ServerResponse) => {
      rx.requests++;
      rx.open.add(res);
      req.resume();
      res.on('close', () => {
        rx.open.delete(res);
        rx.abandoned++;
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return rx;
  }

  url(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/hang`;
  }

  async close(): Promise<void> {
    for (const res of this.open) res.destroy();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

const HANGING_EVENTS = 30; // × 4 receivers: more deliveries than the worker's in-progress bound (100)
const HEALTHY_EVENTS = 50;

let s: Stack;
const hanging: HangingReceiver[] = [];
beforeAll(async () => {
  s = await startStack(__filename, {
    worker: {
      DEVHOOKS_DELIVERY_TIMEOUT: '3s',
      DEVHOOKS_MAX_IN_PROGRESS: '100',
      DEVHOOKS_SHUTDOWN_TIMEOUT: '500ms',
      DEVHOOKS_RETRY_SCHEDULE: '0,1h',
    },
    api: { DEVHOOKS_RETRY_SCHEDULE: '0,1h' },
  });
  for (let i = 0; i < 4; i++) hanging.push(await HangingReceiver.start());
});
afterAll(async () => {
  for (const rx of hanging) await rx.close();
  await s.close();
});

async function until(check: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`not reached: ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

it('a burst to a healthy receiver is delivered while four others hang on their first requests', async () => {
  for (const [i, rx] of hanging.entries())
    await s.webhook({
      name: `hangs-${i}`,
      url: rx.url(),
      topics: ['deviceauth'],
      filter: { types: ['device-decommissioned'] },
    });
  await s.webhook({
    name: 'healthy',
    url: s.rx.url('/ok'),
    topics: ['deviceauth'],
    filter: { types: ['device-status-changed'] },
  });

  await s.send({
    events: Array.from({ length: HANGING_EVENTS }, (_, i) => ({
      id: `slow-${i}`,
      type: 'device-decommissioned',
      data: { id: `d${i}` },
    })),
  });
  // every hanging receiver holds requests of the worker's first attempts
  await until(() => hanging.every((rx) => rx.requests >= 8), 'hanging receivers reached');

  await s.send({
    events: Array.from({ length: HEALTHY_EVENTS }, (_, i) => ({
      id: `fast-${i}`,
      type: 'device-status-changed',
      data: { id: `d${i}`, status: 'accepted' },
    })),
  });
  const got = await s.rx.waitOn('/ok', HEALTHY_EVENTS);

  // all delivered, and no hanging attempt has ended yet: the healthy burst did not wait for them
  expect(new Set(got.map((r) => r.headers['webhook-id'])).size).toBe(HEALTHY_EVENTS);
  expect(hanging.map((rx) => rx.abandoned)).toEqual([0, 0, 0, 0]);
});
