/** The whole-body JSON Schemas agree with the checks the service runs (ajv schemas plus code). */
import Ajv2020 from 'ajv/dist/2020';
import addFormats from 'ajv-formats';
import { checkEvents } from './events';
import { webhookFilterSchema } from './filters';
import { eventJsonSchema, webhookBodyJsonSchema } from './json-schemas';
import { checkWebhookBody } from './webhooks';

const ajv = new Ajv2020({ strict: true, allowUnionTypes: true });
addFormats(ajv);
ajv.addSchema(webhookFilterSchema);
const webhookCreate = ajv.compile(webhookBodyJsonSchema('create'));
const webhookPatch = ajv.compile(webhookBodyJsonSchema('patch'));
const event = ajv.compile(eventJsonSchema);

const hook = { name: 'a', url: 'https://a.example.com/h', topics: ['alarms'] };
const b64 = (n: number) => Buffer.alloc(n, 7).toString('base64');

describe('webhookBodyJsonSchema', () => {
  it.each<[string, object]>([
    ['minimal', hook],
    ['ftp url', { ...hook, url: 'ftp://a.example.com/h' }],
    ['header', { ...hook, headers: { 'X-Token': 'abc' } }],
    ['reserved header', { ...hook, headers: { 'CONTENT-length': '1' } }],
    ['signature header', { ...hook, headers: { 'X-Men-Signature': '1' } }],
    ['webhook-* header', { ...hook, headers: { 'WEBHOOK-Extra': '1' } }],
    ['header name with a space', { ...hook, headers: { 'X Token': '1' } }],
    ['header value with a line break', { ...hook, headers: { 'X-Token': 'a\r\nb' } }],
    ['standard secret, 24 bytes', { ...hook, secret: 'whsec_' + b64(24) }],
    ['standard secret, 64 bytes', { ...hook, secret: 'whsec_' + b64(64) }],
    ['standard secret, 23 bytes', { ...hook, secret: 'whsec_' + b64(23) }],
    ['standard secret, 65 bytes', { ...hook, secret: 'whsec_' + b64(65) }],
    ['mender secret', { ...hook, signing: 'mender', secret: 'a0B1' }],
    ['mender secret, odd length', { ...hook, signing: 'mender', secret: 'abc' }],
    ['mist secret, 256 characters', { ...hook, signing: 'mist', secret: 'é'.repeat(256) }],
    ['mist secret, 257 characters', { ...hook, signing: 'mist', secret: 's'.repeat(257) }],
    ['no secret', { ...hook, signing: 'mist', secret: null }],
    ['filter', { ...hook, filter: { types: ['alarm'], data: { severity: { $in: ['warn'] } } } }],
    ['filter, unknown operator', { ...hook, filter: { data: { severity: { $gt: 1 } } } }],
    ['filter, empty path segment', { ...hook, filter: { data: { 'a..b': 1 } } }],
  ])('create: %s', (_name, body) => {
    expect(webhookCreate(body)).toBe(checkWebhookBody(body, 'create').ok);
  });

  it('patch: asks for a field and checks the secret against the scheme given', () => {
    expect(webhookPatch({})).toBe(false);
    expect(webhookPatch({ enabled: false })).toBe(true);
    expect(webhookPatch({ signing: 'mender', secret: 'xyz' })).toBe(false);
    // without `signing`, the secret is checked against the stored webhook's scheme: not here
    expect(webhookPatch({ secret: 'xyz' })).toBe(true);
  });
});

describe('eventJsonSchema', () => {
  it.each<[string, object]>([
    ['status change', { type: 'device-status-changed', data: { id: 'd', status: 'accepted' } }],
    ['bad status', { type: 'device-status-changed', data: { id: 'd', status: 'gone' } }],
    ['decommissioned without id', { type: 'device-decommissioned', data: {} }],
    ['inventory', { type: 'device-inventory-changed', data: { device_id: 'd', inventory: [] } }],
    ['alarm without timestamp', { type: 'alarm', data: { type: 'x' } }],
    ['alarm', { type: 'alarm', data: { type: 'x', timestamp: '2025-01-20T10:00:00Z' } }],
    ['message', { type: 'message', data: { anything: [1] } }],
    ['bad id', { id: 'a b', type: 'message', data: {} }],
  ])('%s', (_name, e) => {
    expect(event(e)).toBe(checkEvents([e], 'org', false).ok);
  });
});
