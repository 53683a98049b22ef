/**
 * How an event is laid out in a stream entry: one field, `e`, holding a small JSON array of the
 * event's scalar fields, a newline, then the event's data exactly as serialized at ingest. One field
 * keeps entries compact in Redis (the field name is stored once per listpack node) and cheap to
 * read back (two strings per entry instead of one per field); the data is never re-parsed.
 */
import { topicOf, type StoredEvent } from '@devhooks/core';

export const FIELDS = ['e'] as const;

type Head = [
  org: string,
  id: string,
  type: string,
  site: string,
  group: string,
  device: string,
  time: string,
  webhook: string,
  /** The device it is about, when the data names it and device_id does not (absent in older entries). */
  device?: string,
  /** A batch that spans shards: delivered once committed. */
  batch?: string,
  /** The W3C traceparent of the ingest span (absent when tracing is off, and in older entries). */
  traceparent?: string,
];

export function encodeEvent(e: StoredEvent): string[] {
  // JSON.stringify escapes newlines inside strings, so the first '\n' always ends the head
  const head: Head = [
    e.org,
    e.id,
    e.type,
    e.site_id ?? '',
    e.group_id ?? '',
    e.device_id ?? '',
    e.time,
    e.webhook ?? '',
  ];
  // the partition device, when device_id does not already say it; the batch of a batch across shards
  const device = e.device ?? '';
  if (e.traceparent) head.push(device, e.batch ?? '', e.traceparent);
  else if (e.batch) head.push(device, e.batch);
  else if (device) head.push(device);
  return [`${JSON.stringify(head)}\n${e.data}`];
}

/** Decodes the flat `[field, value, ...]` array XREADGROUP / XRANGE return. */
export function decodeEvent(flat: string[]): StoredEvent {
  let value: string | undefined;
  for (let i = 0; i + 1 < flat.length; i += 2) if (flat[i] === 'e') value = flat[i + 1];
  if (value === undefined) throw new Error('stream entry has no "e" field');
  const nl = value.indexOf('\n');
  if (nl < 0) throw new Error('stream entry "e" has no data');
  const [org, id, type, site, group, device, time, webhook, partition, batch, traceparent] = JSON.parse(
    value.slice(0, nl),
  ) as Head;
  const topic = topicOf(type);
  if (!topic) throw new Error(`stream entry has an unknown type "${type}"`);
  const e: StoredEvent = {
    org,
    id,
    idGiven: true,
    type: type as StoredEvent['type'],
    topic,
    time,
    data: value.slice(nl + 1),
  };
  if (site) e.site_id = site;
  if (group) e.group_id = group;
  if (device) e.device_id = device;
  if (webhook) e.webhook = webhook;
  if (partition) e.device = partition;
  if (batch) e.batch = batch;
  if (traceparent) e.traceparent = traceparent;
  return e;
}

/** Milliseconds since the epoch at which an entry was appended (the first part of its id). */
export function entryTime(entryId: string): number {
  return Number(entryId.slice(0, entryId.indexOf('-')));
}
