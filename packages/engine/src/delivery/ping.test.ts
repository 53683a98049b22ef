/**
 * Ping over a real Redis (docs/contract.md §3): the API side appends the ping and waits on one
 * shared blocking connection; the worker side publishes first-attempt results in a commit pipeline.
 */
import { deliveryId } from '@devhooks/core';
import { testWebhook } from '../../../../test/support/engine';
import { redisForTestFile, testRedis } from '../../../../test/support/redis';
import { decodeEvent } from '../log/stream-codec';
import { Pings, queuePingResults, type PingResult } from './ping';

const { keys, redis } = redisForTestFile(__filename);
let pings: Pings;

beforeEach(() => {
  pings = new Pings(redis, testRedis({ lazy: true }), keys, 1);
});
afterEach(() => pings.close());

const result = (id: string, over: Partial<PingResult> = {}): PingResult => ({
  delivery_id: id,
  status: 'succeeded',
  status_code: 200,
  duration_ms: 4,
  error: null,
  ...over,
});

/** The worker side: publishes results as a commit does. */
async function publish(...results: PingResult[]): Promise<void> {
  const p = redis.pipeline();
  queuePingResults(p, keys, results);
  await p.exec();
}

describe('Pings', () => {
  it('send appends a ping aimed at the webhook; wait resolves with the published result', async () => {
    const w = testWebhook({ name: 'pinged' });
    const id = await pings.send(w);
    const [[entryId, fields]] = await redis.xrange(keys.shard(0).stream, '-', '+');
    expect(id).toBe(deliveryId(entryId, w.id, 1));
    const event = decodeEvent(fields);
    expect(event).toMatchObject({ org: w.org_id, type: 'ping', topic: 'ping', webhook: w.id });
    expect(event.id).toMatch(/^ping_/);
    expect(JSON.parse(event.data)).toMatchObject({ id: w.id, name: 'pinged' });

    const waiting = pings.wait(id, 10_000);
    await publish(result(id, { status: 'failed', status_code: 500, error: 'http_500' }));
    expect(await waiting).toEqual(result(id, { status: 'failed', status_code: 500, error: 'http_500' }));
  });

  it('serves several waiters at once, each getting its own result', async () => {
    const ids = ['dlv_a_1', 'dlv_a_2', 'dlv_a_3'];
    const waiting = ids.map((id) => pings.wait(id, 10_000));
    await publish(result(ids[2], { status_code: 202 }), result(ids[0], { status_code: 200 }));
    await publish(result(ids[1], { status_code: 204 }));
    expect((await Promise.all(waiting)).map((r) => r?.status_code)).toEqual([200, 204, 202]);
  });

  it('takes a result published before the wait began', async () => {
    await publish(result('dlv_early'));
    expect(await pings.wait('dlv_early', 10_000)).toEqual(result('dlv_early'));
  });

  it('resolves undefined when no result comes in time', async () => {
    expect(await pings.wait('dlv_never', 50)).toBeUndefined();
  });

  it('close resolves every waiter with undefined; later waits resolve at once', async () => {
    const waiting = [pings.wait('dlv_c_1', 60_000), pings.wait('dlv_c_2', 60_000)];
    pings.close();
    expect(await Promise.all(waiting)).toEqual([undefined, undefined]);
    expect(await pings.wait('dlv_c_3', 60_000)).toBeUndefined();
  });

  it('published results expire', async () => {
    await publish(result('dlv_ttl'));
    const ttl = await redis.pttl(keys.pingResult('dlv_ttl'));
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(120_000);
  });
});
