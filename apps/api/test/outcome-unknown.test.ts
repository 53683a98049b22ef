/**
 * Defect 2 of issue 13: when Redis runs the ingest script and the connection dies before the reply,
 * the API says the outcome is unknown (503 `outcome_unknown`, retry with the same ids), never
 * "nothing was changed"; retrying with the same ids stores nothing twice. When Redis is down before
 * anything is sent, 503 `unavailable` says nothing was changed, and that is true. When Redis takes
 * connections and never answers, requests still get their 503 (API_COMMAND_TIMEOUT_MS), and the API
 * comes back by itself once Redis answers again. Real Redis behind
 * a loopback TCP proxy that drops the script's reply (test/support/redis-proxy.ts); no mocks.
 */
import { startTestApi, type TestApi } from '../../../test/support/api';
import { capturedLogger } from '../../../test/support/engine';
import { RedisProxy } from '../../../test/support/redis-proxy';
import { testPrefix, testRedis } from '../../../test/support/redis';
import { API_COMMAND_TIMEOUT_MS } from '../src/server';
import { sleep, streamLength } from './helpers';
import { hasErrorShape } from './spec-routes';

jest.setTimeout(30_000);
const prefix = testPrefix(__filename);
const redis = testRedis();
let proxy: RedisProxy;
let api: TestApi;
let producer: string;

/** What the API logs (its answers to Redis failures say which path answered). */
const { logger, lines: logged } = capturedLogger('debug');

const alarm = (id: string) => ({ id, type: 'alarm', data: { type: 'X', timestamp: 1 } });
const post = (body: unknown) => api.call('POST', '/v1/events', { token: producer, body });

/** POSTs until Redis (behind the proxy) answers again; the last answer. */
async function postUntilAnswered(body: unknown) {
  for (let i = 0; ; i++) {
    const r = await post(body);
    if (r.status !== 503 || i > 40) return r;
    await sleep(250);
  }
}

beforeAll(async () => {
  proxy = await RedisProxy.start();
  api = await startTestApi(prefix, { DEVHOOKS_REDIS_URL: proxy.url }, { logger });
  const o = await api.org('outcome', 'producer');
  producer = o.key;
  // loads the ingest script, so the cut below drops the script's own reply (not a NOSCRIPT)
  expect((await post(alarm('warm-up'))).status).toBe(202);
});

// a test that fails halfway leaves Redis reachable for the next
afterEach(() => proxy.restore());

afterAll(async () => {
  await api.close();
  await proxy.close();
  redis.disconnect();
});

test('Redis dies after running the script: 503 outcome_unknown; a retry with the same ids adds nothing', async () => {
  const before = await streamLength(redis, prefix);
  const batch = { events: [alarm('unknown-1'), alarm('unknown-2'), alarm('unknown-3')] };
  proxy.cutAfter('unknown-1');
  const r = await post(batch);
  expect(proxy.cutAfterSend).toBe(true);
  expect(r.status).toBe(503);
  expect(hasErrorShape({ status: r.status, headers: Object.fromEntries(r.headers), text: r.text, json: r.body })).toBe(
    true,
  );
  // on a mismatch, the whole answer, what the API logged and what the proxy saw: which path answered
  if (r.body.error?.code !== 'outcome_unknown')
    throw new Error(
      `answered ${JSON.stringify(r.body)}\nthe API logged:\n${logged
        .slice(-40)
        .map((l) => JSON.stringify(l))
        .join('\n')}\n` + `the proxy saw:\n${proxy.events.join('\n')}`,
    );
  expect(r.body.error).toMatchObject({ code: 'outcome_unknown', message: expect.stringMatching(/same event ids/) });
  expect(r.body.error.message).not.toMatch(/nothing was changed/);
  expect(r.headers.get('retry-after')).toBe('5');
  // the events were stored: the answer could not know it
  expect(await streamLength(redis, prefix)).toBe(before + 3);

  proxy.restore();
  const retry = await postUntilAnswered(batch);
  expect({ status: retry.status, body: retry.body }).toMatchObject({ status: 202 });
  expect(retry.body).toEqual({ accepted: 0, duplicates: 3, ids: ['unknown-1', 'unknown-2', 'unknown-3'] });
  expect(await streamLength(redis, prefix)).toBe(before + 3);
});

test('Redis down before anything is sent: 503 unavailable, nothing was changed, and nothing was', async () => {
  // let the API's connection settle after the previous test's cut
  expect((await postUntilAnswered(alarm('settle'))).status).toBe(202);
  const before = await streamLength(redis, prefix);
  proxy.down();
  const r = await post(alarm('down-1'));
  expect(r.status).toBe(503);
  expect(r.body.error).toMatchObject({ code: 'unavailable', message: expect.stringMatching(/nothing was changed/) });
  proxy.restore();
  expect(await streamLength(redis, prefix)).toBe(before);
  const again = await postUntilAnswered(alarm('down-1'));
  expect(again.body).toEqual({ accepted: 1, duplicates: 0, ids: ['down-1'] });
  expect(await streamLength(redis, prefix)).toBe(before + 1);
});

test(
  'Redis takes connections and never answers: 503, nothing changed, and the API comes back by itself',
  async () => {
    expect((await postUntilAnswered(alarm('settle-2'))).status).toBe(202);
    const before = await streamLength(redis, prefix);
    // connections cut; the new ones are taken and never answered (not even the ready check):
    // without a command timeout, this request (and every later one) would wait forever
    proxy.silence();
    const r = await post(alarm('silent-1'));
    expect(r.status).toBe(503);
    expect(r.body.error.code).toBe('unavailable');
    expect(r.body.error.message).toMatch(/nothing was changed/);
    expect(await streamLength(redis, prefix)).toBe(before);
    proxy.restore();
    // the silent connection's ready check times out, and the API reconnects by itself
    const again = await postUntilAnswered(alarm('silent-1'));
    expect(again.body).toEqual({ accepted: 1, duplicates: 0, ids: ['silent-1'] });
    expect(await streamLength(redis, prefix)).toBe(before + 1);
  },
  6 * API_COMMAND_TIMEOUT_MS,
);
