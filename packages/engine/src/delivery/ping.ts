/**
 * Ping (docs/contract.md §3), one protocol in one place: the API appends a `ping` event aimed at
 * one webhook and waits; the worker delivers it through the normal path and, after its first
 * attempt, pushes the result to a short-lived list the API waits on (BLPOP), so the API answers
 * with the attempt's outcome whichever worker made it.
 *
 * Waiting: one blocking connection per API process serves every ping in flight (one BLPOP over all
 * their result lists, which share the control-plane hash tag, so it is one slot on a cluster).
 */
import { randomUUID } from 'node:crypto';
import type { ChainableCommander, Redis } from 'ioredis';
import { deliveryId, pingData, shardOf, type Keys, type StoredEvent, type Webhook } from '@devhooks/core';
import { appendToShard } from '../ingest/ingest';
import type { DeliveryRecord } from '../stores/delivery-log';

export interface PingResult {
  delivery_id: string;
  status: DeliveryRecord['status'];
  status_code: number | null;
  duration_ms: number | null;
  error: string | null;
}

/** How long a result waits in Redis for an API that asked for it. */
const RESULT_TTL_MS = 120_000;
/** Each BLPOP round: new pings join the wait within this. */
const ROUND_S = 0.25;

/** The result of a ping's first attempt, from its record (worker side). */
export function pingResultOf(r: DeliveryRecord): PingResult {
  const last = r.attempt_log[r.attempt_log.length - 1];
  return {
    delivery_id: r.id,
    status: r.status,
    status_code: r.status_code,
    duration_ms: last?.duration_ms ?? 0,
    error: r.error,
  };
}

/** Queues the publication of ping results in a commit's pipeline (worker side). */
export function queuePingResults(p: ChainableCommander, keys: Keys, results: PingResult[]): void {
  for (const ping of results) {
    p.lpush(keys.pingResult(ping.delivery_id), JSON.stringify(ping));
    p.pexpire(keys.pingResult(ping.delivery_id), RESULT_TTL_MS);
  }
}

interface Waiter {
  deadline: number;
  resolve(r: PingResult | undefined): void;
}

/** API side: sends pings and waits for their first attempt. */
export class Pings {
  private readonly waiters = new Map<string, Waiter>();
  private looping = false;
  private closed = false;

  constructor(
    private readonly redis: Redis,
    /** A connection of its own: BLPOP holds it. */
    private readonly blocking: Redis,
    private readonly keys: Keys,
    private readonly shards: number,
  ) {}

  /** Appends a ping for `webhook`; resolves with its delivery id. */
  async send(webhook: Webhook): Promise<string> {
    const ping: StoredEvent = {
      id: `ping_${randomUUID()}`,
      idGiven: false,
      org: webhook.org_id,
      type: 'ping',
      topic: 'ping',
      time: new Date().toISOString(),
      data: pingData(webhook),
      webhook: webhook.id,
    };
    const shard = shardOf(ping.org, ping.id, this.shards);
    const appended = await appendToShard(this.redis, [ping], { keys: this.keys, shard, maxBacklog: 0 });
    if (!appended.ok) throw new Error('ping refused by the ingest script');
    return deliveryId(appended.entryIds[0], webhook.id, 1, shard);
  }

  /** The ping's first-attempt result, or undefined when none came within `timeoutMs`. */
  wait(deliveryId: string, timeoutMs: number): Promise<PingResult | undefined> {
    if (this.closed) return Promise.resolve(undefined);
    return new Promise((resolve) => {
      this.waiters.get(deliveryId)?.resolve(undefined);
      this.waiters.set(deliveryId, { deadline: Date.now() + timeoutMs, resolve });
      if (!this.looping) void this.loop();
    });
  }

  private async loop(): Promise<void> {
    this.looping = true;
    try {
      while (this.waiters.size && !this.closed) {
        const ids = [...this.waiters.keys()];
        let got: [string, string] | null = null;
        try {
          got = await this.blocking.blpop(...ids.map((id) => this.keys.pingResult(id)), ROUND_S);
        } catch {
          if (!this.closed) await new Promise((r) => setTimeout(r, 200));
        }
        if (got) {
          const result = JSON.parse(got[1]) as PingResult;
          this.settle(result.delivery_id, result);
        }
        const now = Date.now();
        for (const [id, w] of this.waiters) if (w.deadline <= now) this.settle(id, undefined);
      }
    } finally {
      this.looping = false;
    }
  }

  private settle(id: string, result: PingResult | undefined): void {
    const w = this.waiters.get(id);
    if (!w) return;
    this.waiters.delete(id);
    w.resolve(result);
  }

  close(): void {
    this.closed = true;
    for (const id of [...this.waiters.keys()]) this.settle(id, undefined);
    this.blocking.disconnect();
  }
}
