/**
 * Partition keys and shards (docs/contract.md §7). An event's partition key is its `device_id`;
 * else the device id its type carries (`data.id` for the deviceauth types, `data.device_id` for
 * the inventory types); else its own id. Events of one org with one partition key go to one shard,
 * so they stay in acceptance order there (ordered delivery, §8, builds on it).
 */
import type { EventType } from './topics';

const DEVICE_IN_DATA_ID = new Set<string>(['device-provisioned', 'device-status-changed', 'device-decommissioned']);
const DEVICE_IN_DATA_DEVICE_ID = new Set<string>(['devices-inventory-changed', 'device-inventory-changed']);

/** The device an event is about, when it names one: its partition key. Undefined: the event's own id. */
export function deviceKeyOf(type: EventType | 'ping', deviceId: string | undefined, data: unknown): string | undefined {
  if (deviceId) return deviceId;
  if (data === null || typeof data !== 'object') return undefined;
  const d = data as Record<string, unknown>;
  const v = DEVICE_IN_DATA_ID.has(type) ? d.id : DEVICE_IN_DATA_DEVICE_ID.has(type) ? d.device_id : undefined;
  return typeof v === 'string' && v !== '' ? v : typeof v === 'number' ? String(v) : undefined;
}

/** FNV-1a, 32 bits: cheap, stable across processes and versions (it decides where events live). */
function fnv1a(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** The shard (0 … shards − 1) of an org's partition key. */
export function shardOf(org: string, partitionKey: string, shards: number): number {
  if (shards <= 1) return 0;
  return fnv1a(`${org}\u0000${partitionKey}`) % shards;
}
