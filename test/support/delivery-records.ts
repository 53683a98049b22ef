/** Delivery records for delivery-log tests, placed at a given time (the id carries it). */
import { deliveryId, type DeliveryTopic } from '@devhooks/core';
import type { DeliveryRecord, DeliveryStatus } from '@devhooks/engine';

export function deliveryRecord(
  ms: number,
  webhookId: string,
  over: Partial<Pick<DeliveryRecord, 'status' | 'topic' | 'status_code' | 'error' | 'org_id'>> = {},
): DeliveryRecord {
  const entry = `${ms}-0`;
  const id = deliveryId(entry, webhookId);
  const at = new Date(ms).toISOString();
  const status: DeliveryStatus = over.status ?? 'succeeded';
  const topic: DeliveryTopic = over.topic ?? 'deviceauth';
  return {
    id,
    org_id: over.org_id ?? 'org_1',
    webhook_id: webhookId,
    event_ids: [`evt-${ms}`],
    entry_ids: [entry],
    topic,
    message_id: `evt-${ms}`,
    url: 'https://receiver.example.com/in',
    status,
    attempts: 1,
    status_code: over.status_code === undefined ? 200 : over.status_code,
    error: over.error ?? null,
    created_at: at,
    updated_at: at,
    next_attempt_at: null,
    attempt_log: [{ at, status_code: 200, duration_ms: 12, error: null, response_body: 'ok' }],
  };
}
