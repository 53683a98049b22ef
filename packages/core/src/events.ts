/** Checking incoming events (docs/contract.md §4) and the normalized form the service stores. */
import { randomUUID } from 'node:crypto';
import { deviceKeyOf } from './partitioning';
import { validators } from './schemas';
import { topicOf, type DeliveryTopic, type EventType } from './topics';
import { ajvDetails, capDetails, type ErrorDetail } from './validation';

/** Most events one request may carry. */
export const MAX_EVENTS_PER_REQUEST = 1000;
/** Deepest JSON nesting accepted in a request body (deeper is refused, never stored). */
export const MAX_JSON_DEPTH = 64;

/** An event as a producer sends it (docs/contract.md §4), once validated. */
export interface EventInput {
  id?: string;
  type: EventType;
  site_id?: string | null;
  group_id?: string | null;
  device_id?: string | null;
  time?: string | null;
  data: Record<string, unknown>;
}

/** An event as the service keeps it: data already serialized, once. */
export interface StoredEvent {
  /** The producer's id, or a generated UUID. */
  id: string;
  /** True when the producer supplied the id (only those are checked for duplicates). */
  idGiven: boolean;
  org: string;
  type: EventType | 'ping';
  topic: DeliveryTopic;
  site_id?: string;
  group_id?: string;
  device_id?: string;
  /** RFC 3339, exactly as the producer wrote it, or the arrival time. */
  time: string;
  /** `JSON.stringify(data)`, produced once at ingest and reused for every delivery. */
  data: string;
  /** For pings: the only webhook it goes to. */
  webhook?: string;
  /** The device the data names when `device_id` is absent (docs/contract.md §7). */
  device?: string;
  /** The id of the request's batch when the batch spans shards (see the engine's ingest). */
  batch?: string;
  /** The W3C traceparent of the ingest span, when tracing is on (carried in the stream entry). */
  traceparent?: string;
}

/** An event's partition key (docs/contract.md §7). */
export function partitionKey(e: Pick<StoredEvent, 'device_id' | 'device' | 'id'>): string {
  return e.device_id ?? e.device ?? e.id;
}

export type EventCheck = { ok: true; events: StoredEvent[] } | { ok: false; details: ErrorDetail[] };

/** Returns true when a JSON value nests deeper than `max` (iterative: cannot overflow the stack). */
export function exceedsDepth(value: unknown, max = MAX_JSON_DEPTH): boolean {
  const stack: Array<[unknown, number]> = [[value, 1]];
  while (stack.length) {
    const [v, depth] = stack.pop()!;
    if (v === null || typeof v !== 'object') continue;
    if (depth > max) return true;
    const children = Array.isArray(v) ? v : Object.values(v as object);
    for (const c of children) if (c !== null && typeof c === 'object') stack.push([c, depth + 1]);
  }
  return false;
}

/** The list of raw events in a request: `{"events": [...]}` or one event object. */
export function eventsOf(body: unknown): { list: unknown[]; batch: boolean } | { error: ErrorDetail } {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    return { error: { path: '', message: 'must be an event object or {"events": [...]}' } };
  }
  const o = body as Record<string, unknown>;
  if ('events' in o && !('type' in o) && !('data' in o)) {
    const keys = Object.keys(o);
    if (keys.length !== 1) return { error: { path: '', message: 'a batch holds only "events"' } };
    if (!Array.isArray(o.events)) return { error: { path: '/events', message: 'must be an array' } };
    if (o.events.length === 0) return { error: { path: '/events', message: 'must hold at least one event' } };
    return { list: o.events, batch: true };
  }
  return { list: [o], batch: false };
}

/**
 * Checks every event (the batch is checked whole) and returns them normalized, or every problem found.
 * `now` gives the arrival time for events without `time`.
 */
export function checkEvents(list: unknown[], org: string, batch: boolean, now = new Date()): EventCheck {
  const details: ErrorDetail[] = [];
  const events: StoredEvent[] = [];
  const arrival = now.toISOString();
  list.forEach((raw, i) => {
    const index = batch ? i : undefined;
    if (!validators.event(raw)) {
      details.push(...ajvDetails(validators.event.errors, index));
      return;
    }
    const e = raw as EventInput;
    const checkData = validators.data[e.type];
    if (!checkData(e.data)) {
      details.push(...ajvDetails(checkData.errors, index, '/data'));
      return;
    }
    if (details.length) return; // already failing: skip the serialization work
    const ev: StoredEvent = {
      id: e.id ?? randomUUID(),
      idGiven: e.id !== undefined,
      org,
      type: e.type,
      topic: topicOf(e.type)!,
      time: e.time ?? arrival,
      data: JSON.stringify(e.data),
    };
    if (e.site_id != null) ev.site_id = e.site_id;
    if (e.group_id != null) ev.group_id = e.group_id;
    if (e.device_id != null) ev.device_id = e.device_id;
    if (ev.device_id === undefined) {
      const device = deviceKeyOf(e.type, undefined, e.data);
      if (device !== undefined) ev.device = device;
    }
    events.push(ev);
  });
  if (details.length) return { ok: false, details: capDetails(details) };
  return { ok: true, events };
}
