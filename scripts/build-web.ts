// The dashboard's build: src/web bundled for the browser into dist/web — one script, one
// stylesheet and the icon under assets/, each named by its content's hash (so the server may
// tell browsers to keep them for a year), and index.html naming them. The page has no inline
// script or style: the server's Content-Security-Policy allows our own files only.
import { build } from 'esbuild';
import { copyFileSync, createReadStream, mkdirSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { basename, join } from 'node:path';

export async function buildWeb(root: string): Promise<void> {
  const out = join(root, 'dist', 'web');
  const result = await build({
    absWorkingDir: root,
    entryPoints: { main: 'src/web/main.tsx' },
    outdir: join(out, 'assets'),
    entryNames: '[name]-[hash]',
    bundle: true,
    format: 'esm',
    platform: 'browser',
    // Browsers of the last few years (Chromium's <dialog>, EventSource, ES2020 syntax).
    target: ['es2020', 'chrome100', 'firefox100', 'safari15'],
    jsx: 'automatic',
    jsxImportSource: 'preact',
    minify: true,
    metafile: true,
    legalComments: 'none',
    define: { 'process.env.NODE_ENV': '"production"' },
    logLevel: 'warning',
  });
  const outputs = Object.keys(result.metafile.outputs).map((o) => basename(o));
  const script = outputs.find((o) => o.endsWith('.js'));
  const style = outputs.find((o) => o.endsWith('.css'));
  if (script === undefined || style === undefined)
    throw new Error(`the dashboard build made no script or no stylesheet: ${outputs.join(', ')}`);
  const icon = await hashedCopy(join(root, 'src', 'web', 'favicon.svg'), join(out, 'assets'));
  writeFileSync(
    join(out, 'index.html'),
    [
      '<!doctype html>',
      '<html lang="en">',
      '<head>',
      '<meta charset="utf-8">',
      '<meta name="viewport" content="width=device-width, initial-scale=1">',
      '<title>Ingot</title>',
      `<link rel="icon" href="/ui/assets/${icon}">`,
      `<link rel="stylesheet" href="/ui/assets/${style}">`,
      `<script type="module" src="/ui/assets/${script}"></script>`,
      '</head>',
      '<body>',
      '<div id="app"></div>',
      '<noscript>The Ingot dashboard needs JavaScript.</noscript>',
      '</body>',
      '</html>',
      '',
    ].join('\n'),
  );
}

/** `file` copied into `dir` as name-<hash>.ext; returns the new name. */
async function hashedCopy(file: string, dir: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  const name = basename(file).replace(/(\.[^.]+)$/, `-${hash.digest('hex').slice(0, 8)}$1`);
  mkdirSync(dir, { recursive: true });
  copyFileSync(file, join(dir, name));
  return name;
}
