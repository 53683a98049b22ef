/**
 * One attempt and the decision after it (docs/contract.md §6): `decide` for every kind of answer,
 * deferrals, deliveries ended without an attempt, the request headers, and `attemptDelivery`
 * against a loopback receiver.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Registry } from 'prom-client';
import { verifyMender, verifyMist, verifyStandard } from '@devhooks/core';
import {
  counterValue,
  signedWebhook,
  testDelivery,
  testEngine,
  testWebhook,
  type TestEngine,
} from '../../../../test/support/engine';
import { Receiver } from '../../../../test/support/receiver';
import { redisForTestFile } from '../../../../test/support/redis';
import { workerMetrics } from '../ops/metrics';
import { MAX_ATTEMPT_LOG, type AttemptRecord } from '../stores/delivery-log';
import { toTarget } from '../stores/webhook-directory';
import { attemptDelivery, decide, deferred, endedWithout, requestHeaders } from './attempt';
import type { Delivery } from './delivery';
import { Sender } from './sender';

const SCHEDULE = [0, 1_000, 60_000];
const registry = new Registry();
const ctx = { schedule: SCHEDULE, metrics: workerMetrics(registry) };
const T0 = Date.parse('2026-01-01T10:00:00Z');
const END = T0 + 40;

const answer = (statusCode: number, over: Record<string, unknown> = {}) => ({ statusCode, durationMs: 40, ...over });
const failure = (error: 'timeout' | 'connection_refused' | 'blocked_address' | 'invalid_url' | 'circuit_open') => ({
  error,
  durationMs: 0,
});
const fresh = () => testDelivery(testWebhook());

describe('decide', () => {
  it('2xx succeeds: record succeeded, one attempt logged, no next attempt', async () => {
    const d = fresh();
    const before = await counterValue(registry, 'devhooks_delivery_attempts_total', { outcome: 'success' });
    const out = decide(ctx, d, answer(204, { responseBody: 'ok' }), T0, END);
    expect(out.decision).toEqual({ kind: 'succeeded' });
    expect(out.outcome).toBe('success');
    expect(out.record).toMatchObject({
      id: d.id,
      status: 'succeeded',
      attempts: 1,
      status_code: 204,
      error: null,
      next_attempt_at: null,
      updated_at: new Date(END).toISOString(),
    });
    expect(out.record.attempt_log).toEqual([
      { at: new Date(T0).toISOString(), status_code: 204, duration_ms: 40, error: null, response_body: 'ok' },
    ]);
    expect(await counterValue(registry, 'devhooks_delivery_attempts_total', { outcome: 'success' })).toBe(before + 1);
  });

  it.each([408, 425, 429, 500, 502, 503, 504, 599])('%i is retried on the schedule, using an attempt', (status) => {
    const out = decide(ctx, fresh(), answer(status), T0, END);
    expect(out.outcome).toBe('retry');
    expect(out.decision).toMatchObject({ kind: 'retry', consumed: true });
    const delay = (out.decision as { delayMs: number }).delayMs;
    // the second step (1 s) with ±20 % jitter
    expect(delay).toBeGreaterThanOrEqual(800);
    expect(delay).toBeLessThanOrEqual(1_200);
    expect(out.record).toMatchObject({ status: 'pending', attempts: 1, status_code: status, error: `http_${status}` });
    expect(out.record.next_attempt_at).toBe(new Date(END + delay).toISOString());
  });

  it.each([501, 400, 401, 403, 404, 422, 301, 302])('%i fails for good without disabling', (status) => {
    const out = decide(ctx, fresh(), answer(status), T0, END);
    expect(out.outcome).toBe('fail');
    expect(out.decision).toEqual({ kind: 'failed' });
    expect(out.record).toMatchObject({ status: 'failed', error: `http_${status}`, next_attempt_at: null });
  });

  it('410 fails and disables the webhook', () => {
    const out = decide(ctx, fresh(), answer(410), T0, END);
    expect(out.outcome).toBe('fail_disable');
    expect(out.decision).toEqual({ kind: 'failed', disable: 'the endpoint answered 410 Gone' });
    expect(out.record).toMatchObject({ status: 'failed', error: 'http_410', status_code: 410 });
  });

  it.each(['timeout', 'connection_refused'] as const)('a network error (%s) is retried', (error) => {
    const out = decide(ctx, fresh(), { error, errorMessage: 'no answer', durationMs: 5 }, T0, END);
    expect(out.decision).toMatchObject({ kind: 'retry', consumed: true });
    expect(out.record).toMatchObject({ status: 'pending', status_code: null, error });
    expect(out.record.attempt_log[0]).toMatchObject({ error, status_code: null, error_message: 'no answer' });
  });

  it.each(['blocked_address', 'invalid_url'] as const)('a policy error (%s) fails at the first attempt', (error) => {
    const out = decide(ctx, fresh(), failure(error), T0, END);
    expect(out.decision).toEqual({ kind: 'failed' });
    expect(out.record).toMatchObject({ status: 'failed', attempts: 1, error, next_attempt_at: null });
  });

  it('circuit_open counts as an attempt, is retried, and says why in words', () => {
    const out = decide(ctx, fresh(), failure('circuit_open'), T0, END);
    expect(out.decision).toMatchObject({ kind: 'retry', consumed: true });
    expect(out.record).toMatchObject({ attempts: 1, error: 'circuit_open' });
    expect(out.record.attempt_log[0].error_message).toMatch(/circuit breaker open/);
  });

  it('circuit_open: the next attempt waits at least until the breaker lets one through', () => {
    // the schedule's step would be 1 s ±20 %; the breaker opens again to attempts in 10 s
    const out = decide(ctx, fresh(), failure('circuit_open'), T0, END, { notBeforeMs: 10_000 });
    expect(out.decision).toMatchObject({ kind: 'retry', delayMs: 10_000, consumed: true });
    expect(out.record.next_attempt_at).toBe(new Date(END + 10_000).toISOString());
    // the schedule's step when it is the longer
    const later = decide(ctx, fresh(), failure('circuit_open'), T0, END, { notBeforeMs: 100 });
    expect((later.decision as { delayMs: number }).delayMs).toBeGreaterThanOrEqual(800);
  });

  it('honours Retry-After (seconds or an HTTP date) and caps it at the step after next', () => {
    const after3s = decide(ctx, fresh(), answer(503, { retryAfter: '3' }), T0, END);
    expect(after3s.decision).toEqual({ kind: 'retry', delayMs: 3_000, consumed: true, retryAfterMs: 3_000 });

    const date = new Date(END + 10_000).toUTCString();
    const byDate = decide(ctx, fresh(), answer(429, { retryAfter: date }), T0, END);
    expect((byDate.decision as { delayMs: number }).delayMs).toBeGreaterThan(9_000);
    expect((byDate.decision as { delayMs: number }).delayMs).toBeLessThanOrEqual(10_000);

    const tooLong = decide(ctx, fresh(), answer(503, { retryAfter: '3600' }), T0, END);
    expect(tooLong.decision).toEqual({ kind: 'retry', delayMs: 60_000, consumed: true, retryAfterMs: 3_600_000 });
    expect(tooLong.record.next_attempt_at).toBe(new Date(END + 60_000).toISOString());
  });

  it('the last attempt of the schedule fails for good, whatever the answer', () => {
    let d: Delivery = fresh();
    for (let i = 1; i < SCHEDULE.length; i++) {
      const out = decide(ctx, d, answer(503), T0, END);
      expect(out.decision.kind).toBe('retry');
      d = { ...d, record: out.record };
    }
    const last = decide(ctx, d, answer(503, { retryAfter: '1' }), T0, END);
    expect(last.decision).toEqual({ kind: 'failed' });
    expect(last.record).toMatchObject({ status: 'failed', attempts: SCHEDULE.length, error: 'http_503' });
    expect(last.record.attempt_log).toHaveLength(SCHEDULE.length);
  });

  it(`keeps at most ${MAX_ATTEMPT_LOG} attempts in the log, dropping the oldest, and leaves the input alone`, () => {
    const d = fresh();
    const log: AttemptRecord[] = Array.from({ length: MAX_ATTEMPT_LOG }, (_, i) => ({
      at: new Date(T0 - 1_000 * (MAX_ATTEMPT_LOG - i)).toISOString(),
      status_code: 500,
      duration_ms: i,
      error: 'http_500',
    }));
    const record = { ...decide(ctx, d, answer(500), T0, END).record, attempts: 1, attempt_log: log };
    const out = decide(ctx, { ...d, record, trigger: 'manual' }, answer(200), T0, END);
    expect(out.record.attempt_log).toHaveLength(MAX_ATTEMPT_LOG);
    expect(out.record.attempt_log[0].duration_ms).toBe(1);
    expect(out.record.attempt_log.at(-1)).toMatchObject({ status_code: 200, trigger: 'manual' });
    expect(record.attempt_log).toHaveLength(MAX_ATTEMPT_LOG);
    expect(record.attempt_log.at(-1)!.status_code).toBe(500);
  });
});

describe('deferred', () => {
  it('puts a new delivery off without using an attempt', () => {
    const d = fresh();
    const out = deferred(d, 5_000, T0);
    expect(out.outcome).toBe('deferred');
    expect(out.decision).toEqual({ kind: 'retry', delayMs: 5_000, consumed: false });
    expect(out.record).toMatchObject({ id: d.id, status: 'pending', attempts: 0, attempt_log: [] });
    expect(out.record.next_attempt_at).toBe(new Date(T0 + 5_000).toISOString());
  });

  it('keeps the attempts of a delivery that has a record', () => {
    const d = fresh();
    const first = decide(ctx, d, answer(503), T0, END);
    const out = deferred({ ...d, record: first.record }, 2_000, END);
    expect(out.record).toMatchObject({ attempts: 1, status: 'pending', error: 'http_503' });
    expect(out.record.attempt_log).toHaveLength(1);
    expect(out.record.next_attempt_at).toBe(new Date(END + 2_000).toISOString());
  });
});

describe('endedWithout', () => {
  it('fails the record with the given error and no next attempt', () => {
    const d = fresh();
    const pending = decide(ctx, d, answer(503), T0, END).record;
    const out = endedWithout(pending, 'webhook_deleted', END + 1);
    expect(out.decision).toEqual({ kind: 'failed' });
    expect(out.record).toMatchObject({
      status: 'failed',
      error: 'webhook_deleted',
      next_attempt_at: null,
      attempts: 1,
    });
    expect(pending.status).toBe('pending');
  });
});

describe('requestHeaders', () => {
  const asObject = (flat: string[]) =>
    Object.fromEntries(flat.flatMap((_, i) => (i % 2 ? [] : [[flat[i], flat[i + 1]]])));

  it('without a secret: content-type, user-agent, own headers, webhook-id and timestamp, no signature', () => {
    const d = testDelivery(testWebhook({ headers: { 'X-Tenant': 't1' } }));
    const h = asObject(requestHeaders(d, 1_700_000_000));
    expect(h).toMatchObject({
      'content-type': 'application/json',
      'x-tenant': 't1',
      'webhook-id': d.messageId,
      'webhook-timestamp': '1700000000',
    });
    expect(h['user-agent']).toMatch(/^devhooks\//);
    expect(Object.keys(h).filter((k) => /signature/.test(k))).toEqual([]);
  });

  it('with a standard secret: a webhook-signature that verifies', () => {
    const w = signedWebhook();
    const d = testDelivery(w);
    const ts = Math.floor(Date.now() / 1000);
    const h = asObject(requestHeaders(d, ts));
    expect(h['webhook-signature']).toMatch(/^v1,/);
    expect(verifyStandard(w.secret!, h, d.body)).toBe(true);
  });

  it('with mender and mist secrets: their schemes’ headers', () => {
    const mender = testWebhook({ signing: 'mender', secret: 'ab'.repeat(16) });
    const dm = testDelivery(mender);
    expect(verifyMender(mender.secret!, asObject(requestHeaders(dm, 1)), dm.body)).toBe(true);
    const mist = testWebhook({ signing: 'mist', secret: 'mist-secret', topics: ['device-events'] });
    const di = testDelivery(mist, { topic: 'device-events' });
    expect(verifyMist(mist.secret!, asObject(requestHeaders(di, 1)), di.body)).toBe(true);
  });
});

/** A webhook whose loopback port was free a moment ago: connections to it are refused. */
async function refusingTarget() {
  const closed = http.createServer();
  await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
  const port = (closed.address() as AddressInfo).port;
  await new Promise<void>((r) => closed.close(() => r()));
  return toTarget(testWebhook({ url: `http://127.0.0.1:${port}/gone` }));
}

describe('attemptDelivery (loopback receiver)', () => {
  const { keys, redis } = redisForTestFile(__filename);
  let engine: TestEngine;
  let receiver: Receiver;

  beforeAll(async () => {
    receiver = await Receiver.start();
  });
  beforeEach(() => {
    engine = testEngine(redis, keys, { schedule: SCHEDULE, origins: { breakerThreshold: 1 } });
  });
  afterEach(() => engine.close());
  afterAll(async () => {
    await receiver.close();
  });

  it('sends the signed body and decides from the answer', async () => {
    const w = signedWebhook({ url: receiver.url('/signed') });
    const d = testDelivery(w);
    receiver.reply({ status: 503, headers: { 'retry-after': '2' }, body: 'busy' });
    const out = await attemptDelivery(engine.ctx, d);
    expect(out.decision).toEqual({ kind: 'retry', delayMs: 2_000, consumed: true, retryAfterMs: 2_000 });
    expect(out.record.attempt_log[0]).toMatchObject({ status_code: 503, response_body: 'busy' });
    const [req] = receiver.on('/signed');
    expect(req.body).toBe(d.body);
    expect(verifyStandard(w.secret!, req.headers, req.body)).toBe(true);
    expect(req.headers['webhook-id']).toBe(d.messageId);
  });

  it('a refused connection opens the breaker; the next attempt is circuit_open without a request', async () => {
    const target = await refusingTarget();

    const first = await attemptDelivery(engine.ctx, testDelivery(target));
    expect(first.record.error).toBe('connection_refused');
    expect(first.decision).toMatchObject({ kind: 'retry', consumed: true });

    const second = await attemptDelivery(engine.ctx, testDelivery(target));
    expect(second.record).toMatchObject({ error: 'circuit_open', status_code: null, attempts: 1 });
    expect(second.record.attempt_log[0].duration_ms).toBe(0);
    // the open period's scout: retried no sooner than the breaker's next probe (not on the
    // schedule's 1 s step), and not much later (cooldown 60 s here)
    const later = engine.ctx.origins.admit(target.origin);
    if (later instanceof Promise || later.ok) throw new Error('expected the breaker open');
    const scoutDelay = (second.decision as { delayMs: number }).delayMs;
    expect(scoutDelay).toBeGreaterThanOrEqual(later.probeInMs!);
    expect(scoutDelay).toBeLessThanOrEqual(66_000);
    expect(second.parked).toBeUndefined();

    // the others are parked: an attempt counted as the second was, the next one at the latest
    // after the breaker's longest cooldown (300 s here, ±25 %), unless a probe succeeds first
    const third = await attemptDelivery(engine.ctx, testDelivery(target));
    expect(third).toMatchObject({ parked: true, outcome: 'retry', decision: { kind: 'retry', consumed: true } });
    expect(third.record).toMatchObject({ error: 'circuit_open', attempts: 1, status: 'pending' });
    const parkedDelay = (third.decision as { delayMs: number }).delayMs;
    expect(parkedDelay).toBeGreaterThanOrEqual(225_000);
    expect(parkedDelay).toBeLessThanOrEqual(375_000);
    expect(Date.parse(third.record.next_attempt_at!) - Date.now()).toBeGreaterThan(200_000);
  });

  it('a parked delivery run before its time and turned away again uses no attempt and keeps its place', async () => {
    const target = await refusingTarget();
    await attemptDelivery(engine.ctx, testDelivery(target)); // refused: the breaker opens
    await attemptDelivery(engine.ctx, testDelivery(target)); // the open period's scout
    const d = testDelivery(target);
    const parked = await attemptDelivery(engine.ctx, d);
    expect(parked).toMatchObject({ parked: true, decision: { kind: 'retry', consumed: true } });
    expect(parked.record).toMatchObject({ attempts: 1, error: 'circuit_open' });

    // woken minutes early (a probe of another worker succeeded), this breaker still open
    d.record = parked.record;
    const early = await attemptDelivery(engine.ctx, d);
    expect(early).toMatchObject({ parked: true, outcome: 'deferred', decision: { kind: 'retry', consumed: false } });
    expect(early.record).toMatchObject({ attempts: 1, error: 'circuit_open', status: 'pending' });
    expect(early.record.attempt_log).toHaveLength(1);
    // its place: its time, 1 ms later (so the wake that promoted it does not take it off the parked set)
    expect(Date.parse(early.record.next_attempt_at!)).toBe(Date.parse(parked.record.next_attempt_at!) + 1);
    const until = (early.decision as { delayMs: number }).delayMs;
    expect(Date.now() + until).toBeGreaterThanOrEqual(Date.parse(parked.record.next_attempt_at!) - 1_000);

    // at its time, turned away again: that counts, as the schedule goes on
    d.record = { ...parked.record, next_attempt_at: new Date(Date.now() - 10).toISOString() };
    const due = await attemptDelivery(engine.ctx, d);
    expect(due.decision).toMatchObject({ kind: 'retry', consumed: true });
    expect(due.record).toMatchObject({ attempts: 2, error: 'circuit_open' });
  });

  it('a delivery whose schedule is spent fails when the breaker turns it away, parked or not', async () => {
    await engine.close();
    engine = testEngine(redis, keys, { schedule: [0], origins: { breakerThreshold: 1 } });
    const target = await refusingTarget();
    expect((await attemptDelivery(engine.ctx, testDelivery(target))).decision.kind).toBe('failed');
    for (let i = 0; i < 2; i++) {
      const out = await attemptDelivery(engine.ctx, testDelivery(target));
      expect(out.record.error).toBe('circuit_open');
      expect(out.decision.kind).toBe('failed');
      expect(out.parked).toBeUndefined();
    }
  });

  it('a deadline passed during a stall of this process: deferred, no attempt used, the breaker not fed', async () => {
    const freeze = (ms: number) => {
      const until = Date.now() + ms;
      while (Date.now() < until) {
        /* stalled, as in a long GC pause */
      }
    };
    const srv = http.createServer(() => freeze(900)); // never answers, and the process stalls
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
    const sender = new Sender({ timeoutMs: 300, allowPrivateTargets: true, connectionsPerOrigin: 1 });
    try {
      const target = toTarget(testWebhook({ url: `http://127.0.0.1:${(srv.address() as AddressInfo).port}/` }));
      const out = await attemptDelivery({ ...engine.ctx, sender }, testDelivery(target));
      expect(out).toMatchObject({ outcome: 'deferred', stalled: true, decision: { kind: 'retry', consumed: false } });
      expect(out.record.attempts).toBe(0);
      // breakerThreshold is 1 here: a counted timeout would have opened it
      const next = engine.ctx.origins.admit(target.origin);
      if (next instanceof Promise || !next.ok) throw new Error('expected the breaker closed');
      next.release(1, 'answered');
    } finally {
      await sender.destroy();
      srv.closeAllConnections();
      await new Promise<void>((r) => srv.close(() => r()));
    }
  });

  it('an ordered head after a stall of this worker: sent only if this worker still attempts it', async () => {
    const target = toTarget(testWebhook({ url: receiver.url('/ordered-head'), ordering: 'device' }));
    const stalled = { ...engine.ctx, consumer: 'worker-a', liveness: { surelyHeld: () => false } };
    const going = keys.shard(0).orderGoing;
    const head = () => Object.assign(testDelivery(target), { chainHead: true as const, orderKey: 'dev-1' });

    // another worker took it over meanwhile: not sent, nothing to write here
    const taken = head();
    await redis.hset(going, taken.id, `worker-b|${Date.now() + 60_000}`);
    const out = await attemptDelivery(stalled, taken);
    expect(out).toMatchObject({ takenOver: true, decision: { kind: 'retry', consumed: false } });
    expect(receiver.on('/ordered-head')).toHaveLength(0);

    // still this worker's: sent
    const mine = head();
    await redis.hset(going, mine.id, `worker-a|${Date.now() + 60_000}`);
    expect((await attemptDelivery(stalled, mine)).decision).toEqual({ kind: 'succeeded' });
    expect(receiver.on('/ordered-head')).toHaveLength(1);
  });

  it('an origin over its capacity defers the delivery without an attempt', async () => {
    await engine.close();
    engine = testEngine(redis, keys, { origins: { concurrency: 1, maxWaitMs: 0 } });
    const target = toTarget(testWebhook({ url: receiver.url('/full') }));
    const held = engine.ctx.origins.admit(target.origin);
    if (held instanceof Promise || !held.ok) throw new Error('expected a free slot');
    const out = await attemptDelivery(engine.ctx, testDelivery(target));
    held.release(1, 'answered');
    expect(out.outcome).toBe('deferred');
    expect(out.decision).toMatchObject({ kind: 'retry', consumed: false });
    expect(out.record.attempts).toBe(0);
    expect(receiver.on('/full')).toHaveLength(0);
  });
});
