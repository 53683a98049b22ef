/** Event types, their topics, and how each topic is carried to receivers (docs/contract.md §4, §6). */

export const TOPICS = ['deviceauth', 'inventory', 'audits', 'device-events', 'alarms', 'messages'] as const;
export type Topic = (typeof TOPICS)[number];
/** `ping` is not subscribable; it only ever goes to the webhook it was sent to. */
export type DeliveryTopic = Topic | 'ping';

export const EVENT_TYPES = {
  'device-provisioned': 'deviceauth',
  'device-status-changed': 'deviceauth',
  'device-decommissioned': 'deviceauth',
  'devices-inventory-changed': 'inventory',
  'device-inventory-changed': 'inventory',
  audit: 'audits',
  'device-event': 'device-events',
  alarm: 'alarms',
  message: 'messages',
} as const satisfies Record<string, Topic>;
export type EventType = keyof typeof EVENT_TYPES;
export const EVENT_TYPE_NAMES = Object.keys(EVENT_TYPES) as EventType[];

export const PING_TYPE = 'ping';

export const DEVICE_STATUSES = [
  'accepted',
  'noauth',
  'pending',
  'preauthorized',
  'rejected',
  'decommissioned',
] as const;

/**
 * The three body styles of §6:
 * - `mender`: `{"id","type","data","time"}`, one event a request;
 * - `mist`: `{"topic","events":[data...]}`, batched per webhook;
 * - `raw`: the event's data as it is (Mainflux).
 */
export type BodyStyle = 'mender' | 'mist' | 'raw';

const STYLE: Record<DeliveryTopic, BodyStyle> = {
  deviceauth: 'mender',
  inventory: 'mender',
  audits: 'mist',
  'device-events': 'mist',
  alarms: 'mist',
  ping: 'mist',
  messages: 'raw',
};

export function topicOf(type: string): DeliveryTopic | undefined {
  if (type === PING_TYPE) return 'ping';
  return (EVENT_TYPES as Record<string, Topic>)[type];
}

export function bodyStyleOf(topic: DeliveryTopic): BodyStyle {
  return STYLE[topic];
}

/** Topics whose events are batched per webhook (Mist style); ping is Mist-shaped but never batched. */
export function isBatchedTopic(topic: DeliveryTopic): boolean {
  return topic !== 'ping' && STYLE[topic] === 'mist';
}

export function isTopic(value: unknown): value is Topic {
  return typeof value === 'string' && (TOPICS as readonly string[]).includes(value);
}
