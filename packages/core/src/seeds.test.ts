/**
 * Every JSON example in the seed documents (copied verbatim to ../test/seeds from the contract's
 * seeds/) validates as an event and its body builder reproduces it byte for byte (after JSON parse
 * and stringify).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { checkEvents, type StoredEvent } from './events';
import { menderBody, mistBody, rawBody } from './envelopes';
import { checkWebhookBody } from './webhooks';

const seed = (name: string) => readFileSync(path.join(__dirname, '../test/seeds', name), 'utf8');

/**
 * Top-level `{...}` / `[...]` blocks that start a line, found by bracket counting. Brackets inside
 * strings are not special-cased: no seed string holds one, and a string-aware scan would be thrown
 * off by the seed's own quoting typo (see below).
 */
function jsonBlocks(text: string): string[] {
  const out: string[] = [];
  for (let i = 0; i < text.length; i++) {
    if (!((i === 0 || text[i - 1] === '\n') && (text[i] === '{' || text[i] === '['))) continue;
    let depth = 0;
    let j = i;
    for (; j < text.length; j++) {
      if (text[j] === '{' || text[j] === '[') depth++;
      else if ((text[j] === '}' || text[j] === ']') && --depth === 0) break;
    }
    out.push(text.slice(i, j + 1));
    i = j;
  }
  return out;
}

function ingest(events: unknown[]): StoredEvent[] {
  const r = checkEvents(events, 'org_seed', true);
  if (!r.ok) throw new Error(JSON.stringify(r.details));
  return r.events;
}

describe('Mender seed (mender-webhooks.md)', () => {
  const blocks = [...seed('mender-webhooks.md').matchAll(/```json\n([\s\S]*?)```/g)].map((m) => m[1]);

  it('has the two printed event examples', () => {
    expect(blocks).toHaveLength(2);
    expect(blocks.map((b) => JSON.parse(b).type)).toEqual(['device-status-changed', 'devices-inventory-changed']);
  });

  it.each([0, 1])('example %i validates and round-trips through the Mender envelope', (n) => {
    const printed = JSON.parse(blocks[n]);
    const [e] = ingest([printed]);
    expect(e.id).toBe(printed.id);
    expect(e.time).toBe(printed.time); // nanosecond precision kept as written
    expect(e.topic).toBe(n === 0 ? 'deviceauth' : 'inventory');
    expect(menderBody(e)).toBe(JSON.stringify(printed));
  });
});

describe('Mist seed (mist-webhooks.txt)', () => {
  // The Mist page is a web page: it indents with non-breaking spaces, which JSON does not take as
  // whitespace. That rendering artifact is turned back into spaces before anything else.
  const page = seed('mist-webhooks.txt');
  const blocks = jsonBlocks(page.replace(/\u00a0/g, ' '));
  const payloads = blocks.filter((b) => /^\{\s*"topic"/.test(b));
  const typeOf: Record<string, string> = { audits: 'audit', 'device-events': 'device-event', alarms: 'alarm' };

  it('prints seven payload examples: three audits, three device-events, one alarm', () => {
    expect(payloads.map((p) => /"topic":\s*"([^"]+)"/.exec(p)![1])).toEqual([
      'audits',
      'audits',
      'audits',
      'device-events',
      'device-events',
      'device-events',
      'alarms',
    ]);
  });

  // The seed prints `"site_id": ""<SITE_ID>"` (a doubled quote) in its device-events examples:
  // not JSON as printed. We record that, then check them with the one-character typo mended.
  const mend = (text: string) => text.replace(/""</g, '"<');

  it('indents with non-breaking spaces, as printed', () => {
    expect(page).toContain('\u00a0"topic": "audits"');
  });

  it('device-events examples are invalid JSON exactly as printed (seed typo), valid once mended', () => {
    const broken = payloads.filter((p) => p.includes('""<'));
    expect(broken).toHaveLength(3);
    for (const p of broken) {
      expect(() => JSON.parse(p)).toThrow(SyntaxError);
      expect(() => JSON.parse(mend(p))).not.toThrow();
    }
  });

  it.each(payloads.map((p, i) => [i, p] as const))(
    'payload %i validates and round-trips through the Mist envelope',
    (_i, text) => {
      const printed = JSON.parse(mend(text)) as { topic: string; events: object[] };
      const events = ingest(printed.events.map((data) => ({ type: typeOf[printed.topic], data })));
      expect(events.every((e) => e.topic === printed.topic)).toBe(true);
      expect(
        mistBody(
          events[0].topic,
          events.map((e) => e.data),
        ),
      ).toBe(JSON.stringify(printed));
    },
  );

  // The webhook configurations Mist prints use trailing commas and, once, typographic quotes.
  const configs = blocks
    .filter((b) => /"url"/.test(b))
    .map((b) => b.replace(/[“”]/g, '"').replace(/,(\s*[}\]])/g, '$1'))
    .map((b) => JSON.parse(b) as object | object[])
    .flatMap((b) => (Array.isArray(b) ? b : [b]));

  it('org and site webhook configurations are accepted as webhook bodies (Mist fields ignored)', () => {
    const ours = configs.filter((c) => !(c as { topics: string[] }).topics.includes('zone'));
    expect(ours).toHaveLength(3);
    for (const c of ours) {
      const r = checkWebhookBody(c, 'create');
      expect(r).toMatchObject({ ok: true });
      if (r.ok) {
        // Mist's empty secret means "no secret"; the default standard signing generates one
        expect(r.fields.secret).toMatch(/^whsec_/);
        expect(r.fields.topics).toEqual((c as { topics: string[] }).topics);
      }
    }
  });

  it('location-topic configurations are refused with a detail naming the topic', () => {
    const location = configs.filter((c) => (c as { topics: string[] }).topics.includes('zone'));
    expect(location).toHaveLength(2);
    const r = checkWebhookBody(location[0], 'create');
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.details[0]).toMatchObject({ path: '/topics/0' });
  });
});

describe('Mainflux seed (mainflux-webhooks.txt)', () => {
  const blocks = jsonBlocks(seed('mainflux-webhooks.txt'));

  it('a message (the printed profile config) is forwarded as it is', () => {
    const message = JSON.parse(blocks.find((b) => b.includes('"config"'))!);
    const [e] = ingest([{ type: 'message', data: message, group_id: '211e4567-e89b-12d3-a456-426614174000' }]);
    expect(e.topic).toBe('messages');
    expect(rawBody(e)).toBe(JSON.stringify(message));
  });

  it('the printed webhook (name, url, headers) is a valid webhook once it names its topics', () => {
    const printed = JSON.parse(blocks.find((b) => b.startsWith('[\n{\n"id"'))!)[0];
    const { id: _id, group_id, ...body } = printed;
    const r = checkWebhookBody({ ...body, group_id, topics: ['messages'] }, 'create');
    expect(r).toMatchObject({ ok: true, fields: { headers: { 'X-Api-Key': '<api_key>' }, group_id } });
  });
});
