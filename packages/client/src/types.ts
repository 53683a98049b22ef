/**
 * The API's shapes, as the OpenAPI document (apps/api/src/openapi/) describes them (contract §2–§9). Those core
 * defines (topics, event types, events, deliveries, attempts) come from core; the rest is written by hand
 * under the names of the document's component schemas, and kept honest by routes.test.ts (every
 * route and every field of these types against the document) and by the client's tests against the
 * real API.
 */

import type {
  AttemptRecord,
  DeliveryStatus,
  DeliveryTopic,
  DeliveryView,
  EventInput,
  EventType,
  Role,
  Ordering,
  Signing,
  Topic,
  WebhookView,
} from '@devhooks/core';

// the shapes core defines once (its schemas and types), as the API uses them
export type { AttemptRecord, DeliveryStatus, DeliveryTopic, EventType, Role, Signing, Topic };
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

export interface OrgCreate {
  name: string;
}

export interface Org {
  id: string;
  name: string;
  created_at: string;
}

export interface OrgList {
  orgs: Org[];
}

export interface ApiKeyCreate {
  name: string;
  role: Role;
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

export interface ApiKeyList {
  keys: ApiKey[];
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
  filter?: WebhookFilter | null;
}

/** Contract §9: which events of its topics a webhook gets. */
export interface WebhookFilter {
  types?: EventType[];
  data?: Record<string, unknown>;
}

/** PATCH: only the fields given change. */
export type WebhookPatch = Partial<WebhookInput>;

/**
 * A webhook as read (core's `WebhookView`): optional fields are absent when not set, the secret is
 * never read back (`has_secret`, `previous_secret_expires_at` while a rotated-out `standard` secret
 * still signs), header names as given with every value `"***"` (send `"***"` back to keep the
 * stored value), `disabled_reason` when the service disabled it; reads always carry `ordering`.
 */
export type Webhook = WebhookView & { ordering: Ordering };

/** A webhook as created: `secret` when one was generated, shown this once. */
export interface WebhookCreated extends Webhook {
  secret?: string;
}

export interface WebhookQuery extends Page {
  site_id?: string;
  group_id?: string;
  topic?: Topic;
}

export interface WebhookIds {
  webhook_ids: string[];
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

export interface RotateSecret {
  /** A secret of your own (default: generated). */
  secret?: string;
  /** How long the old secret keeps signing, e.g. `24h`. */
  grace?: string;
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

export type RecoverWindow = TimeWindow;

export interface ReplayWindow extends TimeWindow {
  types?: EventType[];
}

/**
 * Contract §9 answers `202 {deliveries}` and `202 {events}`: what was queued, as a count or as the
 * ids (the contract does not say which; `countOf` reads either).
 */
export interface RecoverAccepted {
  deliveries: number | string[];
  /** Present when the window held more than `max` failed deliveries: call again with this `since`. */
  next_since?: string;
  max?: number;
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

export interface EventTypeList {
  event_types: EventTypeInfo[];
}

/** The request as sent, rebuilt from the stored events. */
export interface DeliveryRequest {
  method: 'POST';
  url: string;
  /** Signature values are redacted, the webhook's own header values `"***"`. */
  headers: Record<string, string>;
  /** The body text; null when the events have left the stream (`body_unavailable` says so). */
  body: string | null;
  body_unavailable?: string;
}

export interface DeliveryDetail extends Delivery {
  request: DeliveryRequest;
  attempt_log: Attempt[];
}

export interface DeliveryQuery extends Page {
  status?: DeliveryStatus;
  topic?: DeliveryTopic;
  status_code?: number;
  /** RFC 3339 or Unix milliseconds. */
  since?: string | number;
  until?: string | number;
  /** Start just past this delivery (older): a previous answer's `next`, with `offset` 0. */
  after?: string;
}

export interface DeliveryList {
  /** Matches from `after` on: exact unless `truncated`, then a lower bound. */
  total: number;
  offset: number;
  limit: number;
  deliveries: Delivery[];
  /** The listing stopped at its bound of records checked before it saw every candidate. */
  truncated?: true;
  /** Present when there may be more: pass it as `after` for the next page (or to go on searching). */
  next?: string;
}

export interface RetryAccepted {
  delivery_id: string;
  status: 'pending';
  next_attempt_at: string;
}
