/** The event-type catalog: one entry per type, each example valid against its schema and taken from the seeds. */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { EVENT_CATALOG } from './event-catalog';
import { checkEvents } from './events';
import { validators } from './schemas';
import { EVENT_TYPE_NAMES, topicOf } from './topics';

const seeds = ['mender-webhooks.md', 'mist-webhooks.txt', 'mainflux-webhooks.txt']
  .map((f) => readFileSync(path.join(__dirname, '../test/seeds', f), 'utf8'))
  .join('\n')
  .replace(/\u00a0/g, ' ');

describe('EVENT_CATALOG', () => {
  it('lists every event type once, in the order of the contract, with its topic', () => {
    expect(EVENT_CATALOG.map((e) => e.type)).toEqual(EVENT_TYPE_NAMES);
    for (const e of EVENT_CATALOG) expect(e.topic).toBe(topicOf(e.type));
  });

  it.each(EVENT_CATALOG.map((e) => [e.type, e] as const))('%s: its example validates against its schema', (type, e) => {
    expect(validators.data[type](e.example)).toBe(true);
    expect(checkEvents([{ type, data: e.example }], 'org', true)).toMatchObject({ ok: true });
    expect(e.description.length).toBeGreaterThan(20);
    expect(e.schema).toHaveProperty('type', 'object');
  });

  it.each(
    EVENT_CATALOG.filter((e) => !['device-provisioned', 'device-decommissioned'].includes(e.type)).map(
      (e) => [e.type, e] as const,
    ),
  )('%s: every scalar of its example is printed in a seed document', (_t, e) => {
    const scalars: string[] = [];
    const walk = (v: unknown) => {
      if (v !== null && typeof v === 'object') Object.values(v).forEach(walk);
      else if (typeof v === 'string' && v !== '') scalars.push(v);
      else if (typeof v === 'number') scalars.push(String(v));
    };
    walk(e.example);
    for (const s of scalars) expect(seeds.includes(s) || seeds.includes(JSON.stringify(s).slice(1, -1))).toBe(true);
  });
});
