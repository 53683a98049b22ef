/**
 * Isolation on the retry path (issue 13, defect 5): a receiver that hangs may hold no more than its
 * share of a retry worker's job slots (retryShare: an eighth of DEVHOOKS_RETRY_CONCURRENCY); past
 * it, its jobs are put off without using an attempt, and the other webhooks' retries go on. Before
 * the share, the hanging receiver's attempts took every job slot (16 here), the others' retries
 * piled up behind them, and all ran at once when the hanging attempts timed out.
 */
import { retryShare } from '@devhooks/engine';
import { eventually, Receiver } from '../../../test/support/receiver';
import { decommissions, hangingAndHealthy, RETRY_CONCURRENCY, retryPathStack } from '../../../test/support/isolation';
import type { Stack } from '../../../test/support/stack';

let s: Stack;
let hanging: Receiver;
beforeAll(async () => {
  s = await retryPathStack(__filename, { deliveryTimeout: '2s' });
  hanging = await Receiver.start();
  hanging.respond = () => ({ hang: true });
});
afterAll(async () => {
  await s.close();
  await hanging.close();
});

interface Row {
  id: string;
  status: string;
  attempts: number;
  next_attempt_at: string | null;
}

it('a hanging receiver holds at most its share of the retry slots; the healthy webhook gets every event', async () => {
  const share = retryShare(RETRY_CONCURRENCY);
  expect(share).toBe(2);
  const { bad, good } = await hangingAndHealthy(s, hanging);
  const N = 24;
  await s.send(decommissions(N, 'r'));
  await s.rx.waitOn('/ok', N, 30_000);
  await hanging.waitFor(share, 10_000);
  // the hanging receiver never saw more than its share at once (before: every job slot, 16)
  expect(hanging.maxOpen).toBeGreaterThanOrEqual(1);
  expect(hanging.maxOpen).toBeLessThanOrEqual(share);
  // the rest were put off, no attempt used, with the time they run next
  const rows = await eventually(async () => {
    const r = await s.api.call('GET', `/v1/webhooks/${bad.id}/deliveries?limit=100`, { token: s.org.key });
    const list = r.body.deliveries as Row[];
    return r.body.total === N && list.some((d) => d.attempts === 0 && d.next_attempt_at) ? list : undefined;
  }, 20_000);
  const putOff = rows.filter((d) => d.attempts === 0);
  expect(putOff.length).toBeGreaterThan(0);
  for (const d of putOff) {
    expect(d.status).toBe('pending');
    expect(d.next_attempt_at).not.toBeNull();
  }
  // the board shows a job put off again when it ran (the retry worker's put-off, after the fan-out's
  // first) as it stands: its next_attempt_at moves on, and a line says why nothing was sent
  const queue = s.worker.runtime.context.queues.of(0);
  const firstSeen = new Map<string, number>();
  const moved = await eventually(async () => {
    for (const d of putOff) {
      const job = await queue.getJob(d.id);
      const at = job?.data.next_attempt_at ? Date.parse(job.data.next_attempt_at) : undefined;
      if (at === undefined) continue;
      const first = firstSeen.get(d.id);
      if (first === undefined) firstSeen.set(d.id, at);
      const { logs } = await queue.getJobLogs(d.id);
      const lines = logs.filter((l) => l.startsWith('no attempt made (put off on our side'));
      if (first !== undefined && at > first && lines.length >= 2) return job!;
    }
    return undefined;
  }, 20_000);
  expect(moved.data).toMatchObject({ attempt: 0, webhook_id: bad.id });
  const ok = await s.api.call('GET', `/v1/webhooks/${good.id}/deliveries?status=succeeded`, { token: s.org.key });
  expect(ok.body.total).toBe(N);
});
