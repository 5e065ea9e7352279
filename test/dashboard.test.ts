import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, describe, expect, it } from 'vitest';
import { launchChromium } from './helpers/browser.js';
import {
  dashboardOf,
  pwned,
  seriousViolations,
  SHOTS,
  shootNotBlank,
} from './helpers/dashboard.js';
import { waitFor } from './helpers/cluster.js';
import { HELLO, useServer } from './helpers/server.js';

// Markup and script planted in what the page shows: they must show as text and never run.
const IMG = '<img src=x onerror="window.__pwned=1">';
const SCRIPT = '<script>window.__pwned=2</script>';

/**
 * Issue 21, first increment: the dashboard at /ui of a real `ingot up` with real instances,
 * driven by Debian's Chromium. Sign in; deploy from the CLI and watch the page follow without
 * a reload; promote a canary from the page; no cookie, no CSRF header, the read-only role;
 * planted markup shown as text; a screenshot that is not blank; axe-core's verdict.
 */
describe('the dashboard', () => {
  const server = useServer('ui');
  let browser: Browser | null = null;
  afterAll(async () => {
    await browser?.close();
  });

  it('signs in, follows a deploy live, promotes a canary, and runs nothing it shows', async () => {
    browser = await launchChromium();
    server.up();
    expect(server.cli('build', '-q', HELLO).code).toBe(0);
    const { base, token, readOnly } = dashboardOf(server.home);
    const fleet = (greeting: string) =>
      server.writeFleet('web', [
        'artifact: hello:1.0.0',
        'replicas: 2',
        'env:',
        `  GREETING: ${greeting}`,
        `  IMG: '${IMG}'`,
        `  SCRIPT: '${SCRIPT}'`,
        'strategy:',
        '  canary: { steps: [{ instances: 1, pause: 10m }] }',
        'minReadySeconds: 1',
      ]);

    // Without the cookie: 401, whatever the route.
    for (const path of ['/ui/api/fleets', '/ui/events', '/ui/session'])
      expect((await fetch(`${base}${path}`)).status, path).toBe(401);

    const context = await browser.newContext({ viewport: { width: 1200, height: 900 } });
    const page = await context.newPage();
    const problems: string[] = [];
    page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
    page.on('console', (m) => {
      // The 401 of the first look for a session, and the 403 this test provokes, are meant.
      if (m.type() === 'error' && !/status of 40[13] /.test(m.text()))
        problems.push(`console: ${m.text()}`);
    });
    await page.goto(`${base}/ui`);
    await page.getByLabel('Token').fill(token);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByText('No fleets deployed yet.').waitFor();
    // A flag in this document: a reload or navigation would lose it.
    await page.evaluate(
      () => ((globalThis as unknown as { __sameDocument: boolean }).__sameDocument = true),
    );

    // Deployed from the CLI: the page shows it, its instances healthy, with no reload.
    let r = server.cli('deploy', '--wait', fleet('hello'));
    expect(r.code, r.stderr).toBe(0);
    const card = page.locator('section[data-fleet="web"]');
    await card.locator('tr[data-state="healthy"]').nth(1).waitFor({ timeout: 30_000 });
    await card.locator('.badge', { hasText: 'complete' }).waitFor();

    // A new release as a canary: the page shows the step, the weights, the pause; Promote.
    r = server.cli('deploy', fleet('bonjour'));
    expect(r.code, r.stderr).toBe(0);
    await card.locator('.step', { hasText: 'step 1 of 1' }).waitFor({ timeout: 30_000 });
    await card.locator('.pause', { hasText: /\d+ min \d+ s left/ }).waitFor({ timeout: 60_000 });
    expect(await card.locator('.weights li').allTextContents()).toEqual([
      expect.stringMatching(/\(new\): 1 instance, 50 %$/),
      expect.stringMatching(/\(old\): 1 instance, 50 %$/),
    ]);
    await mkdirAndShoot(page, 'dashboard-canary.png');

    // An action without the CSRF header, from the signed-in page itself: refused.
    const bare = await page.evaluate(async () => {
      const res = await fetch('/ui/api/fleets/web/promote', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: '{}',
      });
      return { status: res.status, body: (await res.json()) as { error: { code: string } } };
    });
    expect([bare.status, bare.body.error.code]).toEqual([403, 'E_UI_CSRF']);
    expect(server.fleet('web')?.rollout).toBe('progressing');

    // Promote, confirmed in the dialog: the rollout completes, and the page shows it.
    await card.getByRole('button', { name: 'Promote…' }).click();
    const dialog = page.getByRole('dialog', { name: 'Promote web?' });
    await dialog.waitFor();
    await dialog.getByRole('button', { name: 'Promote', exact: true }).click();
    await card.getByRole('status').filter({ hasText: 'Promoted web.' }).waitFor();
    await card.locator('.badge', { hasText: 'complete' }).waitFor({ timeout: 60_000 });
    await waitFor('the CLI to agree', () => server.fleet('web')?.rollout === 'complete', 30_000);
    expect(server.cli('history', 'web').stdout).toMatch(/promote/);
    expect(
      await page.evaluate(
        () => (globalThis as unknown as { __sameDocument?: boolean }).__sameDocument,
      ),
    ).toBe(true);

    // What the fleet was deployed with shows as text, and none of it ran.
    await card.locator('.env summary').click();
    expect(await card.locator('.env dd').allTextContents()).toEqual(
      expect.arrayContaining(['bonjour', IMG, SCRIPT]),
    );
    expect(await card.locator('img, script').count()).toBe(0);
    expect(await pwned(page)).toBeUndefined();

    // A screenshot that shows something, and no serious accessibility problem.
    await shootNotBlank(browser, page, 'dashboard.png');
    const violations = await seriousViolations(page);
    expect(violations, JSON.stringify(violations, null, 1)).toEqual([]);
    expect(problems).toEqual([]);

    // The read-only token: the same view, no Promote, and the server refuses the action.
    const watcher = await (await browser.newContext()).newPage();
    await watcher.goto(`${base}/ui`);
    await watcher.getByLabel('Token').fill(readOnly);
    await watcher.getByRole('button', { name: 'Sign in' }).click();
    await watcher.locator('section[data-fleet="web"] .badge').waitFor();
    expect(await watcher.getByText('Signed in: read-only').count()).toBe(1);
    expect(await watcher.getByRole('button', { name: 'Promote…' }).count()).toBe(0);
    const refused = await watcher.evaluate(async () => {
      const session = (await (await fetch('/ui/session')).json()) as { csrf: string };
      const res = await fetch('/ui/api/fleets/web/promote', {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-ingot-csrf': session.csrf },
        body: '{}',
      });
      return res.status;
    });
    expect(refused).toBe(403);
    // The bearer API never took a cookie nor the read-only token.
    const bearer = await fetch(`${base}/v1/fleets`, {
      headers: { authorization: `Bearer ${readOnly}` },
    });
    expect(bearer.status).toBe(401);
  }, 300_000);
});

async function mkdirAndShoot(page: Page, name: string): Promise<void> {
  mkdirSync(SHOTS, { recursive: true });
  writeFileSync(join(SHOTS, name), await page.screenshot({ fullPage: true }));
}
