import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, describe, expect, it } from 'vitest';
import { rootfsOf, sleep } from './helpers/agent.js';
import { launchChromium } from './helpers/browser.js';
import { waitFor } from './helpers/cluster.js';
import {
  dashboardOf,
  pwned,
  seriousViolations,
  shootNotBlank,
  signedInPage,
} from './helpers/dashboard.js';
import { useServer } from './helpers/server.js';

// Markup and script planted in what the views show: env values, a log line, a drift path (and
// through it the history's taint line). Each must show as text and never run.
const IMG = '<img src=x onerror="window.__pwned=1">';
const SCRIPT = '<script>window.__pwned=2</script>';
const LOGLINE = '<img src=x onerror="window.__pwned=3">';
const DRIFTED = '<img src=x onerror="window.__pwned=4">.html';

/**
 * Issue 21, fleet operations: against a real `ingot up` with real instances, driven by
 * Debian's Chromium. Pause, resume and abort a canary from the page; the instances view with
 * health, address and a log line; the releases view with who, why and the diff; tamper with
 * a rootfs and watch the evidence and the replacement appear without a reload; the read-only
 * token sees and cannot act; nothing planted runs; axe-core and a screenshot per view.
 */
describe('the dashboard: fleet operations', () => {
  const server = useServer('ui-ops');
  let browser: Browser | null = null;
  afterAll(async () => {
    await browser?.close();
  });

  it('acts on a rollout, shows instances, releases and drift, and runs nothing it shows', async () => {
    browser = await launchChromium();
    server.up();
    // hello, saying the planted line of its env when it starts: a log line the page shows.
    const loud = server.helloVariant('loud', (yaml) =>
      yaml.replace(
        /^ {2}entrypoint: .*$/m,
        `  entrypoint: [/bin/busybox, sh, -c, 'echo "ready: $LOGLINE"; exec /bin/busybox httpd -f -vv -p 8080 -h /srv/www']`,
      ),
    );
    let r = server.cli('build', '-q', loud);
    expect(r.code, r.stderr).toBe(0);
    const { base, token, readOnly } = dashboardOf(server.home);
    const fleet = (greeting: string) =>
      server.writeFleet('web', [
        'artifact: hello:1.0.0',
        'replicas: 2',
        'env:',
        `  GREETING: ${greeting}`,
        `  IMG: '${IMG}'`,
        `  SCRIPT: '${SCRIPT}'`,
        `  LOGLINE: '${LOGLINE}'`,
        'strategy:',
        '  canary: { steps: [{ instances: 1, pause: 10m }] }',
        'minReadySeconds: 1',
      ]);
    r = server.cli('deploy', '--wait', fleet('hello'));
    expect(r.code, r.stderr).toBe(0);

    const problems: string[] = [];
    const page = await signedInPage(browser, base, token, problems);
    await page.evaluate(
      () => ((globalThis as unknown as { __sameDocument: boolean }).__sameDocument = true),
    );
    const card = page.locator('section[data-fleet="web"]');
    await card.locator('.badge', { hasText: 'complete' }).waitFor({ timeout: 30_000 });

    // Instances: health, integrity, host, age, address with its port, and a log line.
    await card.getByRole('link', { name: 'Instances' }).click();
    const rows = page.locator('.instances-view tbody tr');
    await page
      .locator('.instances-view tr[data-state="healthy"]')
      .nth(1)
      .waitFor({ timeout: 30_000 });
    expect(await rows.count()).toBe(2);
    for (const row of await rows.all()) {
      expect(await row.locator('.address').textContent()).toMatch(/^\d+\.\d+\.\d+\.\d+:8080$/);
      expect(await row.locator('.age').textContent()).toMatch(/^\d+ (s|min)$/);
      expect(await row.locator('.integrity').textContent()).toMatch(/^(verified|unchecked)$/);
    }
    const first = (await rows.first().getAttribute('data-instance')) ?? '';
    await page.getByRole('button', { name: `Show log of ${first}` }).click();
    const log = page.locator(`.log-tail[data-log="${first}"] pre.log`);
    await log.waitFor();
    expect(await log.textContent()).toContain(`ready: ${LOGLINE}`);
    await checkView(browser, page, 'dashboard-ops-instances.png', problems);

    // A canary: pause it, resume it, abort it, each confirmed in a dialog.
    await page.getByRole('link', { name: 'All fleets' }).click();
    r = server.cli('deploy', fleet('bonjour'));
    expect(r.code, r.stderr).toBe(0);
    await card.locator('.pause', { hasText: /\d+ min \d+ s left/ }).waitFor({ timeout: 60_000 });
    await confirm(page, card, 'Pause', 'Paused web.', 'hold for the <b>on-call</b>');
    await card.locator('.badge', { hasText: 'paused by hand' }).waitFor();
    // The reason typed in the dialog is the history's WHY, as `--reason` gives it.
    expect(server.cli('history', 'web').stdout).toMatch(/pause .*hold for the <b>on-call<\/b>/);
    // Held, the step's pause stops counting: no countdown.
    expect(await card.locator('.pause').count()).toBe(0);
    expect(server.cli('history', 'web').stdout).toMatch(/pause/);
    await confirm(page, card, 'Resume', 'Resumed web.');
    await waitFor(
      'the hold to end',
      async () => (await card.locator('.badge', { hasText: 'paused by hand' }).count()) === 0,
      30_000,
    );
    expect(server.cli('history', 'web').stdout).toMatch(/resume/);
    await confirm(page, card, 'Abort', 'Aborted the rollout of web.');
    await card.locator('.badge', { hasText: 'rolled-back' }).waitFor({ timeout: 30_000 });
    await waitFor('the CLI to agree', () => server.fleet('web')?.rollout === 'rolled-back', 30_000);

    // Releases: who moved the fleet where, when and why, and the diff (env names only).
    await card.getByRole('link', { name: 'Releases' }).click();
    const changes = page.locator('.releases-view li.change');
    await changes.nth(2).waitFor();
    const kinds = await Promise.all((await changes.all()).map((l) => l.getAttribute('data-kind')));
    expect(kinds).toEqual(['abort', 'deploy', 'deploy']);
    expect(await changes.first().textContent()).toMatch(/by admin, .*: aborted by hand/);
    expect(await changes.nth(1).locator('.env-diff').textContent()).toBe('~GREETING');
    await checkView(browser, page, 'dashboard-ops-releases.png', problems);

    // Drift: a file planted in the instances' rootfs, with markup for a name. The evidence and
    // the replacement show up in this document, without a reload.
    await page.locator('.tabs').getByRole('link', { name: 'Drift' }).click();
    await page.getByText('No drift found in this fleet.').waitFor();
    let victims: string[] = [];
    await waitFor(
      'verified instances of the old release',
      () => {
        const f = server.fleet('web');
        const ok =
          f?.instances.length === 2 &&
          f.instances.every(
            (i) => i.state === 'healthy' && i.integrity === 'verified' && i.release === f.release,
          );
        victims = ok ? f.instances.map((i) => i.id) : [];
        return ok;
      },
      90_000,
    );
    // Past the view's own second look (1.5 s after it changes): only the live stream's news
    // of the tainted instances can bring the evidence now.
    await sleep(2500);
    const artifact = server.fleet('web')!.artifact;
    writeFileSync(join(rootfsOf(server.home, artifact), 'srv/www', DRIFTED), 'defaced');
    const evidence = page.locator('.drift-case .path', { hasText: DRIFTED });
    await evidence.first().waitFor({ timeout: 60_000 });
    const replaced = page.locator('.drift-case .replaced-by', { hasText: /Replaced by web-/ });
    await replaced.first().waitFor({ timeout: 60_000 });
    const cases: { instance: string | null; by: string | undefined }[] = [];
    for (const c of await page.locator('.drift-case').all())
      cases.push({
        instance: await c.getAttribute('data-instance'),
        by: /Replaced by (\S+?)[ .]/.exec(
          (await c.locator('.replaced-by').textContent()) ?? '',
        )?.[1],
      });
    expect(victims).toEqual(expect.arrayContaining(cases.map((c) => c.instance)));
    await waitFor(
      'the replacements to serve',
      () => {
        const now = server.fleet('web')?.instances.map((i) => i.id) ?? [];
        return cases.some((c) => c.by !== undefined && now.includes(c.by));
      },
      60_000,
    );
    expect(
      await page.evaluate(
        () => (globalThis as unknown as { __sameDocument?: boolean }).__sameDocument,
      ),
    ).toBe(true);
    await checkView(browser, page, 'dashboard-ops-drift.png', problems);

    // The history carries the taint line with the planted path: text as well.
    await page.locator('.tabs').getByRole('link', { name: 'Releases' }).click();
    await page.locator('.history summary').click();
    await page
      .locator('.history tr[data-kind="taint"] .detail', { hasText: DRIFTED })
      .first()
      .waitFor();
    expect(await page.locator('main img, main script').count()).toBe(0);
    expect(await pwned(page)).toBeUndefined();

    // The read-only token: sees the views, no action, no log; the server refuses both.
    const watcher = await signedInPage(browser, base, readOnly, problems);
    await watcher.locator('section[data-fleet="web"] .badge').first().waitFor();
    for (const name of ['Promote…', 'Pause…', 'Resume…', 'Abort…', 'Roll back…'])
      expect(await watcher.getByRole('button', { name }).count(), name).toBe(0);
    await watcher
      .locator('section[data-fleet="web"]')
      .getByRole('link', { name: 'Instances' })
      .click();
    await watcher.getByText('Log tails need the admin token').waitFor();
    expect(await watcher.getByRole('button', { name: /log of / }).count()).toBe(0);
    const refused = await watcher.evaluate(async (id) => {
      const session = (await (await fetch('/ui/session')).json()) as { csrf: string };
      const statuses: number[] = [];
      for (const a of ['pause', 'resume', 'abort', 'rollback']) {
        const res = await fetch(`/ui/api/fleets/web/${a}`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'x-ingot-csrf': session.csrf },
          body: '{}',
        });
        statuses.push(res.status);
      }
      statuses.push((await fetch(`/ui/api/fleets/web/instances/${id}/logs`)).status);
      return statuses;
    }, server.fleet('web')!.instances[0]!.id);
    expect(refused).toEqual([403, 403, 403, 403, 403]);
    await watcher.locator('.tabs').getByRole('link', { name: 'Drift' }).click();
    await watcher.locator('.drift-case .path', { hasText: DRIFTED }).first().waitFor();
    expect(await pwned(watcher)).toBeUndefined();

    // Rollback, from the admin's page: back to the release the abort left (bonjour).
    const before = server.fleet('web')!.release;
    await page.getByRole('link', { name: 'All fleets' }).click();
    await confirm(page, card, 'Roll back', 'Rolled back web.');
    const after = server.fleet('web')!.release;
    expect(after).not.toBe(before);
    expect(server.cli('history', 'web').stdout).toMatch(/rollback/);
    // The page follows: the card names the release rolled back to.
    await card.locator(`.facts dd[title="${after}"]`).waitFor({ timeout: 30_000 });
    expect(problems).toEqual([]);
  }, 420_000);
});

/** Click an action's button on the card, confirm it in its dialog, see it done. */
async function confirm(
  page: Page,
  card: ReturnType<Page['locator']>,
  verb: string,
  done: string,
  reason?: string,
): Promise<void> {
  await card.getByRole('button', { name: `${verb}…` }).click();
  const dialog = page.getByRole('dialog', { name: `${verb} web?` });
  await dialog.waitFor();
  if (reason !== undefined) await dialog.getByLabel(/^Why/).fill(reason);
  await dialog.getByRole('button', { name: verb, exact: true }).click();
  await card.getByRole('status').filter({ hasText: done }).waitFor({ timeout: 30_000 });
}

/** Nothing planted ran, no serious accessibility problem, and a screenshot that shows it. */
async function checkView(browser: Browser, page: Page, shot: string, problems: string[]) {
  expect(await page.locator('main img, main script').count()).toBe(0);
  expect(await pwned(page)).toBeUndefined();
  const violations = await seriousViolations(page);
  expect(violations, JSON.stringify(violations, null, 1)).toEqual([]);
  await shootNotBlank(browser, page, shot);
  expect(problems).toEqual([]);
}
