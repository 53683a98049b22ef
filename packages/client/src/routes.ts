/**
 * Every call the client makes, as `METHOD /path/{param}`: one table, so routes.test.ts can check
 * each against the OpenAPI document. The console calls through the same table: the API serves it,
 * with `fillPath`, as the browser module `/console/client.js` (apps/api/src/routes/console.ts).
 */
export const ROUTES = {
  whoami: 'GET /v1/whoami',
  createOrg: 'POST /v1/orgs',
  listOrgs: 'GET /v1/orgs',
  getOrg: 'GET /v1/orgs/{org_id}',
  listKeys: 'GET /v1/orgs/{org_id}/keys',
  createKey: 'POST /v1/orgs/{org_id}/keys',
  revokeKey: 'DELETE /v1/orgs/{org_id}/keys/{key_id}',
  sendEvents: 'POST /v1/events',
  listEventTypes: 'GET /v1/event-types',
  createWebhook: 'POST /v1/webhooks',
  listWebhooks: 'GET /v1/webhooks',
  getWebhook: 'GET /v1/webhooks/{id}',
  replaceWebhook: 'PUT /v1/webhooks/{id}',
  patchWebhook: 'PATCH /v1/webhooks/{id}',
  deleteWebhook: 'DELETE /v1/webhooks/{id}',
  deleteWebhooks: 'DELETE /v1/webhooks',
  pingWebhook: 'POST /v1/webhooks/{id}/ping',
  rotateSecret: 'POST /v1/webhooks/{id}/rotate-secret',
  recoverWebhook: 'POST /v1/webhooks/{id}/recover',
  replayWebhook: 'POST /v1/webhooks/{id}/replay',
  listWebhookDeliveries: 'GET /v1/webhooks/{id}/deliveries',
  listDeliveries: 'GET /v1/deliveries',
  getDelivery: 'GET /v1/deliveries/{id}',
  retryDelivery: 'POST /v1/deliveries/{id}/retry',
} as const;

export type RouteName = keyof typeof ROUTES;

/**
 * The OpenAPI component schemas of each route's JSON request body and success answer: types.ts
 * has a type of each name, and routes.test.ts checks the names against the document's operations
 * and each type's fields against its schema.
 */
export const ROUTE_SCHEMAS: Record<RouteName, { request?: string; response?: string }> = {
  whoami: { response: 'Whoami' },
  createOrg: { request: 'OrgCreate', response: 'Org' },
  listOrgs: { response: 'OrgList' },
  getOrg: { response: 'Org' },
  listKeys: { response: 'ApiKeyList' },
  createKey: { request: 'ApiKeyCreate', response: 'ApiKeyCreated' },
  revokeKey: {},
  sendEvents: { request: 'Event', response: 'EventsAccepted' },
  listEventTypes: { response: 'EventTypeList' },
  createWebhook: { request: 'WebhookInput', response: 'WebhookCreated' },
  listWebhooks: { response: 'WebhookList' },
  getWebhook: { response: 'Webhook' },
  replaceWebhook: { request: 'WebhookInput', response: 'WebhookCreated' },
  patchWebhook: { request: 'WebhookPatch', response: 'WebhookCreated' },
  deleteWebhook: {},
  deleteWebhooks: { request: 'WebhookIds' },
  pingWebhook: { response: 'PingResult' },
  rotateSecret: { request: 'RotateSecret', response: 'RotatedSecret' },
  recoverWebhook: { request: 'RecoverWindow', response: 'RecoverAccepted' },
  replayWebhook: { request: 'ReplayWindow', response: 'ReplayAccepted' },
  listWebhookDeliveries: { response: 'DeliveryList' },
  listDeliveries: { response: 'DeliveryList' },
  getDelivery: { response: 'DeliveryDetail' },
  retryDelivery: { response: 'RetryAccepted' },
};

/**
 * `/v1/webhooks/{id}` with `{id: 'wh 1'}` → `/v1/webhooks/wh%201`. Served to the browser as its
 * source (apps/api/src/routes/console.ts): it must use nothing from outside its own body.
 */
export function fillPath(template: string, params: Record<string, string>): string {
  return template.replace(/\{([a-z_]+)\}/g, (_m, name: string) => {
    const v = params[name];
    if (v === undefined || v === '') throw new TypeError(`missing path parameter "${name}"`);
    return encodeURIComponent(v);
  });
}

/** How many a §9 answer counts: `{deliveries: 3}` and `{deliveries: ['dlv_…', …]}` alike. */
export function countOf(value: number | readonly unknown[]): number {
  return Array.isArray(value) ? value.length : Number(value);
}
