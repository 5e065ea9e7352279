// What `npm run schemas` writes and test/surface-files.test.ts checks is committed: the
// JSON Schemas of ingot.yaml and fleet.yaml, the OpenAPI document of the HTTP API, and the
// man pages, each made from the code it describes (zod schemas, route table, command tree).
import { readFileSync } from 'node:fs';
import { openApiDocument } from '../src/core/api/openapi.js';
import { specJsonSchemas } from '../src/core/json-schema/specs.js';
import { ENVIRONMENT, EXIT_CODES, makeProgram } from '../src/cli/main.js';
import { manPages } from '../src/cli/surface/man.js';
import { commandTree } from '../src/cli/surface/tree.js';

const root = new URL('..', import.meta.url);

/** The folders the generated files fill: a file there that is not generated is stale. */
export const GENERATED_FOLDERS = ['schemas', 'man'] as const;

function packageVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL('package.json', root), 'utf8')) as {
    version: string;
  };
  return pkg.version;
}

const asJson = (value: unknown) => `${JSON.stringify(value, null, 2)}\n`;

/** Every generated file: its path from the repository's root → its content. */
export async function surfaceFiles(): Promise<Map<string, string>> {
  const version = packageVersion();
  const specs = specJsonSchemas();
  const files = new Map<string, string>([
    ['schemas/ingot.schema.json', asJson(specs.ingot)],
    ['schemas/fleet.schema.json', asJson(specs.fleet)],
    ['schemas/openapi.json', asJson(openApiDocument(version))],
  ]);
  // The tree only: nothing runs, so the runner and the output are never used.
  const silent = { out: () => {}, err: () => {}, errIsTty: false, columns: 80, env: {} };
  const program = await makeProgram(silent, () => Promise.resolve(), {
    version,
    commit: null,
    dirty: null,
  });
  const pages = manPages(commandTree(program), {
    version,
    environment: ENVIRONMENT,
    exitCodes: EXIT_CODES,
  });
  for (const [name, text] of pages) files.set(`man/${name}`, text);
  return files;
}
