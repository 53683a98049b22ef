/**
 * Debian's Chromium driven by playwright-core (which never downloads a browser), headless, with a
 * fresh profile per test file. Every request the page makes is recorded: the console must make
 * none to another origin than the API's (no CDN, no fonts), so anything else is refused and listed.
 */
import { existsSync, mkdtempSync, mkdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { eventually as poll } from './receiver';
import { chromium, type BrowserContext, type Locator, type Page } from 'playwright-core';

export const CHROMIUM = '/usr/bin/chromium';

export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export interface TestBrowser {
  context: BrowserContext;
  page: Page;
  /** Requests to anything but `origin`, refused before they leave the browser. */
  foreign: string[];
  /** Writes `<name>.png` into the screenshot folder (DEVHOOKS_SCREENSHOT_DIR, else a temp folder). */
  screenshot(name: string): Promise<string>;
  close(): Promise<void>;
}

/** Opens the console at `base` and signs in with `key`; resolves once its sections are shown. */
export async function signInToConsole(page: Page, base: string, key: string): Promise<void> {
  await page.goto(`${base}/console`);
  await page.getByLabel('API key').fill(key);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('navigation', { name: 'Console sections' }).waitFor();
}

export async function startBrowser(origin: string): Promise<TestBrowser> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(
      `no Chromium at ${CHROMIUM}: install Debian's (apt-get install -y chromium) to run the browser tests`,
    );
  }
  const profile = mkdtempSync(path.join(os.tmpdir(), 'devhooks-chromium-'));
  const shots = process.env.DEVHOOKS_SCREENSHOT_DIR ?? path.join(os.tmpdir(), 'devhooks-console-screenshots');
  mkdirSync(shots, { recursive: true });
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: CHROMIUM_ARGS,
    viewport: { width: 1360, height: 900 },
  });
  const foreign: string[] = [];
  await context.route('**/*', (route) => {
    const url = route.request().url();
    if (url.startsWith(`${origin}/`) || url.startsWith('data:')) return route.continue();
    foreign.push(url);
    return route.abort('blockedbyclient');
  });
  const page = context.pages()[0] ?? (await context.newPage());
  return {
    context,
    page,
    foreign,
    async screenshot(name) {
      const file = path.join(shots, `${name}.png`);
      await page.screenshot({ path: file, fullPage: false });
      return file;
    },
    async close() {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

/** Retries an assertion until it holds (the page updates on its own: polling, async renders). */
export function eventually(assertion: () => Promise<void>, timeoutMs = 15_000): Promise<true> {
  return poll(async () => {
    await assertion();
    return true as const;
  }, timeoutMs);
}

/** Waits until the locator's text contains `text` (or matches it). */
export async function seeText(loc: Locator, text: string | RegExp, timeoutMs?: number): Promise<void> {
  await eventually(async () => {
    const t = (await loc.first().textContent({ timeout: 1_000 })) ?? '';
    if (typeof text === 'string') expect(t).toContain(text);
    else expect(t).toMatch(text);
  }, timeoutMs);
}

/** Waits until the locator matches exactly `n` elements. */
export async function seeCount(loc: Locator, n: number, timeoutMs?: number): Promise<void> {
  await eventually(async () => expect(await loc.count()).toBe(n), timeoutMs);
}

/** Waits until the locator is visible. */
export async function seeVisible(loc: Locator, timeoutMs = 15_000): Promise<void> {
  await loc.first().waitFor({ state: 'visible', timeout: timeoutMs });
}
