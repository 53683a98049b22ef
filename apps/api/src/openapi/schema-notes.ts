/**
 * What the API document says about the schemas core defines: descriptions and examples, by
 * component and property. The constraints themselves come from core (components.ts); a note on a
 * property the schema does not have fails the build of the document.
 */

export interface SchemaNotes {
  description?: string;
  examples?: unknown[];
  properties?: Record<string, { description?: string; examples?: unknown[] }>;
}

const readOnly = (what: string) => ({
  description: `Read-only ${what}: accepted (so a read can be sent back) and ignored.`,
});

/** An optional 1–256 character id (site, group, device). */
const optionalId = (what: string) => ({
  description: `${what}: 1–256 characters; \`null\` (or absent) means none.`,
});

/** The webhook fields both a whole body and a patch describe alike. */
const webhookFields = {
  name: { description: '1–100 characters.' },
  url: {
    description:
      'Absolute `http` or `https` URL (WHATWG URL syntax), at most 2048 characters, with a host and no user name or password (put credentials in `headers`). Unless `DEVHOOKS_ALLOW_PRIVATE_TARGETS=true`, a URL that is or resolves to a loopback, private, link-local, CGNAT, multicast or reserved address answers 422.',
    examples: ['https://receiver.example.com/hooks/devhooks'],
  },
  topics: { description: 'Non-empty, no repeats.' },
  site_id: optionalId('Site the webhook is limited to (none: every site of the org)'),
  group_id: optionalId('Group the webhook is limited to (none: every group)'),
  headers: {
    description:
      'Extra request headers sent with every delivery (`null` clears them). At most 4096 bytes in all (names and values). Names are HTTP tokens, unique ignoring case, and none of `Host`, `Content-Length`, `Transfer-Encoding`, `Connection`, `Keep-Alive`, `Upgrade`, `TE`, `Trailer`, `Proxy-Connection`, the signature headers (`X-Men-Signature`, `X-Men-Algorithm`, `X-Mist-Signature`, `X-Mist-Signature-v2`) nor any `webhook-*` header. Values hold no control characters or line breaks. Values are write-only: reads show `"***"`, and `"***"` sent here keeps the stored value of that header (refused for a header with no stored value).',
    examples: [{ Authorization: 'Bearer receiver-token' }],
  },
  single_event_per_message: {
    description: 'Default `false`. `true` turns batching off for Mist-style topics (audits, device-events, alarms).',
  },
  metadata: { description: 'Free-form object kept with the webhook, at most 4096 bytes as JSON; `null` clears it.' },
  rate_limit: {
    description:
      'Requests per second to this webhook, over all workers together (a shared limiter in Redis). Deliveries over it wait (no attempt is used, nothing fails). At most one second of burst: a receiver may see up to twice the limit within one second at a window edge. `null` or absent: no limit.',
  },
  filter: { description: 'Optional filter; `null` or absent: every event of the topics.' },
  ordering: { description: 'Default `none`.' },
  id: readOnly('webhook id'),
  org_id: readOnly('org id'),
  created_at: readOnly('creation time'),
  updated_at: readOnly('update time'),
  has_secret: readOnly('flag'),
  disabled_reason: readOnly('field'),
  for_site: readOnly('Mist field'),
  created_time: readOnly('Mist field'),
  modified_time: readOnly('Mist field'),
  previous_secret_expires_at: readOnly('field'),
};

/** A whole body's or a patch's properties: the shared fields and what each says of signing, secret, enabled. */
const webhookProperties = (notes: { signing: string; secret: string; enabled: string }) => ({
  ...webhookFields,
  signing: { description: notes.signing },
  secret: { description: SECRET + notes.secret },
  enabled: { description: notes.enabled },
});

/** `since` and `until` of the recover and replay windows. */
const windowFields = {
  since: { description: 'RFC 3339; inclusive.' },
  until: { description: 'RFC 3339; inclusive; default now.' },
};

const SECRET =
  'Signing secret, never read back. `standard`: `whsec_` + base64 of 24–64 bytes; `mender`: hex, even length, 2–128 digits; `mist`: 1–256 characters. `standard` webhooks always have one: when none is given (absent, `null` or `""`) one is generated and returned once, as `secret`, in the response. `mender` and `mist` webhooks may have none (no signature headers): `null` or `""` clears it. ';

export const SCHEMA_NOTES: Record<string, SchemaNotes> = {
  Error: {
    description:
      'Every error answer. `code` is one of: `invalid_request`, `invalid_json` (400), `unauthorized` (401), `forbidden` (403), `not_found` (404), `payload_too_large` (413), `unsupported_media_type` (415), `target_refused` (422), `backlog_full` (429), `internal` (500), `not_ready` (503, `/readyz`).',
    examples: [
      {
        error: {
          code: 'invalid_request',
          message: 'the batch has invalid events; none was accepted',
          details: [
            {
              index: 1,
              path: '/data/status',
              message: 'must be one of: accepted, noauth, pending, preauthorized, rejected, decommissioned',
            },
          ],
        },
      },
    ],
  },
  Topic: { description: 'A subscribable topic.' },
  DeliveryTopic: { description: "A delivery's topic: a subscribable topic, or `ping`." },
  Ordering: {
    description:
      '`device`: deliveries of one device (the partition key of contract §7) to this webhook are attempted one at a time, in acceptance order (contract §8): a delivery waiting for a retry holds the later ones of the same device (they read `pending` with `held_by`); one that ends `failed` releases the next. Events without a device are never held. Mist-style topics are sent one event per message for such devices.',
  },
  WebhookInput: {
    description:
      'A whole webhook: the body of create (`POST /v1/webhooks`, one item of a batch) and replace (`PUT /v1/webhooks/{id}`). Unknown fields answer 400; the read-only fields of a read are accepted and ignored.',
    examples: [
      {
        name: 'device fleet',
        url: 'https://receiver.example.com/hooks/devhooks',
        topics: ['deviceauth', 'inventory'],
        site_id: 'site-berlin',
        headers: { Authorization: 'Bearer receiver-token' },
        metadata: { team: 'ops' },
      },
    ],
    properties: webhookProperties({
      signing: 'Signature scheme; default `standard`.',
      secret:
        'On PUT, an absent `secret` keeps the old one when the scheme is unchanged; a scheme change without a secret generates one (`standard`) or leaves none (`mender`, `mist`).',
      enabled: 'Default `true`. Clears `disabled_reason`.',
    }),
  },
  WebhookPatch: {
    description:
      'The fields to change (at least one besides the ignored read-only ones); the rest are kept. `null` clears `site_id`, `group_id`, `headers`, `metadata` (and the secret of a `mender`/`mist` webhook). A `secret` is checked against `signing` as given, else the current scheme.',
    examples: [{ enabled: false }],
    properties: webhookProperties({
      signing: 'Signature scheme; absent keeps the current one.',
      secret:
        'PATCH without `secret` keeps the current secret while the scheme stays the same and the secret is valid for it; otherwise a `standard` webhook gets a generated one and a `mender`/`mist` one is left without.',
      enabled: 'Setting it (either way) clears `disabled_reason`.',
    }),
  },
  WebhookIds: { examples: [{ webhook_ids: ['wh_3k9x0q2m7t1v8b4n6c5z', 'wh_7h6g5f4d3s2a1q0w9e8r'] }] },
  Timestamp: { description: 'Unix seconds (often fractional, as Mist sends them) or an RFC 3339 date-time.' },
  DeviceAuthData: {
    description:
      '`data` of `device-provisioned` and `device-decommissioned` (Mender). Other fields are kept as they are.',
    properties: {
      id: { description: 'The device id.' },
      auth_sets: { description: 'Mender authentication sets, forwarded as they are.' },
    },
  },
  DeviceStatusChangedData: {
    description: '`data` of `device-status-changed` (Mender). Other fields are kept as they are.',
    properties: {
      id: { description: 'The device id.' },
      auth_sets: { description: 'Mender authentication sets, forwarded as they are.' },
    },
  },
  InventoryData: {
    description:
      '`data` of `devices-inventory-changed` and `device-inventory-changed` (Mender). Other fields are kept as they are.',
  },
  AuditData: { description: '`data` of `audit` (Mist). Other fields are kept as they are.' },
  DeviceEventData: {
    description: '`data` of `device-event` (Mist). Other fields are kept as they are.',
    properties: { type: { examples: ['AP_RESTARTED'] } },
  },
  AlarmData: { description: '`data` of `alarm` (Mist). Other fields are kept as they are.' },
  MessageData: { description: '`data` of `message` (Mainflux): any object, delivered as it is.' },
  Event: {
    description: 'One event in. `data` must match the schema of its `type`. Unknown fields answer 400.',
    examples: [
      {
        id: 'e57adf60-5d8c-4c66-802a-e0c5f643102a',
        type: 'device-status-changed',
        data: { id: '769e5a83-259c-4506-ab05-9c2564f196fd', status: 'accepted' },
        time: '2022-09-13T10:03:47.746805235Z',
      },
    ],
    properties: {
      id: {
        description:
          '1–128 of `A-Za-z0-9._:-`; a UUID is generated when absent. The same id again in the same org within 24 h is a duplicate: counted, not delivered again.',
      },
      site_id: optionalId('Site the event belongs to, used for matching'),
      group_id: optionalId('Group the event belongs to, used for matching'),
      device_id: optionalId('Device the event is about (the partition key of ordered delivery)'),
      time: { description: 'RFC 3339; default (absent or `null`): when it arrived.' },
    },
  },
  FilterCondition: {
    description:
      'One condition on the value at a dotted path of the event `data` (`a.b.0.c`: array items by index): a string, number, boolean or null must be equal (strictly; a missing value equals nothing); `{"$in": [...]}` one of 1–100 such values; `{"$ne": v}` anything else, missing included; `{"$exists": true|false}` present (null counts) or missing.',
  },
  WebhookFilter: {
    description:
      'Which events of its topics the webhook gets: every condition must hold. `types`: event types, each of a topic the webhook subscribes to. `data`: 1–32 conditions keyed by dotted path. Checked at create and update (400 with the path of the bad condition, e.g. `/filter/data/status`); applied at fan-out, and by replay.',
    examples: [
      {
        types: ['device-status-changed'],
        data: { status: { $in: ['accepted', 'preauthorized'] }, auth_sets: { $exists: true } },
      },
    ],
  },
  RotateSecret: {
    examples: [{ grace: '24h' }, { secret: 'whsec_BwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwc=', grace: 0 }],
    properties: {
      secret: {
        description:
          "The new secret, by the webhook's `signing` rules (as at create); generated when absent. Must differ from the current one.",
      },
      grace: {
        description:
          'How long the old secret keeps signing (`standard` only): a duration (`<number><ms|s|m|h|d>`, e.g. `"24h"`, `"0"`) or whole seconds; default `24h`, at most `7d`; `0` switches at once.',
      },
    },
  },
  RecoverWindow: {
    examples: [{ since: '2025-01-20T00:00:00Z', until: '2025-01-20T12:00:00Z' }],
    properties: windowFields,
  },
  ReplayWindow: {
    examples: [{ since: '2025-01-19T12:00:00Z', types: ['devices-inventory-changed'] }],
    properties: {
      ...windowFields,
      types: { description: "Only these event types (besides the webhook's own filter)." },
    },
  },
};
