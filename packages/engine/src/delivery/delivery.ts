/**
 * A delivery in memory (one event, or a Mist batch, to one webhook) and its first record in the
 * delivery log. Both derive from the stream entries carried, so rebuilding a delivery (a retry, a
 * re-read entry) gives the same id, message id and body.
 */
import { batchMessageId, deliveryBody, deliveryId, type DeliveryTopic, type StoredEvent } from '@devhooks/core';
import { entryTime } from '../log/stream-codec';
import type { DeliveryRecord } from '../stores/delivery-log';
import type { Target } from '../stores/webhook-directory';

export interface Delivery {
  id: string;
  target: Target;
  topic: DeliveryTopic;
  events: StoredEvent[];
  /** The event-stream shard of its (first) entry: its id, record and retry queue follow it. */
  shard: number;
  entryIds: string[];
  /** The shard of each entry (a Mist batch may gather entries of several). */
  entryShards: number[];
  messageId: string;
  body: string;
  /** Its record so far (undefined before the first attempt). */
  record?: DeliveryRecord;
  /** When the oldest event was accepted (ms): delivery latency is measured from it. */
  acceptedAt: number;
  /** Asked for by hand (API, dashboard) or by a recover: recorded on the attempt. */
  trigger?: 'manual' | 'recover';
  /** Ordered delivery (docs/contract.md §8): the device whose chain holds it (ordering/). */
  orderKey?: string;
  /**
   * Set when its chain said `go` and named this worker the one attempting it: before sending, a
   * worker that may have been taken for dead meanwhile checks it still is (attempt.ts).
   */
  chainHead?: true;
}

export interface MakeDeliveryOptions {
  shard: number;
  /** The shard of each entry, when not all `shard`. */
  entryShards?: number[];
  /** Its record so far, for a delivery rebuilt for a retry. */
  record?: DeliveryRecord;
  /** The body, when already built (one event fanned out to many webhooks shares one body). */
  body?: string;
  /** The device whose chain holds it, for a webhook with `ordering: device`. */
  orderKey?: string;
}

export function makeDelivery(
  target: Target,
  topic: DeliveryTopic,
  events: StoredEvent[],
  entryIds: string[],
  o: MakeDeliveryOptions,
): Delivery {
  const { record } = o;
  const orderKey = o.orderKey ?? record?.order_key;
  const d: Delivery = {
    id: record?.id ?? deliveryId(entryIds[0], target.id, events.length, o.shard),
    target,
    topic,
    events,
    shard: o.shard,
    entryIds,
    entryShards: o.entryShards ?? entryIds.map(() => o.shard),
    messageId: record?.message_id ?? (events.length === 1 ? events[0].id : batchMessageId(entryIds, o.shard)),
    body: o.body ?? deliveryBody(topic, events),
    record,
    acceptedAt: entryTime(entryIds[0]),
  };
  if (orderKey) d.orderKey = orderKey;
  return d;
}

/**
 * A run this much or more before its record's `next_attempt_at` is early: brought forward (by hand,
 * or by the wake of a parked delivery), not on schedule (ms; more than two hosts' clocks drift).
 */
export const EARLY_RUN_MS = 1_000;

/** Whether a run now is early for this record (EARLY_RUN_MS). */
export function runsEarly(r: Pick<DeliveryRecord, 'next_attempt_at'>, now: number): boolean {
  return !!r.next_attempt_at && Date.parse(r.next_attempt_at) - now > EARLY_RUN_MS;
}

let lastMs = -1;
let lastIso = '';
/** ISO 8601 of a time in ms; thousands of deliveries settle per second, many in the same ms. */
export function isoAt(ms: number): string {
  if (ms !== lastMs) {
    lastMs = ms;
    lastIso = new Date(ms).toISOString();
  }
  return lastIso;
}

/**
 * A delivery's first record. `created_at` is when its (first) event was accepted: the delivery
 * exists from then on, and the log is ordered, filtered (`since`/`until`) and kept by that time.
 */
export function newRecord(d: Delivery, now: number): DeliveryRecord {
  const at = isoAt(now);
  const r: DeliveryRecord = {
    id: d.id,
    org_id: d.target.org_id,
    webhook_id: d.target.id,
    event_ids: d.events.map((e) => e.id),
    entry_ids: d.entryIds,
    topic: d.topic,
    message_id: d.messageId,
    url: d.target.url,
    status: 'pending',
    attempts: 0,
    status_code: null,
    error: null,
    created_at: isoAt(d.acceptedAt),
    updated_at: at,
    next_attempt_at: at,
    attempt_log: [],
  };
  if (d.shard) r.shard = d.shard;
  if (d.orderKey) r.order_key = d.orderKey;
  if (d.entryShards.some((s) => s !== d.shard)) r.entry_shards = d.entryShards;
  return r;
}
