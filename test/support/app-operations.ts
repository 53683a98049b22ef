/**
 * The API's operations outside `/v1`, as the OpenAPI document names them: probes, Prometheus, the
 * document itself, Bull Board and its failing-receivers page, the console's files. Checked against
 * the document (apps/api/test/openapi.test.ts) and against the client's routes
 * (packages/client/src/routes.test.ts), which cover every other operation.
 */
export const APP_OPERATIONS = [
  'GET /admin/failing',
  'GET /admin/queues',
  'GET /console',
  'GET /console/{asset}',
  'GET /healthz',
  'GET /metrics',
  'GET /openapi.json',
  'GET /readyz',
];
