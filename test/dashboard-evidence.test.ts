import { spawnSync } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { appendFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, describe, expect, it } from 'vitest';
import { encodeVkey } from '../src/core/ledger/index.js';
import { launchChromium } from './helpers/browser.js';
import {
  dashboardOf,
  seriousViolations,
  shootNotBlank,
  signedInPage,
} from './helpers/dashboard.js';
import { ingot } from './helpers/cli.js';
import { useServer } from './helpers/server.js';

// Planted where the evidence comes from: the build's actor (in the ledger), an SBOM
// package's version (and its supplier, which the view does not show), and the commit's
// message (the provenance names the commit, not its message). Shown as text; nothing runs.
const ACTOR = '<img src=x onerror="window.__pwned=1">';
const VERSION = '1.0<img src=x onerror="window.__pwned=2">';
const SUPPLIER = '<script>window.__pwned=3</script>';
const MESSAGE = '<script>window.__pwned=4</script> a commit';

/**
 * Issue 21, the evidence views, on a real `ingot up` with a deployed fleet, in Debian's
 * Chromium: the ledger view checks an inclusion proof and its signed checkpoint IN THE PAGE
 * (WebCrypto) and says verified; a proof or checkpoint altered on its way to the page is
 * shown as failed; the artifacts view shows the commit, base, signature and policy decision,
 * the SBOM's packages and the measurement; the hosts view the host and its instance; the
 * read-only role sees all of it; planted markup is text; axe-core; screenshots not blank.
 */
describe('the dashboard: ledger, artifacts and hosts', () => {
  const server = useServer('uiev');
  let browser: Browser | null = null;
  afterAll(async () => {
    await browser?.close();
  });

  it('verifies a ledger proof in the page, shows the artifact evidence, runs nothing', async () => {
    browser = await launchChromium();
    server.up();
    const dir = server.helloVariant('planted', (y) => y);
    appendFileSync(
      join(dir, 'vendor', 'dpkg-status'),
      `\nPackage: planted\nStatus: install ok installed\nVersion: ${VERSION}\nMaintainer: ${SUPPLIER}\nArchitecture: amd64\n`,
    );
    const git = (...args: string[]) =>
      spawnSync('git', ['-c', 'user.name=t', '-c', 'user.email=t@t', ...args], {
        cwd: dir,
        encoding: 'utf8',
      });
    expect(git('init', '-q').status).toBe(0);
    expect(git('add', '-A').status).toBe(0);
    expect(git('commit', '-q', '-m', MESSAGE).status).toBe(0);
    const commit = git('rev-parse', 'HEAD').stdout.trim();
    let r = ingot(['build', '-q', dir], { env: { ...server.env, SUDO_USER: ACTOR } });
    expect(r.code, r.stderr).toBe(0);
    r = server.cli(
      'deploy',
      '--wait',
      server.writeFleet('web', ['artifact: hello:1.0.0', 'replicas: 1']),
    );
    expect(r.code, r.stderr).toBe(0);
    // Sign a checkpoint now over everything so far (the server signs one every 10 s).
    expect(server.cli('ledger', 'checkpoint').code).toBe(0);

    const { base, token, readOnly } = dashboardOf(server.home);
    for (const path of ['/ui/api/ledger/entries', '/ui/api/ledger/proof/0', '/ui/api/artifacts'])
      expect((await fetch(`${base}${path}`)).status, path).toBe(401);

    const { page, problems } = await signedIn(browser, base, token);

    // The ledger: the build entry, its actor as text, its proof verified in this page.
    await page.goto(`${base}/ui#/ledger`);
    const buildRow = page.locator('table.entries tr', { hasText: 'build' }).first();
    await buildRow.waitFor();
    expect(await buildRow.locator('td').nth(4).textContent()).toBe(ACTOR);
    await buildRow.getByRole('button', { name: /^Verify entry/ }).click();
    expect(await verdictOf(page)).toMatchObject({ verdict: 'verified' });
    expect(await page.locator('.proof pre.body').textContent()).toContain(JSON.stringify(ACTOR));
    await shootNotBlank(browser, page, 'dashboard-ledger.png');
    await noSeriousViolations(page);

    // The page checks, not the server: a proof hash altered on the way is caught…
    let tamper: 'hash' | 'root' | 'other' | null = 'hash';
    await page.route('**/ui/api/ledger/proof/*', async (route) => {
      // 'other': a genuine proof, of entry 0 instead of the one asked for.
      const response = await route.fetch(
        tamper === 'other'
          ? {
              url: route
                .request()
                .url()
                .replace(/\/\d+$/, '/0'),
            }
          : {},
      );
      const json = (await response.json()) as { proof: string[]; checkpoint: string };
      if (tamper === 'hash') {
        const h = Buffer.from(json.proof[0]!, 'base64');
        h[0]! ^= 1;
        json.proof[0] = h.toString('base64');
      } else if (tamper === 'root') {
        const lines = json.checkpoint.split('\n');
        lines[2] = Buffer.alloc(32, 9).toString('base64');
        json.checkpoint = lines.join('\n');
      }
      await route.fulfill({ response, json });
    });
    // Entries the latest checkpoint covers (newer ones have no proof yet): the newest of those.
    const signed = await page.evaluate(async () => {
      const res = await fetch('/ui/api/ledger/checkpoints');
      return ((await res.json()) as { checkpoints: { size: number }[] }).checkpoints[0]!.size;
    });
    expect(signed).toBeGreaterThan(4);
    const verify = (seq: number) =>
      page.getByRole('button', { name: `Verify entry ${seq}`, exact: true }).click();
    await verify(signed - 1);
    expect(await verdictOf(page)).toMatchObject({ verdict: 'failed', step: 'proof' });
    // …and so is a checkpoint whose root was swapped under its signature.
    tamper = 'root';
    await verify(signed - 2);
    expect(await verdictOf(page)).toMatchObject({ verdict: 'failed', step: 'signature' });
    // …and a genuine proof of another entry than the one asked for.
    tamper = 'other';
    await verify(signed - 4);
    expect(await verdictOf(page)).toMatchObject({ verdict: 'failed', step: 'entry' });
    tamper = null;
    await verify(signed - 3);
    expect(await verdictOf(page)).toMatchObject({ verdict: 'verified' });
    await page.unroute('**/ui/api/ledger/proof/*');
    // Checked against a key the person pastes: another log's key does not vouch for this one.
    const stranger = encodeVkey(
      readFileSync(join(server.home, 'keys', 'ledger.vkey'), 'utf8').split('+')[0]!,
      generateKeyPairSync('ed25519').privateKey,
    );
    await page.getByLabel(/^Verifier key/).fill(stranger);
    // Longer than the page's clock tick: what was typed survives its re-renders (it once did
    // not, and a key pasted under load was silently put back).
    await page.waitForTimeout(1_500);
    await page.getByLabel(/^Verifier key/).press('Enter');
    // (Waited for by value: the verdict of the key before shows until the new one is in.)
    await page
      .locator('.proof [data-verdict="failed"][data-step="signature"]')
      .waitFor({ timeout: 15_000 })
      .catch(async (err: unknown) => {
        throw new Error(`${String(err)}\nshown: ${await page.locator('.proof').innerText()}`);
      });
    // …and the log's own key, as held in its home, does.
    await page
      .getByLabel(/^Verifier key/)
      .fill(readFileSync(join(server.home, 'keys', 'ledger.vkey'), 'utf8').trim());
    await page.getByLabel(/^Verifier key/).press('Enter');
    await page.locator('.proof [data-verdict="verified"]').waitFor({ timeout: 15_000 });

    // The artifacts: commit, base, signature, decision, SBOM packages, the measurement.
    await page.goto(`${base}/ui#/artifacts`);
    const artifact = page.locator('section.artifact');
    await artifact.waitFor({ timeout: 15_000 });
    expect(await artifact.locator('.commit').textContent()).toBe(commit);
    expect(await artifact.locator('.base').textContent()).toBe('scratch (no base image)');
    expect(await artifact.locator('.signatures li[data-status="verified"]').count()).toBe(1);
    expect(await artifact.locator('.decision').getAttribute('data-admitted')).toBe('true');
    const packages = await artifact.locator('.packages tbody tr').allTextContents();
    expect(packages).toEqual(
      expect.arrayContaining([
        expect.stringContaining('busybox-static'),
        expect.stringContaining(`planted${VERSION}`),
      ]),
    );
    await artifact.locator('.paths td', { hasText: '/bin/busybox' }).first().waitFor();
    await artifact.getByLabel('Paths containing').fill('www');
    await artifact.locator('.measurement .help', { hasText: /of \d+ paths/ }).waitFor();
    const paths = await artifact.locator('.paths tbody td:first-child').allTextContents();
    expect(paths.length).toBeGreaterThan(0);
    expect(paths.every((p) => p.includes('www'))).toBe(true);
    await shootNotBlank(browser, page, 'dashboard-artifacts.png');
    await noSeriousViolations(page);

    // The hosts: this machine, live, with the fleet's instance.
    await page.goto(`${base}/ui#/hosts`);
    const host = page.locator('section.host').first();
    await host.locator('tr', { hasText: 'web' }).waitFor({ timeout: 15_000 });
    expect(await host.locator('.badge').textContent()).toBe('live');
    await noSeriousViolations(page);

    // Nothing planted became markup, nothing ran.
    expect(await page.locator('main img, main script').count()).toBe(0);
    expect(
      await page.evaluate(() => (globalThis as unknown as { __pwned?: number }).__pwned),
    ).toBeUndefined();
    expect(problems).toEqual([]);

    // The read-only role sees the same evidence, and its page verifies proofs too.
    const watcher = await signedIn(browser, base, readOnly);
    await watcher.page.goto(`${base}/ui#/ledger`);
    await watcher.page.locator('table.entries tr', { hasText: 'build' }).first().waitFor();
    await watcher.page
      .getByRole('button', { name: /^Verify entry/ })
      .first()
      .click();
    expect(await verdictOf(watcher.page)).toMatchObject({ verdict: 'verified' });
    await watcher.page.goto(`${base}/ui#/artifacts`);
    await watcher.page.locator('section.artifact .commit', { hasText: commit }).waitFor();
    expect(await watcher.page.getByText('Signed in: read-only').count()).toBe(1);
    expect(watcher.problems).toEqual([]);
  }, 300_000);
});

/** What the proof panel concluded (verified, failed, or a request that failed), with its words. */
async function verdictOf(
  page: Page,
): Promise<{ verdict: string | null; step: string | null; text: string }> {
  const done = page
    .locator(
      '.proof [data-verdict="verified"], .proof [data-verdict="failed"], .proof [data-verdict="unchecked"], .proof [role="alert"]',
    )
    .first();
  await done.waitFor({ timeout: 15_000 });
  return {
    verdict: await done.getAttribute('data-verdict'),
    step: await done.getAttribute('data-step'),
    text: (await done.textContent()) ?? '',
  };
}

/** A page signed in with `token`, and the page and console errors it met. */
async function signedIn(
  browser: Browser,
  base: string,
  token: string,
): Promise<{ page: Page; problems: string[] }> {
  const problems: string[] = [];
  const page = await signedInPage(browser, base, token, problems);
  return { page, problems };
}

async function noSeriousViolations(page: Page): Promise<void> {
  const violations = await seriousViolations(page);
  expect(violations, JSON.stringify(violations, null, 1)).toEqual([]);
}
