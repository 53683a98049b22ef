/**
 * Delivery bodies by topic (docs/contract.md §6). Bodies are built by string concatenation from the
 * already-serialized event data, so an event's data is serialized once, however many deliveries.
 */
import type { StoredEvent } from './events';
import { bodyStyleOf, type DeliveryTopic } from './topics';

/** Most events in one Mist-style batch. */
export const MAX_BATCH_EVENTS = 100;

/** Mender: `{"id","type","data","time"}`, one event a request. */
export function menderBody(e: Pick<StoredEvent, 'id' | 'type' | 'data' | 'time'>): string {
  return `{"id":${JSON.stringify(e.id)},"type":${JSON.stringify(e.type)},"data":${e.data},"time":${JSON.stringify(e.time)}}`;
}

/** Mist: `{"topic","events":[<data>, ...]}`. */
export function mistBody(topic: DeliveryTopic, dataJson: readonly string[]): string {
  return `{"topic":${JSON.stringify(topic)},"events":[${dataJson.join(',')}]}`;
}

/** Mainflux: the message as it is. */
export function rawBody(e: Pick<StoredEvent, 'data'>): string {
  return e.data;
}

/** The body of one delivery carrying `events` (all of one topic; more than one only for Mist topics). */
export function deliveryBody(
  topic: DeliveryTopic,
  events: ReadonlyArray<Pick<StoredEvent, 'id' | 'type' | 'data' | 'time'>>,
): string {
  switch (bodyStyleOf(topic)) {
    case 'mender':
      if (events.length !== 1) throw new Error(`${topic} deliveries carry exactly one event`);
      return menderBody(events[0]);
    case 'raw':
      if (events.length !== 1) throw new Error(`${topic} deliveries carry exactly one event`);
      return rawBody(events[0]);
    case 'mist':
      return mistBody(
        topic,
        events.map((e) => e.data),
      );
  }
}

/** A ping's event data: `{"id","name","site_id","timestamp"}` of the webhook. */
export function pingData(webhook: { id: string; name: string; site_id?: string | null }, now = Date.now()): string {
  return JSON.stringify({
    id: webhook.id,
    name: webhook.name,
    site_id: webhook.site_id ?? null,
    timestamp: Math.floor(now / 1000),
  });
}
