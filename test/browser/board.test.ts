/**
 * Bull Board in a real browser (issue 14), as an on-call engineer opens it with only the root
 * token: five deliveries to a failing receiver wait for their next attempt; a delayed job's page
 * names the webhook, the last error and the attempt count, and says when it runs; the header menu
 * leads to the failing-receivers page.
 *
 * Chromium from the system (/usr/bin/chromium, `apt-get install -y chromium`), driven by
 * playwright-core: Playwright never downloads a browser. Screenshots go to a temporary directory,
 * or to DEVHOOKS_SCREENSHOT_DIR, as the console's do (e.g. `DEVHOOKS_SCREENSHOT_DIR=docs/images npx
 * jest --selectProjects browser` refreshes the README's images).
 */
import { mkdirSync, mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Queue } from 'bullmq';
import { chromium, type Browser, type Page } from 'playwright-core';
import { RETRY_QUEUE } from '@devhooks/core';
import type { RetryJobData } from '@devhooks/engine';
import { ROOT } from '../support/api';
import { CHROMIUM, CHROMIUM_ARGS } from '../support/browser';
import { eventually } from '../support/receiver';
import { startRetryStack, statusEvent, type RetryStack } from '../support/retry-stack';
import type { Stack } from '../support/stack';

const shots = process.env.DEVHOOKS_SCREENSHOT_DIR ?? mkdtempSync(path.join(os.tmpdir(), 'devhooks-board-'));

let stack: RetryStack;
let s: Stack;
let queue: Queue<RetryJobData>;
let browser: Browser;
let page: Page;

beforeAll(async () => {
  stack = await startRetryStack(__filename, '0,5m,30m');
  ({ s, queue } = stack);
  browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, headless: true });
  const context = await browser.newContext({
    httpCredentials: { username: 'oncall', password: ROOT },
    viewport: { width: 1400, height: 900 },
  });
  page = await context.newPage();
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await stack?.close();
});

it('opens a delayed job: webhook name, last error, attempt count and run time on the page', async () => {
  mkdirSync(shots, { recursive: true });
  const w = await s.webhook({ name: 'fleet alerts', url: s.rx.url('/alerts'), topics: ['deviceauth'] });
  s.rx.respond = (r) => (r.path === '/alerts' ? { status: 503 } : {});
  await s.send({ events: [1, 2, 3, 4, 5].map((i) => statusEvent(`evt-outage-${i}`, `dev-${i}`)) });
  const delayed = await eventually(async () => {
    const jobs = await queue.getJobs(['delayed']);
    return jobs.filter((j) => j.data.webhook_id === w.id).length === 5 ? jobs : undefined;
  });

  // the delayed list, then one job, as an engineer clicks through
  await page.goto(`${s.api.base}/admin/queues/queue/${RETRY_QUEUE}?status=delayed`);
  await page.getByText('deliver → fleet alerts').first().waitFor();
  await page.goto(`${s.api.base}/admin/queues/queue/${RETRY_QUEUE}/${delayed[0].id}`);
  await page.getByText('deliver → fleet alerts').first().waitFor();
  const dataText = await page.locator('body').innerText();
  expect(dataText).toContain('fleet alerts');
  expect(dataText).toContain('http_503');
  expect(dataText).toMatch(/"?attempt"?\s*:\s*1/);
  expect(dataText).toMatch(/"?attempts_total"?\s*:\s*3/);
  expect(dataText).toContain('Will run at');
  expect(dataText).not.toContain('currently unknown');
  await page.screenshot({ path: path.join(shots, 'bull-board-job.png') });

  await page
    .getByRole('tab', { name: 'Logs' })
    .or(page.getByText('Logs', { exact: true }))
    .first()
    .click();
  await page
    .getByText(/attempt 1\/3: http_503 in \d+ ms; next in/)
    .first()
    .waitFor();
  await page.screenshot({ path: path.join(shots, 'bull-board-job-logs.png') });
  s.rx.respond = undefined;
});

it("reaches the failing-receivers page from the board's header menu", async () => {
  await page.goto(`${s.api.base}/admin/queues`);
  // the header's links menu (Bull Board's miscLinks)
  const link = page.getByRole('link', { name: 'Failing receivers' }).or(page.getByText('Failing receivers'));
  if (!(await link.first().isVisible())) {
    await page.locator('header button').last().click();
  }
  await link.first().click();
  await page.waitForURL(/\/admin\/failing$/);
  const text = await page.locator('body').innerText();
  expect(text).toContain('fleet alerts');
  expect(text).toContain('http_503');
  expect(text).toContain(`http://127.0.0.1:${s.rx.port}`);
  await page.screenshot({ path: path.join(shots, 'failing-receivers.png'), fullPage: true });
});
