import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import { expect } from 'vitest';
import { axeViolations, pictureStats } from './browser.js';

/** Where the dashboard tests leave their screenshots (git-ignored), for people to look at. */
export const SHOTS = fileURLToPath(new URL('../.screenshots/', import.meta.url));

/** The API's address and both tokens of a running `ingot up` in `home`. */
export function dashboardOf(home: string): { base: string; token: string; readOnly: string } {
  const info = JSON.parse(readFileSync(join(home, 'server.json'), 'utf8')) as {
    host: string;
    port: number;
  };
  return {
    base: `http://${info.host}:${info.port}`,
    token: readFileSync(join(home, 'token'), 'utf8').trim(),
    readOnly: readFileSync(join(home, 'ui-readonly-token'), 'utf8').trim(),
  };
}

/**
 * A fresh page signed in with `token`, its page errors and console errors collected into
 * `problems` (the 401 of the first look for a session, and 403s a test provokes, are meant).
 */
export async function signedInPage(
  browser: Browser,
  base: string,
  token: string,
  problems: string[],
): Promise<Page> {
  const context = await browser.newContext({ viewport: { width: 1200, height: 900 } });
  const page = await context.newPage();
  page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error' && !/status of 40[13] /.test(m.text()))
      problems.push(`console: ${m.text()}`);
  });
  await page.goto(`${base}/ui`);
  await page.getByLabel('Token').fill(token);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByText(/^Signed in: /).waitFor();
  return page;
}

/** A full-page screenshot saved under SHOTS, checked to show something. */
export async function shootNotBlank(browser: Browser, page: Page, name: string): Promise<void> {
  mkdirSync(SHOTS, { recursive: true });
  const png = await page.screenshot({ fullPage: true });
  writeFileSync(join(SHOTS, name), png);
  const stats = await pictureStats(browser, png);
  expect(stats.colours, `${name}: a blank screenshot`).toBeGreaterThan(16);
  expect(stats.inkShare, `${name}: a blank screenshot`).toBeGreaterThan(0.02);
}

/** axe-core's serious and critical findings on the page as it is. */
export async function seriousViolations(page: Page): Promise<unknown[]> {
  return (await axeViolations(page)).filter(
    (v) => v.impact === 'serious' || v.impact === 'critical',
  );
}

/** Whether anything planted ran: the flag a payload would set. */
export const pwned = (page: Page): Promise<unknown> =>
  page.evaluate(() => (globalThis as unknown as { __pwned?: unknown }).__pwned);
