/**
 * Every Redis key, stream and queue name the service uses, in one place.
 *
 * All names carry a Redis Cluster hash tag:
 * - `{prefix}` for the control plane (orgs, keys, webhooks, delivery log, BullMQ's retry queue);
 * - `{prefix:sN}` for event-path shard N (the event stream, its backlog counter and the duplicate
 *   window), so the ingest script touches a single slot.
 * Nothing else in the code base builds a key by hand.
 */

export const CONSUMER_GROUP = 'workers';
export const RETRY_QUEUE = 'retries';

export interface ShardKeys {
  /** The event stream (XADD by the API, XREADGROUP by workers). */
  stream: string;
  /** Count of accepted events not yet acknowledged by a worker (the backlog bound of §1). */
  backlog: string;
  /** Duplicate-window key of an event id given by a producer. */
  dedupe(org: string, eventId: string): string;
  /** STRING a worker's lease for the shard's periodic stream trim (one worker at a time). */
  trimLease: string;
  /**
   * BullMQ's `prefix` for the shard's retry queue: `{prefix:sN}`, so retries spread over a
   * cluster as the streams do; shard 0 keeps the control-plane tag `{prefix}` it always had.
   */
  queuePrefix: string;
  /**
   * ZSET consumer name → ms (Redis clock) when that worker's liveness lapses, refreshed every
   * second or so: entries of a consumer whose liveness lapsed are claimed without waiting for
   * the claim-idle time. In the shard's slot, so one script reads it with the stream's group.
   */
  liveness: string;
  /**
   * Ordered delivery (docs/contract.md §8, docs/decisions/0007): ZSET, all scores 0, of one
   * webhook's deliveries of one device's events, members `<padded entry id>|<delivery id>` in
   * acceptance order. Its head is the one delivery of the chain that may be attempted.
   */
  orderChain(webhook: string, device: string): string;
  /** SET of stream entries planned (fanned out) past the watermark, not yet walked over. */
  orderPlanned: string;
  /** STRING the planned watermark: every stream entry up to this id has been planned. */
  orderWatermark: string;
  /** HASH delivery id → its chain member (in which chain is known from the delivery). */
  orderMembers: string;
  /** HASH delivery id → its chain's key (to release a delivery whose record is gone). */
  orderChainOf: string;
  /**
   * ZSET delivery id → ms of its entry: deliveries that have left their chain for good, so an entry
   * planned again (claimed from a worker thought dead) never puts one back. Trimmed with the stream.
   */
  orderDone: string;
  /** HASH delivery id → the worker (consumer) that was told to attempt it as its chain's head. */
  orderGoing: string;
  /** ZSET held delivery id → ms since it is held (the held gauges). */
  orderHeld: string;
  /** ZSET chained delivery id → ms of its entry id (maintenance keeps the stream from there). */
  orderChained: string;
  /** ZSET delivery id → ms it was released to run: cleared when its job runs, swept by workers. */
  orderReleased: string;
  /**
   * ZSET delivery id → ms its retry job runs at the latest: the shard's deliveries to `origin` that
   * an open circuit breaker turned away and whose jobs wait, parked, until a probe to the origin
   * succeeds (then they are promoted) or that time comes (docs/decisions/0005, "Parked").
   */
  parked(origin: string): string;
}

/** What a delivery log index is split by. */
export type DeliveryFacet = 'status' | 'topic' | 'code';

export interface Keys {
  prefix: string;
  /** The control-plane hash tag, also BullMQ's `prefix` option. */
  tag: string;
  shard(n: number): ShardKeys;
  /** HASH org id → org JSON. */
  orgs: string;
  /** HASH key id → key JSON (name, role, created_at, hash) for one org. */
  orgKeys(org: string): string;
  /** STRING: API key hash → `{id, org_id, role, name}`. */
  apiKey(hash: string): string;
  /** HASH webhook id → webhook JSON for one org. */
  orgWebhooks(org: string): string;
  /** HASH webhook id → `disabled_reason`, set when the service disables a webhook (410, failing 5 days). */
  orgWebhookState(org: string): string;
  /** HASH org id → webhook version, bumped on every webhook change (workers reload on change). */
  webhookVersions: string;
  /** STRING webhook id → org id. */
  webhookOrg(webhook: string): string;
  /** HASH webhook id → ms since its deliveries have all been failing (cleared on success). */
  failingSince: string;
  /**
   * HASH delivery id → delivery JSON, one per hour of creation (the hour is in the id, see
   * `deliveryHour`): a worker writes a whole batch of records with one HSET, and each hour expires
   * as a whole DEVHOOKS_LOG_TTL after it ends.
   */
  deliveries(hour: number): string;
  /** ZSET delivery id → created ms, one per webhook: the delivery log index. */
  webhookDeliveries(webhook: string): string;
  /**
   * STRING `c` (committed) or `a` (aborted) for a batch of events that spans shards: workers deliver
   * its entries only once it is committed (or, with no marker, once it is old enough: see ingest).
   */
  batchMarker(batch: string): string;
  /** HASH a webhook's shared rate-limit window (`rate_limit`, contract §9): second, admitted, deferred. */
  webhookRate(webhook: string): string;
  /** ZSET delivery id → created ms, one per org (every webhook's deliveries): the org-wide log index. */
  orgDeliveries(org: string): string;
  /**
   * ZSET delivery id → created ms: the part of a webhook's delivery log index whose deliveries
   * have `facet` = `value` (status, topic, status code or `none`). The delivery log's Lua scripts
   * build the same names from the index's (`<index>:<facet>:<value>`).
   */
  webhookDeliveryFacet(webhook: string, facet: DeliveryFacet, value: string): string;
  /** SET of the `<facet>:<value>` parts a webhook's index has (so a trim knows them all). */
  webhookDeliveryFacets(webhook: string): string;
  /** ZSET: the part of an org's delivery log index with `facet` = `value` (only status is kept). */
  orgDeliveryFacet(org: string, facet: DeliveryFacet, value: string): string;
  /** LIST the worker pushes a ping's first-attempt result to. */
  pingResult(delivery: string): string;
  /** STRING the most event-stream shards this deployment has used (DEVHOOKS_SHARDS may grow, not shrink). */
  shardCount: string;
  /**
   * HASH shard count → ms (Redis clock) when a process first recorded it: the deployment's shard
   * counts over time, so ingest can find an id's duplicate-window key on the shard the id had under
   * an earlier count (docs/decisions/0006, "Changing the shard count").
   */
  shardHistory: string;
  /**
   * HASH worker (consumer name) → JSON `{at, origins: [...]}`: each worker's circuit-breaker state
   * per receiver origin, published every few seconds (the failing-receivers page reads it; entries
   * older than a few publish periods are ignored, and the hash expires when no worker publishes).
   */
  breakerStates: string;
}

export function redisKeys(prefix: string): Keys {
  // no ':' in a prefix: `{a:s1}` must never be both prefix a's shard 1 and prefix a:s1's tag
  if (!/^[A-Za-z0-9._-]{1,64}$/.test(prefix)) {
    throw new Error(`prefix "${prefix}" must be 1–64 of A-Za-z0-9._-`);
  }
  const tag = `{${prefix}}`;
  return {
    prefix,
    tag,
    shard(n: number): ShardKeys {
      const s = `{${prefix}:s${n}}`;
      return {
        stream: `${s}:events`,
        backlog: `${s}:backlog`,
        dedupe: (org, eventId) => `${s}:dd:${org}:${eventId}`,
        trimLease: `${s}:trim-lease`,
        queuePrefix: n === 0 ? tag : s,
        liveness: `${s}:alive`,
        orderChain: (webhook, device) => `${s}:order:${webhook}:${device}`,
        orderPlanned: `${s}:order-planned`,
        orderWatermark: `${s}:order-wm`,
        orderMembers: `${s}:order-members`,
        orderChainOf: `${s}:order-chain-of`,
        orderDone: `${s}:order-done`,
        orderGoing: `${s}:order-going`,
        orderHeld: `${s}:order-held`,
        orderChained: `${s}:order-chained`,
        orderReleased: `${s}:order-released`,
        parked: (origin) => `${s}:parked:${origin}`,
      };
    },
    orgs: `${tag}:orgs`,
    orgKeys: (org) => `${tag}:org:${org}:keys`,
    apiKey: (hash) => `${tag}:apikey:${hash}`,
    orgWebhooks: (org) => `${tag}:org:${org}:webhooks`,
    orgWebhookState: (org) => `${tag}:org:${org}:webhook-state`,
    webhookVersions: `${tag}:webhook-versions`,
    webhookOrg: (webhook) => `${tag}:webhook:${webhook}:org`,
    failingSince: `${tag}:failing-since`,
    deliveries: (hour) => `${tag}:deliveries:${hour}`,
    webhookDeliveries: (webhook) => `${tag}:webhook:${webhook}:deliveries`,
    batchMarker: (batch) => `${tag}:batch:${batch}`,
    webhookRate: (webhook) => `${tag}:webhook:${webhook}:rate`,
    orgDeliveries: (org) => `${tag}:org:${org}:deliveries`,
    webhookDeliveryFacet: (webhook, facet, value) => `${tag}:webhook:${webhook}:deliveries:${facet}:${value}`,
    webhookDeliveryFacets: (webhook) => `${tag}:webhook:${webhook}:deliveries:facets`,
    orgDeliveryFacet: (org, facet, value) => `${tag}:org:${org}:deliveries:${facet}:${value}`,
    pingResult: (delivery) => `${tag}:ping:${delivery}`,
    shardCount: `${tag}:shard-count`,
    shardHistory: `${tag}:shard-history`,
    breakerStates: `${tag}:breaker-states`,
  };
}

/** Every key of a prefix matches this SCAN pattern (used by tests to clean up). */
export function keyPattern(prefix: string): string[] {
  const esc = prefix.replace(/[*?[\]\\]/g, '\\$&');
  return [`{${esc}}*`, `{${esc}:s*}*`];
}
