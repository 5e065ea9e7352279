import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';

/**
 * The entry of a worker thread named `name`, next to the module whose `import.meta.url` is
 * `caller`. Built code (dist/) runs `<name>.js`. Under the test runner or tsx the sources
 * are TypeScript, and Node 20 workers do not take `--import` loaders from execArgv: a tiny
 * bootstrap registers tsx (a development dependency) inside the worker, then imports
 * `<name>.ts`.
 */
export function workerEntry(caller: string, name: string): URL {
  if (!caller.endsWith('.ts')) return new URL(`./${name}.js`, caller);
  const require = createRequire(import.meta.url);
  const tsx = pathToFileURL(require.resolve('tsx/esm/api').replace(/\.cjs$/, '.mjs')).href;
  const entry = new URL(`./${name}.ts`, caller).href;
  const code = `import { register } from ${JSON.stringify(tsx)}; register(); await import(${JSON.stringify(entry)});`;
  return new URL(`data:text/javascript,${encodeURIComponent(code)}`);
}
