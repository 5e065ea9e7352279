import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { chromium, type Browser, type Page } from 'playwright-core';

/** Debian's Chromium (scripts/setup installs it): the browser the dashboard tests drive. */
export const CHROMIUM = '/usr/bin/chromium';

/**
 * Headless Chromium as root, with nothing of its own on the network (without these flags it
 * calls home over and over: FIELD-NOTES). Missing Chromium fails the test, never skips it.
 */
export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM))
    throw new Error(
      `${CHROMIUM} is missing: the dashboard tests need Debian's chromium (run ./scripts/setup as root, or apt-get install chromium)`,
    );
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--no-first-run',
    ],
  });
}

const axeSource = () =>
  readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

export interface AxeViolation {
  readonly id: string;
  readonly impact: string | null;
  readonly help: string;
  readonly nodes: { readonly target: unknown[] }[];
}

/**
 * axe-core run in the page. Given through DevTools (page.evaluate), not a script tag: the
 * page's policy rightly refuses scripts it did not ship, and is not loosened for the test.
 */
export async function axeViolations(page: Page): Promise<AxeViolation[]> {
  await page.evaluate(axeSource());
  return page.evaluate(async () => {
    const axe = (
      globalThis as unknown as { axe: { run(): Promise<{ violations: AxeViolation[] }> } }
    ).axe;
    const result = await axe.run();
    return result.violations.map((v) => ({
      id: v.id,
      impact: v.impact,
      help: v.help,
      nodes: v.nodes.map((n) => ({ target: n.target })),
    }));
  });
}

/**
 * How much of a PNG is not its most common colour, and how many colours it has: a blank or
 * single-colour screenshot says 0 and 1. Decoded by the browser, on a page of its own.
 */
export async function pictureStats(
  browser: Browser,
  png: Buffer,
): Promise<{ colours: number; inkShare: number }> {
  const page = await browser.newPage();
  try {
    // Browser code, kept as text: this project's Node types have no DOM.
    return await page.evaluate<{ colours: number; inkShare: number }>(`(async () => {
      const image = new Image();
      image.src = 'data:image/png;base64,${png.toString('base64')}';
      await image.decode();
      const canvas = document.createElement('canvas');
      canvas.width = image.width;
      canvas.height = image.height;
      const context = canvas.getContext('2d');
      context.drawImage(image, 0, 0);
      const data = context.getImageData(0, 0, image.width, image.height).data;
      const counts = new Map();
      for (let i = 0; i < data.length; i += 4) {
        const key = (data[i] << 16) | (data[i + 1] << 8) | data[i + 2];
        counts.set(key, (counts.get(key) ?? 0) + 1);
      }
      const pixels = data.length / 4;
      const most = Math.max(...counts.values());
      return { colours: counts.size, inkShare: (pixels - most) / pixels };
    })()`);
  } finally {
    await page.close();
  }
}
