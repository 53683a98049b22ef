/**
 * How an event is laid out in a stream entry. Every entry has the same fields in the same order,
 * so Redis stores the field names once per listpack node, not once per entry.
 */
import { topicOf, type StoredEvent } from '@devhooks/core';

export const FIELDS = ['o', 'i', 't', 's', 'g', 'v', 'm', 'd', 'w'] as const;

export function encodeEvent(e: StoredEvent): string[] {
  return [e.org, e.id, e.type, e.site_id ?? '', e.group_id ?? '', e.device_id ?? '', e.time, e.data, e.webhook ?? ''];
}

/** Decodes the flat `[field, value, ...]` array XREADGROUP / XRANGE return. */
export function decodeEvent(flat: string[]): StoredEvent {
  const v: Record<string, string> = {};
  for (let i = 0; i + 1 < flat.length; i += 2) v[flat[i]] = flat[i + 1];
  const type = v.t as StoredEvent['type'];
  const e: StoredEvent = {
    org: v.o,
    id: v.i,
    idGiven: true,
    type,
    topic: topicOf(type)!,
    time: v.m,
    data: v.d,
  };
  if (v.s) e.site_id = v.s;
  if (v.g) e.group_id = v.g;
  if (v.v) e.device_id = v.v;
  if (v.w) e.webhook = v.w;
  return e;
}

/** Milliseconds since the epoch at which an entry was appended (the first part of its id). */
export function entryTime(entryId: string): number {
  return Number(entryId.slice(0, entryId.indexOf('-')));
}
