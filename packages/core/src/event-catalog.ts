/**
 * The event-type catalog (`GET /v1/event-types`, contract §9): every type a producer may send, its
 * topic, what it means, the JSON schema of its `data`, and an example `data`. Examples are taken
 * from the seed documents (Mender, Mist, Mainflux; see test/seeds) where they print one, and follow
 * the seeds' field lists where they do not (device-provisioned, device-decommissioned).
 */
import { dataSchemas } from './schemas';
import { EVENT_TYPE_NAMES, EVENT_TYPES, type EventType, type Topic } from './topics';

export interface EventTypeInfo {
  type: EventType;
  topic: Topic;
  description: string;
  schema: object;
  example: Record<string, unknown>;
}

const MIST_SITE = '978c48e6-6ef6-11e6-8bbf-02e208b2d34f';
const MIST_ORG = '9777c1a0-6ef6-11e6-8bbf-02e208b2d34f';

const inventoryExample = {
  device_id: '1c251e63-ca93-41e2-ae39-97f402d93dd3',
  tenant_id: '66ff8a4650829de3d99a25f1',
  inventory: [
    { name: 'artifact_name', value: 'large', scope: 'inventory' },
    { name: 'cpu_model', value: 'ARMv7 Processor rev 3 (v7l)', scope: 'inventory' },
    { name: 'device_type', value: 'raspberrypi4', scope: 'inventory' },
  ],
};

const ENTRIES: Record<EventType, { description: string; example: Record<string, unknown> }> = {
  'device-provisioned': {
    description:
      'A device was provisioned (accepted into the fleet); data carries the device with its accepted authentication set (Mender).',
    example: {
      id: '769e5a83-259c-4506-ab05-9c2564f196fd',
      status: 'accepted',
      auth_sets: [{ id: 'a1b2c3d4-0000-4000-8000-000000000001', status: 'accepted' }],
      created_ts: '2022-09-13T10:03:47.746805235Z',
    },
  },
  'device-status-changed': {
    description:
      "A device's authentication status changed: accepted, noauth, pending, preauthorized, rejected or decommissioned (Mender).",
    example: { id: '769e5a83-259c-4506-ab05-9c2564f196fd', status: 'accepted' },
  },
  'device-decommissioned': {
    description: 'A device was decommissioned; data carries only the device id (Mender).',
    example: { id: '769e5a83-259c-4506-ab05-9c2564f196fd' },
  },
  'devices-inventory-changed': {
    description: "A device's inventory attributes changed (Mender); each entry has a name, a value and a scope.",
    example: inventoryExample,
  },
  'device-inventory-changed': {
    description: 'Same as devices-inventory-changed (the singular spelling is accepted too).',
    example: inventoryExample,
  },
  audit: {
    description: 'An administrator changed the configuration (Mist audits); batched per webhook.',
    example: {
      admin_name: 'Jonathan jonathan@mistsys.com jonathan@mistsys.com',
      id: 'e766d0c1-72a9-4f36-bac8-87ae0dff2958',
      message: 'Update Site "Old Site"',
      org_id: '<ORG_ID>',
      site_id: '<SITE_ID>',
      src_ip: '71.93.124.103',
      timestamp: 1549049725.732884,
    },
  },
  'device-event': {
    description:
      'Something happened on a device, e.g. AP_RESTARTED or AP_CONFIGURED (Mist device-events); batched per webhook.',
    example: { ap: '<AP_MAC>', org_id: '<ORG_ID>', site_id: '<SITE_ID>', timestamp: 1548095795, type: 'AP_RESTARTED' },
  },
  alarm: {
    description: 'An alarm was raised: infrastructure, security or marvis (Mist alarms); batched per webhook.',
    example: {
      aps: ['5c5b355003cf', '5c5b353e4eca'],
      count: 2,
      group: 'infrastructure',
      hostnames: ['AP1', 'AP2'],
      id: 'd8925edf-3a34-41a7-a90b-c91b7e2c3a10',
      last_seen: '2021-07-07T12:27:51',
      org_id: MIST_ORG,
      severity: 'warn',
      site_id: MIST_SITE,
      site_name: 'Live Demo',
      timestamp: 1625661567.201274,
      type: 'device_down',
    },
  },
  message: {
    description: "A device's message, forwarded as it is (Mainflux); the body is the data itself.",
    example: { config: { content_type: 'application/json', write: true, webhook: true, smtp_id: '' } },
  },
};

/** The catalog, in the order of contract §4; built once. */
export const EVENT_CATALOG: readonly EventTypeInfo[] = EVENT_TYPE_NAMES.map((type) => ({
  type,
  topic: EVENT_TYPES[type],
  description: ENTRIES[type].description,
  schema: dataSchemas[type],
  example: ENTRIES[type].example,
}));
