/**
 * A delivery as the API shows it (docs/contract.md §6): one event, or a Mist batch, to one
 * webhook, and the attempts it took. The engine's record (stores/delivery-log.ts) adds the fields
 * only it needs; the client package uses these as they are.
 */
import type { DeliveryError } from './delivery-errors';
import type { DeliveryTopic } from './topics';

export type DeliveryStatus = 'pending' | 'succeeded' | 'failed';

/** One attempt of a delivery. */
export interface AttemptRecord {
  at: string;
  status_code: number | null;
  duration_ms: number;
  /** A short code of the delivery-error vocabulary (`timeout`, `http_503`, `circuit_open`, …) or null. */
  error: DeliveryError | null;
  /** What the code stands for, in words. */
  error_message?: string;
  response_headers?: Record<string, string>;
  /** The first 4 KiB of the response body. */
  response_body?: string;
  /** `manual` for retries asked for by hand, `recover` for those of a recover call. */
  trigger?: 'manual' | 'recover';
}

/** The public shape of a delivery (listings and detail). */
export interface DeliveryView {
  id: string;
  webhook_id: string;
  event_ids: string[];
  topic: DeliveryTopic;
  /** The `webhook-id` header: the same on every attempt. */
  message_id: string;
  url: string;
  status: DeliveryStatus;
  attempts: number;
  status_code: number | null;
  error: DeliveryError | null;
  created_at: string;
  updated_at: string;
  next_attempt_at: string | null;
  /** docs/contract.md §8: the delivery a held one waits for. */
  held_by?: string;
}
