/**
 * The API's shapes, as the OpenAPI document (apps/api/src/openapi/) describes them (contract §2–§9). Those core
 * defines (topics, event types, events, deliveries, attempts) come from core; the rest is written by hand
 * and kept honest by routes.test.ts (every route the client calls is described there) and by the
 * client's tests against the real API.
 */

import type {
  AttemptRecord,
  DeliveryStatus,
  DeliveryTopic,
  DeliveryView,
  EventInput,
  EventType,
  Role,
  Signing,
  Topic,
} from '@devhooks/core';

// the shapes core defines once (its schemas and types), as the API uses them
export type { DeliveryStatus, DeliveryTopic, EventType, Role, Signing, Topic };
export type Event = EventInput;
export type Delivery = DeliveryView;
export type Attempt = AttemptRecord;

export interface ErrorDetail {
  index?: number;
  path: string;
  message: string;
}

export interface Page {
  offset?: number;
  limit?: number;
}

export interface Org {
  id: string;
  name: string;
  created_at: string;
}

export interface ApiKey {
  id: string;
  name: string;
  role: Role;
  created_at: string;
}

/** A key as created: `key` is shown this once. */
export interface ApiKeyCreated extends ApiKey {
  key: string;
}

export interface Whoami {
  org_id: string | null;
  role: Role | 'root';
  key_id: string | null;
  name: string | null;
}

export interface WebhookInput {
  name: string;
  url: string;
  topics: Topic[];
  site_id?: string | null;
  group_id?: string | null;
  headers?: Record<string, string> | null;
  signing?: Signing;
  secret?: string | null;
  enabled?: boolean;
  single_event_per_message?: boolean;
  metadata?: Record<string, unknown> | null;
  /** Contract §8. */
  ordering?: 'none' | 'device';
  /** Contract §9: requests per second to this webhook over all workers. */
  rate_limit?: number | null;
  /** Contract §9. */
  filter?: { types?: EventType[]; data?: Record<string, unknown> } | null;
}

export interface Webhook extends Omit<WebhookInput, 'secret'> {
  id: string;
  org_id: string;
  signing: Signing;
  enabled: boolean;
  has_secret: boolean;
  created_at: string;
  updated_at: string;
  /** Set when the service disabled it (410, or 5 days of failures). */
  disabled_reason?: string;
}

/** A webhook as created: `secret` when one was generated, shown this once. */
export interface WebhookCreated extends Webhook {
  secret?: string;
}

export interface WebhookQuery extends Page {
  site_id?: string;
  group_id?: string;
  topic?: Topic;
}

export interface WebhookList {
  total: number;
  offset: number;
  limit: number;
  webhooks: Webhook[];
}

/** 200 once the first attempt ended; 202 with `pending` and nulls when none ended in time. */
export interface PingResult {
  delivery_id: string;
  status: DeliveryStatus;
  status_code: number | null;
  duration_ms: number | null;
  error: string | null;
}

export interface RotatedSecret {
  secret: string;
  previous_expires_at: string | null;
}

export interface TimeWindow {
  /** RFC 3339. */
  since: string;
  until?: string;
}

/**
 * Contract §9 answers `202 {deliveries}` and `202 {events}`: what was queued, as a count or as the
 * ids (the contract does not say which; `countOf` reads either).
 */
export interface RecoverAccepted {
  deliveries: number | string[];
}

export interface ReplayAccepted {
  events: number | string[];
}

export interface EventsAccepted {
  accepted: number;
  duplicates: number;
  ids: string[];
}

export interface EventTypeInfo {
  type: EventType;
  topic: Topic;
  description: string;
  schema: Record<string, unknown>;
  example: unknown;
}

export interface DeliveryDetail extends Delivery {
  request: {
    method: 'POST';
    url: string;
    /** Signature values are redacted. */
    headers: Record<string, string>;
    body: unknown;
    body_unavailable?: string;
  };
  attempt_log: Attempt[];
}

export interface DeliveryQuery extends Page {
  status?: DeliveryStatus;
  topic?: DeliveryTopic;
  status_code?: number;
  /** RFC 3339 or Unix milliseconds. */
  since?: string | number;
  until?: string | number;
}

export interface DeliveryList {
  total: number;
  offset: number;
  limit: number;
  deliveries: Delivery[];
}

export interface RetryAccepted {
  delivery_id: string;
  status: 'pending';
  next_attempt_at: string;
}
