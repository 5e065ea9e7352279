import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import type { Browser, BrowserContext } from 'playwright-core';
import { launchChromium } from '../../test/helpers/browser.js';

/**
 * bench/ui (issue 21): the dashboard of a real `ingot up` (its own bridge and subnet) running a
 * three-instance fleet of examples/hello, in Debian's headless Chromium on loopback.
 *
 * - Page weight: every byte the browser received to show the signed-in page (headers and
 *   gzip bodies, from Chromium's own request sizes), beside the goal of 300 KB.
 * - First meaningful paint: from navigation start to the first frame that shows the fleets
 *   (the page's `ingot:fleets` mark), cold (fresh browser context, empty cache) and warm
 *   (same context: the hashed assets come from cache), beside the goal of 1 s and beside the
 *   floor: the same fleets fetched by Node alone (GET /ui/api/fleets).
 * - The server's resident memory with no dashboard open, then with four open and streaming,
 *   three of them on the evidence views (a ledger proof checked in the page, an artifact's
 *   evidence and measurement, the hosts).
 */

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const INGOT = join(ROOT, 'dist', 'bin', 'ingot.js');
const RUNS = Math.max(3, Number(process.env['BENCH_RUNS'] ?? 11));
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

function ingot(env: NodeJS.ProcessEnv, ...args: string[]): string {
  const r = spawnSync(process.execPath, [INGOT, ...args], {
    encoding: 'utf8',
    env: { ...process.env, ...env },
    cwd: ROOT,
  });
  if (r.status !== 0) throw new Error(`ingot ${args.join(' ')} failed:\n${r.stderr}`);
  return r.stdout;
}

const rssMiB = (pid: number) =>
  Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) / 1024;

/** The server's resident memory, the median of 10 readings a second apart. */
async function rssSamples(pid: number): Promise<number> {
  const xs: number[] = [];
  for (let i = 0; i < 10; i++) {
    xs.push(rssMiB(pid));
    await new Promise((r) => setTimeout(r, 1000));
  }
  return median(xs);
}

/** One load of the signed-in page in `context`: ms to the fleets' first frame, bytes received. */
async function load(
  context: BrowserContext,
  url: string,
): Promise<{ ms: number; fcp: number; bytes: number }> {
  const page = await context.newPage();
  let bytes = 0;
  const sizes: Promise<void>[] = [];
  page.on('requestfinished', (request) => {
    sizes.push(
      request.sizes().then((s) => {
        bytes += s.responseHeadersSize + s.responseBodySize;
      }),
    );
  });
  await page.goto(url);
  const [ms, fcp] = await page.evaluate<[number, number]>(`new Promise((resolve) => {
    const seen = () => performance.getEntriesByName('ingot:fleets')[0];
    const fcp = () => performance.getEntriesByName('first-contentful-paint')[0]?.startTime ?? NaN;
    const check = () => (seen() ? resolve([seen().startTime, fcp()]) : setTimeout(check, 5));
    check();
  })`);
  await Promise.all(sizes);
  await page.close();
  return { ms, fcp, bytes };
}

async function main(): Promise<void> {
  if (!existsSync(INGOT)) throw new Error(`${INGOT} is missing: run npm run build first`);
  const home = mkdtempSync(join(tmpdir(), 'ingot-bench-ui-'));
  const env = { INGOT_HOME: home };
  let browser: Browser | null = null;
  try {
    ingot(env, 'up', '--detach', '--bridge', 'ingotbui0', '--subnet', '10.76.0.0/24');
    ingot(env, 'build', '-q', 'examples/hello');
    ingot(env, 'deploy', '--wait', 'examples/hello/fleet.yaml');
    const info = JSON.parse(readFileSync(join(home, 'server.json'), 'utf8')) as {
      host: string;
      port: number;
      pid: number;
    };
    const base = `http://${info.host}:${info.port}`;
    const signIn = await fetch(`${base}/ui/session`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ token: readFileSync(join(home, 'token'), 'utf8').trim() }),
    });
    const [name, value] = (signIn.headers.get('set-cookie') ?? '').split(';')[0]!.split('=');
    const cookie = { name: name!, value: value!, url: base };
    browser = await launchChromium();
    const cold: number[] = [];
    const warm: number[] = [];
    const floor: number[] = [];
    const fcp: number[] = [];
    let bytes = 0;
    for (let i = 0; i < RUNS; i++) {
      const t = performance.now();
      await (
        await fetch(`${base}/ui/api/fleets`, { headers: { cookie: `${name}=${value}` } })
      ).text();
      floor.push(performance.now() - t);
      const context = await browser.newContext();
      await context.addCookies([cookie]);
      const first = await load(context, `${base}/ui`);
      cold.push(first.ms);
      fcp.push(first.fcp);
      bytes = first.bytes;
      warm.push((await load(context, `${base}/ui`)).ms);
      await context.close();
    }
    console.log(`${RUNS} runs, medians; loopback, a 3-instance fleet`);
    console.log('| measure | value | goal |');
    console.log('| --- | ---: | ---: |');
    console.log(
      `| page weight, signed in (page, assets, session; gzip) | ${(bytes / 1024).toFixed(1)} KB | < 300 KB |`,
    );
    console.log(
      `| first meaningful paint, cold cache | ${median(cold).toFixed(0)} ms | < 1000 ms |`,
    );
    console.log(
      `| first meaningful paint, warm cache | ${median(warm).toFixed(0)} ms | < 1000 ms |`,
    );
    console.log(`| first contentful paint, cold cache | ${median(fcp).toFixed(0)} ms | |`);
    console.log(`| floor: GET /ui/api/fleets from Node | ${median(floor).toFixed(1)} ms | |`);

    await new Promise((r) => setTimeout(r, 5000));
    const before = await rssSamples(info.pid);
    const context = await browser.newContext();
    await context.addCookies([cookie]);
    // Four dashboards, each streaming the fleets; three of them on the evidence views, which
    // read the ledger (and check a proof in the page), the store's artifacts, and the hosts.
    const pages = [];
    for (let i = 0; i < 4; i++) {
      const page = await context.newPage();
      await page.goto(`${base}/ui`);
      pages.push(page);
    }
    await pages[1]!.goto(`${base}/ui#/ledger`);
    await pages[1]!
      .getByRole('button', { name: /^Verify entry/ })
      .first()
      .click();
    const verdict = await pages[1]!
      .locator('[data-verdict="verified"], [data-verdict="failed"], .proof [role="alert"]')
      .first()
      .textContent();
    await pages[2]!.goto(`${base}/ui#/artifacts`);
    await pages[2]!.locator('.paths td').first().waitFor();
    await pages[3]!.goto(`${base}/ui#/hosts`);
    await pages[3]!.locator('section.host').first().waitFor();
    await new Promise((r) => setTimeout(r, 10_000));
    const during = await rssSamples(info.pid);
    console.log(`\nproof checked in the page: ${verdict ?? '(nothing shown)'}`);
    console.log(
      `server RSS (median of 10 samples, 1 s apart): ${before.toFixed(1)} MiB without a dashboard, ${during.toFixed(1)} MiB with 4 open and streaming for 20 s, 3 of them on the ledger (a proof checked), artifacts (a measurement page) and hosts views (${((100 * (during - before)) / before).toFixed(1)} %, goal ≤ 10 %)`,
    );
  } finally {
    await browser?.close();
    spawnSync(process.execPath, [INGOT, 'down', '--stop-instances'], {
      env: { ...process.env, ...env },
      stdio: 'ignore',
    });
    rmSync(home, { recursive: true, force: true });
  }
}

await main();
