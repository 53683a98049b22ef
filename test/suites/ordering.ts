/**
 * Ordered delivery end to end (docs/contract.md §8) with the real processes: 100 devices × 50
 * events, a webhook with `ordering: device` whose receiver answers 500 to about a fifth of requests
 * (seeded), two workers, one SIGKILLed mid-run and started again. For every device, the events the
 * receiver accepted (2xx) are exactly the device's acceptance order, none missing. Delivery is at
 * least once: an event accepted just before a SIGKILL may arrive again, right after itself (its
 * delivery was still its chain's head), so immediate repeats are collapsed before comparing. With
 * `failover`, on a cluster, the master holding the most shards is SIGKILLed mid-run as well.
 * Run on a standalone Redis (test/e2e) and on a Redis Cluster (test/cluster) by the same code.
 */
import { CONSUMER_GROUP } from '@devhooks/core';
import { Client, ROOT } from '../support/api';
import { shardKeys, type Backend } from '../support/backend';
import { baseEnv, startApiProcess, startWorkerProcess, type Proc } from '../support/processes';
import { eventually, Receiver } from '../support/receiver';
import { testPrefix } from '../support/redis';
import { seededRandom } from '../support/seeded';

/** Consecutive repeats collapsed (at-least-once: a redelivery right after itself). */
function collapsed(seq: string[]): string[] {
  return seq.filter((x, i) => i === 0 || seq[i - 1] !== x);
}

export interface OrderingSuiteOptions {
  devices: number;
  eventsPerDevice: number;
  /** Share of requests answered 500. */
  failShare: number;
  seed?: number;
  /**
   * On a cluster: also SIGKILL the master holding the most shards mid-run (after the worker), with
   * DEVHOOKS_INGEST_REPLICAS=1; its replica takes over, and the node comes back as a replica.
   */
  failover?: boolean;
  /**
   * Also freeze the two live workers (SIGSTOP), overlapping, past their liveness, so each may take
   * the other for dead and claim its entries, then let them go on (SIGCONT) with their attempts
   * still in hand: `pauses` times.
   */
  pauses?: number;
  /** Answers take up to this long (seeded), so attempts are in flight when a worker is frozen. */
  answerDelayMs?: number;
}

export function orderingSuite(file: string, backend: Backend, o: OrderingSuiteOptions): void {
  const prefix = testPrefix(file);
  const seed = o.seed ?? Number(process.env.DEVHOOKS_ORDERING_SEED ?? 10);
  let workerEnv: Record<string, string>;
  let api: Proc;
  const workers: Proc[] = [];
  let rx: Receiver;
  let client: Client;
  let progress: NodeJS.Timeout | undefined;

  beforeAll(async () => {
    await backend.start();
    rx = await Receiver.start();
    const common = { DEVHOOKS_ALLOW_PRIVATE_TARGETS: 'true' };
    workerEnv = {
      ...baseEnv(prefix, {
        ...common,
        DEVHOOKS_DELIVERY_TIMEOUT: '1s',
        // the default liveness (3 s) and claim-idle time, except where live workers are frozen on
        // purpose to be taken for dead: there a 1 s liveness and a 3 s claim-idle time
        ...(o.pauses ? { DEVHOOKS_CLAIM_IDLE: '3s', DEVHOOKS_WORKER_LIVENESS: '1s' } : {}),
        // enough attempts that no delivery fails for good at a 1-in-5 failure rate (0.2^12 within
        // the first 1.4 s), nor through the breakers' turn-aways (`circuit_open`, an attempt each,
        // paced by their probes, in seconds: up to 8 of 12 attempts in a run whose receiver, this
        // busy test process, stalled now and then) before the receiver answers again
        DEVHOOKS_RETRY_SCHEDULE: `0,20ms,50ms,50ms,100ms,100ms,100ms,200ms,200ms,200ms,200ms,200ms,${Array(8).fill('1s').join(',')}`,
        ...(o.failover ? { DEVHOOKS_INGEST_REPLICAS: '1' } : {}),
      }),
      ...backend.env(),
    };
    const started = await startApiProcess({
      ...baseEnv(prefix, {
        ...common,
        DEVHOOKS_ADMIN_TOKEN: ROOT,
        ...(o.failover ? { DEVHOOKS_INGEST_REPLICAS: '1' } : {}),
      }),
      ...backend.env(),
    });
    api = started.proc;
    client = new Client(started.base);
  });
  afterAll(async () => {
    clearInterval(progress);
    await Promise.all([api, ...workers].map((p) => p?.kill('SIGKILL')));
    await rx.close();
    await backend.stop(prefix);
  });

  const frozen = o.pauses ? `, workers frozen past their liveness ${o.pauses} times` : '';
  it(`delivers each of ${o.devices} devices' events in order through failures, a SIGKILLed worker${frozen} (seed ${seed})`, async () => {
    const { devices, eventsPerDevice: per } = o;
    const total = devices * per;
    const org = await client.org('acme', 'admin');
    const hook = await client.call('POST', '/v1/webhooks', {
      token: org.key,
      body: { name: 'ordered', url: rx.url(), topics: ['deviceauth'], ordering: 'device' },
    });
    expect(hook.status).toBe(201);
    expect(hook.body.ordering).toBe('device');

    const random = seededRandom(seed);
    const accepted = new Map<string, string[]>();
    const seen = new Set<string>();
    /** The records (request left out) of deliveries carrying any of `events`, at most `max`: the webhook's log paged. */
    const recordsWith = async (events: Set<string>, max: number) => {
      const out: Array<Record<string, unknown> & { id: string; event_ids: string[] }> = [];
      for (let offset = 0; offset < total * 2 && out.length < max; offset += 200) {
        const page = await client.call('GET', `/v1/webhooks/${hook.body.id}/deliveries?limit=200&offset=${offset}`, {
          token: org.key,
        });
        const rows = (page.body.deliveries ?? []) as Array<{ id: string; event_ids: string[] }>;
        for (const r of rows.filter((x) => x.event_ids.some((e) => events.has(e))).slice(0, max - out.length)) {
          const full = await client.call('GET', `/v1/deliveries/${r.id}`, { token: org.key });
          const { request: _r, ...rest } = full.body as Record<string, unknown>;
          out.push({ ...rest, id: r.id, event_ids: r.event_ids });
        }
        if (rows.length < 200) break;
      }
      return out;
    };
    rx.respond = (r) => {
      if (random() < o.failShare) return { status: 500 };
      const id = String(r.headers['webhook-id']);
      const device = id.slice(0, id.lastIndexOf('.'));
      const list = accepted.get(device) ?? [];
      list.push(id);
      accepted.set(device, list);
      seen.add(id);
      return o.answerDelayMs ? { delayMs: Math.floor(random() * o.answerDelayMs) } : {};
    };

    workers.push(await startWorkerProcess(workerEnv), await startWorkerProcess(workerEnv));
    const t0 = Date.now();
    // a timeline for the failure message: where progress stalled
    const timeline: string[] = [];
    progress = setInterval(() => timeline.push(`${Date.now() - t0} ms: ${seen.size} accepted`), 5_000);
    // acceptance order: round n carries event n of every device
    for (let n = 0; n < per; n++) {
      const events = Array.from({ length: devices }, (_, d) => ({
        id: `dev-${d}.${String(n).padStart(3, '0')}`,
        type: 'device-status-changed',
        device_id: `dev-${d}`,
        data: { id: `dev-${d}`, status: n % 2 ? 'accepted' : 'pending' },
      }));
      const r = await client.call('POST', '/v1/events', { token: org.key, body: { events } });
      expect(r.status).toBe(202);
    }
    await eventually(() => seen.size >= total / 5 || undefined, 60_000, 20);
    const { signal } = await workers[0].kill('SIGKILL');
    expect(signal).toBe('SIGKILL');
    const atKill = seen.size;
    workers.push(await startWorkerProcess(workerEnv));
    let rejoined: Promise<void> | undefined;
    if (o.failover) {
      // the master of the most shards dies too: chains, watermarks and streams fail over to its replica
      const cluster = backend.cluster!;
      await eventually(() => seen.size >= (2 * total) / 5 || undefined, 60_000, 20);
      const victim = await cluster.masterOwningMost(shardKeys(prefix, backend.shards).map((k) => k.stream));
      await cluster.killNode(victim.port, 'SIGKILL');
      rejoined = cluster.waitForFailover(victim.port, 60_000).then(() => cluster.restartNode(victim.port));
    }

    const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
    for (let i = 0; i < (o.pauses ?? 0) && seen.size < total; i++) {
      // overlapping freezes, as CPU starvation makes them: A stalls past its liveness; B, about to
      // take A's work over, stalls too; A runs again first, with its attempts still in hand
      const [a, b] = i % 2 ? [workers[1], workers[2]] : [workers[2], workers[1]];
      a.child.kill('SIGSTOP');
      await sleep(1_000 + 150 * (i % 5));
      b.child.kill('SIGSTOP');
      await sleep(1_200);
      a.child.kill('SIGCONT');
      await sleep(400);
      b.child.kill('SIGCONT');
      await sleep(1_000);
    }
    await eventually(() => seen.size === total || undefined, 120_000, 100).catch(async (err) => {
      const redis = backend.redis();
      // the events never accepted (their devices' chains: what came after them waits too)
      const missing = Array.from({ length: devices }, (_, d) =>
        Array.from({ length: per }, (_, n) => `dev-${d}.${String(n).padStart(3, '0')}`),
      )
        .flat()
        .filter((id) => !seen.has(id));
      const left: string[] = [`never accepted: ${missing.length}: ${missing.slice(0, 10).join(' ')}`];
      // first, what became of them: their records (status, every attempt), found by paging the log
      const wanted = new Set(missing.slice(0, 5));
      for (const full of await recordsWith(wanted, wanted.size)) {
        for (const e of full.event_ids) wanted.delete(e);
        const attempts = ((full.attempt_log ?? []) as Array<Record<string, unknown>>).map(
          (a) => `${String(a.at).slice(11, 23)} ${a.status_code ?? a.error}${a.trigger ? ` ${a.trigger}` : ''}`,
        );
        left.push(
          `  ${full.event_ids.join(',')} ${full.id}: ${full.status} error=${full.error ?? null} attempts=${attempts.length} ` +
            `held_by=${full.held_by ?? null} next=${full.next_attempt_at ?? null} [${attempts.join('; ')}]`,
        );
        const mentions = workers
          .flatMap((w, i) => w.output.split('\n').map((l) => `w${i} ${l}`))
          .filter((l) => l.includes(full.id))
          .slice(0, 10);
        left.push(...mentions.map((l) => `    ${l.slice(0, 400)}`));
      }
      if (wanted.size) left.push(`  no delivery record at all: ${[...wanted].join(' ')}`);
      const quiet: string[] = [];
      for (const k of shardKeys(prefix, backend.shards)) {
        const pend = await redis.xpending(k.stream, CONSUMER_GROUP).catch((e: Error) => e.message);
        const held = await redis.zcard(k.orderHeld).catch(() => -1);
        const chained = await redis.zcard(k.orderChained).catch(() => -1);
        const released = await redis.zcard(k.orderReleased).catch(() => -1);
        const delayed = await redis.zcard(`${k.queuePrefix}:retries:delayed`).catch(() => -1);
        if (Array.isArray(pend) && pend[0] === 0 && !held && !chained && !released && !delayed) {
          quiet.push(k.stream);
          continue;
        }
        left.push(
          `${k.stream} pending=${JSON.stringify(pend)} held=${held} chained=${chained} released=${released} delayed=${delayed}`,
        );
        // the oldest chained deliveries (the heads of chains that did not move, held or not): what
        // their records, jobs, leases and release marks say
        for (const id of await redis.zrange(k.orderChained, 0, 4)) {
          const job = await redis.hgetall(`${k.queuePrefix}:retries:${id}`);
          const state = await Promise.all(
            ['delayed', 'wait', 'active', 'completed', 'failed'].map(async (q) =>
              q === 'delayed' || q === 'completed' || q === 'failed'
                ? (await redis.zscore(`${k.queuePrefix}:retries:${q}`, id)) === null
                  ? ''
                  : q
                : (await redis.lpos(`${k.queuePrefix}:retries:${q}`, id)) === null
                  ? ''
                  : q,
            ),
          );
          const rec = (await client.call('GET', `/v1/deliveries/${id}`, { token: org.key })).body as Record<
            string,
            unknown
          >;
          left.push(
            `  chained ${id}: held ${await redis.zscore(k.orderHeld, id)} released ${await redis.zscore(k.orderReleased, id)} ` +
              `going ${await redis.hget(k.orderGoing, id)} ` +
              // parked behind a circuit breaker (delivery/parked.ts): when its job runs at the latest
              `parked ${await redis.zscore(k.parked(new URL(rx.url()).origin), id)} job [${state.filter(Boolean).join(',')}] ` +
              `${JSON.stringify(job).slice(0, 300)} record ${JSON.stringify(rec)}`,
          );
        }
      }
      if (quiet.length) left.push(`${quiet.length} shards with nothing pending, held, chained, released or delayed`);
      // the records of events never accepted, and what the workers said about releases
      const list = await client.call('GET', `/v1/webhooks/${hook.body.id}/deliveries?limit=200&status=failed`, {
        token: org.key,
      });
      left.push(`failed deliveries: ${list.body.total}`);
      for (const d of (list.body.deliveries ?? []).slice(0, 5)) left.push(`  ${JSON.stringify(d)}`);
      const pending = await client.call('GET', `/v1/webhooks/${hook.body.id}/deliveries?limit=200&status=pending`, {
        token: org.key,
      });
      left.push(`pending deliveries: ${pending.body.total}`);
      for (const d of (pending.body.deliveries ?? []).slice(0, 5)) left.push(`  ${JSON.stringify(d)}`);
      // which worker (w0 killed, w1 live, w2 started after the kill) released, woke or failed what
      const said = workers
        .flatMap((w, i) => w.output.split('\n').map((l) => `w${i} ${l}`))
        .filter((l) => /released|without|expired|crash|error|woken/.test(l))
        .slice(0, 30);
      // what is left first: a CI log shown cut keeps its start and its end
      throw new Error(
        `${(err as Error).message}: ${seen.size} of ${total} accepted (${atKill} at the kill)\n` +
          `${left.join('\n')}\n${timeline.join('\n')}\n` +
          `workers said:\n${said.join('\n')}\n` +
          `worker said:\n${workers[workers.length - 1].output.slice(-3000)}`,
      );
    });

    clearInterval(progress);
    await rejoined;
    // a device whose accepted events are out of order: the records of the events it accepted twice
    // (attempt logs with their times and triggers) and when the receiver took each copy, printed
    // before the assertion below fails. One case is not a fault of devhooks: an attempt abandoned
    // at its timeout (outcome unknown) may still be read by the receiver later, after the events
    // sent since (a connection still in the receiver's accept queue, say: no sender can recall a
    // request); such a late copy, of an event whose record shows a `timeout` attempt, is reported
    // and left out of the comparison (docs/decisions/0007, "Timeouts")
    const outOfOrder = [...accepted.entries()].filter(([, seq]) =>
      collapsed(seq).some((id, i, all) => i > 0 && id < all[i - 1]),
    );
    const abandoned = new Set<string>();
    if (outOfOrder.length) {
      const wanted = new Set(outOfOrder.flatMap(([, seq]) => seq.filter((id, i) => seq.indexOf(id) !== i)));
      const found: string[] = [];
      for (const rec of await recordsWith(wanted, 40)) {
        const log = (rec.attempt_log ?? []) as Array<{ error: string | null }>;
        if (log.some((a) => a.error === 'timeout')) for (const e of rec.event_ids) abandoned.add(e);
        found.push(JSON.stringify(rec).slice(0, 1500));
      }
      const takes = (dev: string) =>
        rx.requests
          .filter((q) => String(q.headers['webhook-id']).startsWith(`${dev}.`))
          .map((q) => `${q.headers['webhook-id']}@${new Date(q.at).toISOString().slice(17, 23)}`)
          .join(' ');
      console.error(
        `out of order: ${outOfOrder.map(([dev, seq]) => `${dev}: ${seq.join(' ')}\n  every request: ${takes(dev)}`).join('\n')}\n` +
          `late copies of attempts abandoned at their timeout (left out): ${[...abandoned].join(' ') || 'none'}\n${found.join('\n')}`,
      );
    }
    /** The accepted sequence without late copies of abandoned attempts (a repeat after later events). */
    const inOrder = (seq: string[]) =>
      seq.filter((id, i) => !(abandoned.has(id) && seq.indexOf(id) < i && seq[i - 1] !== id));
    for (let d = 0; d < devices; d++) {
      const expected = Array.from({ length: per }, (_, n) => `dev-${d}.${String(n).padStart(3, '0')}`);
      expect({ device: d, accepted: collapsed(inOrder(accepted.get(`dev-${d}`) ?? [])) }).toEqual({
        device: d,
        accepted: expected,
      });
    }
    expect(atKill).toBeLessThan(total);

    // every chain drained: nothing held, nothing chained, every entry acknowledged
    const redis = backend.redis();
    await eventually(async () => {
      for (const k of shardKeys(prefix, backend.shards)) {
        const [pending] = (await redis.xpending(k.stream, CONSUMER_GROUP)) as [number];
        if (pending !== 0 || (await redis.zcard(k.orderHeld)) || (await redis.zcard(k.orderChained))) return undefined;
      }
      return true;
    }, 30_000);
  });
}
