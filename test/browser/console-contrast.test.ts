/**
 * The console's colours meet WCAG 2.x AA contrast (4.5:1, asked of all text here, large or not),
 * measured in a real Chromium against the real API and worker on real Redis: on each main page
 * (sign-in, Webhooks, Activity, a delivery, Event types, Keys) every element with text of its
 * own (body text, headings, labels, buttons, links, navigation, status badges, hints and
 * errors) is read with its computed colour and the background it is drawn on, and the ratio is
 * computed here from WCAG's relative luminance.
 */
import { DeliveryLog } from '@devhooks/engine';
import { deliveryRecord } from '../support/delivery-records';
import { startStack, type Stack } from '../support/stack';
import { seeCount, seeText, seeVisible, startBrowser, type TestBrowser } from '../support/browser';

jest.setTimeout(180_000);

let s: Stack;
let b: TestBrowser;
let failedId = '';

beforeAll(async () => {
  s = await startStack(__filename, { worker: { DEVHOOKS_RETRY_SCHEDULE: '0' } });
  const hook = await s.webhook({ name: 'Contrast receiver', url: s.rx.url('/in'), topics: ['deviceauth'] });
  // a delivered event, and one record of each other status (badges), written through the store
  await s.send({ type: 'device-provisioned', data: { id: 'dev-contrast' } });
  await s.rx.waitOn('/in', 1);
  const log = new DeliveryLog(s.redis, s.keys, { ttlMs: 7 * 86_400_000, maxPerWebhook: 10_000 });
  const now = Date.now() - 60_000;
  const failed = deliveryRecord(now, hook.id, {
    org_id: s.org.id,
    status: 'failed',
    status_code: 500,
    error: 'http_500',
  });
  const pending = deliveryRecord(now - 1000, hook.id, { org_id: s.org.id, status: 'pending', status_code: 503 });
  await log.write([failed, pending], { created: true });
  failedId = failed.id;
  b = await startBrowser(s.api.base);
});

afterAll(async () => {
  await b?.close();
  await s?.close();
});

type Rgba = [number, number, number, number];

/** `rgb(1, 2, 3)` / `rgba(1, 2, 3, 0.5)` → [r, g, b, a]. */
function parseColour(css: string): Rgba {
  const m = /^rgba?\(([\d.]+),\s*([\d.]+),\s*([\d.]+)(?:,\s*([\d.]+))?\)$/.exec(css);
  if (!m) throw new Error(`unexpected colour ${css}`);
  return [Number(m[1]), Number(m[2]), Number(m[3]), m[4] === undefined ? 1 : Number(m[4])];
}

/** `top` drawn over the opaque `under` (alpha compositing). */
function over(top: Rgba, under: Rgba): Rgba {
  const a = top[3];
  return [0, 1, 2].map((i) => top[i] * a + under[i] * (1 - a)).concat(1) as Rgba;
}

/** WCAG 2.x relative luminance of an sRGB colour. */
function luminance([r, g, b]: Rgba): number {
  const lin = (c: number) => {
    const v = c / 255;
    return v <= 0.04045 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4;
  };
  return 0.2126 * lin(r) + 0.7152 * lin(g) + 0.0722 * lin(b);
}

/** WCAG 2.x contrast ratio: (L1 + 0.05) / (L2 + 0.05), the lighter over the darker. */
function contrast(a: Rgba, b: Rgba): number {
  const [hi, lo] = [luminance(a), luminance(b)].sort((x, y) => y - x);
  return (hi + 0.05) / (lo + 0.05);
}

interface Sample {
  what: string;
  kind: string;
  text: string;
  colour: string;
  /** Background colours from the element out to the page, innermost first. */
  backgrounds: string[];
}

/** Every visible element with text of its own, with its colour and the backgrounds behind it. */
function samples(): Promise<Sample[]> {
  // runs in the page (a string: the tests are type-checked without the DOM's types)
  return b.page.evaluate(`(() => {
    const out = [];
    for (const el of document.querySelectorAll('body *')) {
      const own = [...el.childNodes]
        .filter((n) => n.nodeType === Node.TEXT_NODE)
        .map((n) => n.textContent)
        .join('')
        .trim();
      if (!own || ['SCRIPT', 'STYLE', 'OPTION', 'NOSCRIPT'].includes(el.tagName)) continue;
      const box = el.getBoundingClientRect();
      const style = getComputedStyle(el);
      // not drawn, or only for screen readers (1px, clipped)
      if (box.width <= 1 || box.height <= 1 || style.visibility === 'hidden' || style.display === 'none') continue;
      const backgrounds = [];
      for (let at = el; at; at = at.parentElement) {
        const bg = getComputedStyle(at).backgroundColor;
        if (bg !== 'rgba(0, 0, 0, 0)' && bg !== 'transparent') backgrounds.push(bg);
      }
      const kind = el.closest('.badge') ? 'badge' : el.closest('button') ? 'button' : el.closest('a') ? 'link' : 'text';
      const cls = typeof el.className === 'string' && el.className ? '.' + el.className.split(' ').join('.') : '';
      out.push({
        what: el.tagName.toLowerCase() + cls + (el.matches(':disabled') ? ':disabled' : ''),
        kind,
        text: own.slice(0, 40),
        colour: style.color,
        backgrounds,
      });
    }
    return out;
  })()`);
}

/** The samples of the page shown whose contrast is under 4.5:1, and how many of each kind were checked. */
async function checkPage(page: string) {
  const found = await samples();
  const white: Rgba = [255, 255, 255, 1];
  const low: string[] = [];
  const kinds: Record<string, number> = {};
  for (const x of found) {
    // the page's canvas is white; each background is drawn over the ones outside it
    const bg = x.backgrounds.map(parseColour).reduceRight<Rgba>((under, top) => over(top, under), white);
    const ratio = contrast(over(parseColour(x.colour), bg), bg);
    kinds[x.kind] = (kinds[x.kind] ?? 0) + 1;
    if (ratio < 4.5)
      low.push(`${page}: ${x.what} "${x.text}" ${x.colour} on ${x.backgrounds[0]} = ${ratio.toFixed(2)}`);
  }
  return { low, kinds };
}

const nav = (name: string) =>
  b.page.getByRole('navigation', { name: 'Console sections' }).getByRole('link', { name, exact: true });

describe('the contrast formula', () => {
  it("gives WCAG's known ratios", () => {
    expect(contrast([0, 0, 0, 1], [255, 255, 255, 1])).toBeCloseTo(21, 5);
    expect(contrast([255, 255, 255, 1], [255, 255, 255, 1])).toBe(1);
    // #767676 on white is the lightest grey at 4.5:1
    expect(contrast([0x76, 0x76, 0x76, 1], [255, 255, 255, 1])).toBeCloseTo(4.54, 2);
  });
});

describe('the console meets 4.5:1 on every main page', () => {
  it('the sign-in page, with its error', async () => {
    const { page } = b;
    await page.goto(`${s.api.base}/console`);
    await page.getByLabel('API key').fill('dh_not-a-key');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await seeText(page.locator('.form-error'), 'unknown or revoked');
    const { low, kinds } = await checkPage('sign-in');
    expect(low).toEqual([]);
    expect(kinds.button).toBeGreaterThan(0);
    expect(kinds.text).toBeGreaterThan(2);
  });

  it('Webhooks', async () => {
    const { page } = b;
    await page.getByLabel('API key').fill(s.org.key);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await nav('Webhooks').click();
    await seeVisible(page.locator('tr', { hasText: 'Contrast receiver' }));
    await seeText(page.locator('tr', { hasText: 'Contrast receiver' }), 'in the last hour');
    const { low, kinds } = await checkPage('webhooks');
    expect(low).toEqual([]);
    expect([kinds.button > 0, kinds.link > 0, kinds.text > 5]).toEqual([true, true, true]);
  });

  it('Activity, with a badge of each status', async () => {
    const { page } = b;
    await nav('Activity').click();
    for (const status of ['succeeded', 'failed', 'pending'])
      await seeCount(page.locator(`tbody tr[data-status="${status}"]`), 1, 30_000);
    const { low, kinds } = await checkPage('activity');
    expect(low).toEqual([]);
    expect([kinds.badge, kinds.button > 0, kinds.link > 0]).toEqual([3, true, true]);
  });

  it('a delivery', async () => {
    const { page } = b;
    await page.goto(`${s.api.base}/console#/deliveries/${failedId}`);
    await seeVisible(page.getByRole('heading', { name: /^Delivery / }));
    await seeVisible(page.locator('.badge-failed'));
    const { low, kinds } = await checkPage('delivery');
    expect(low).toEqual([]);
    expect([kinds.badge > 0, kinds.button > 0, kinds.link > 0]).toEqual([true, true, true]);
  });

  it('Event types', async () => {
    const { page } = b;
    await nav('Event types').click();
    await seeText(page.locator('#type-device-status-changed'), 'topic deviceauth');
    const { low, kinds } = await checkPage('event-types');
    expect(low).toEqual([]);
    expect([kinds.button > 0, kinds.text > 10]).toEqual([true, true]);
  });

  it('Keys, with a new key shown once', async () => {
    const { page } = b;
    await nav('Keys').click();
    await page.getByLabel('Name', { exact: true }).fill('contrast');
    await page.getByRole('button', { name: 'Create key' }).click();
    await seeVisible(page.locator('.once-value'));
    const { low, kinds } = await checkPage('keys');
    expect(low).toEqual([]);
    expect([kinds.button > 0, kinds.text > 3]).toEqual([true, true]);
  });

  it('made no request to another origin', () => {
    expect(b.foreign).toEqual([]);
  });
});
