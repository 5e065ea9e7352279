// @ts-check
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

/** Modules that do I/O or touch the process: the functional core must not import them. */
const ioModules = [
  'node:fs',
  'node:fs/promises',
  'node:child_process',
  'node:net',
  'node:http',
  'node:os',
  'node:worker_threads',
  'node:process',
];

/** The clock and randomness, read directly: pure code takes them as arguments. */
const clockAndDice = [
  {
    selector: "CallExpression[callee.object.name='Date'][callee.property.name='now']",
    message: 'take time as an argument (deps.now)',
  },
  {
    selector: "NewExpression[callee.name='Date'][arguments.length=0]",
    message: 'take time as an argument (deps.now)',
  },
  {
    selector: "CallExpression[callee.object.name='Math'][callee.property.name='random']",
    message: 'take randomness as an argument',
  },
];

/**
 * zod as a namespace only: `import { z }` binds zod's namespace object, which the bundler
 * cannot tree-shake, and every command then compiles all of zod's locales (~550 KB) at start.
 */
const zodAsNamespace = {
  selector: "ImportDeclaration[source.value='zod'][importKind!='type'] > ImportSpecifier",
  message: "import * as z from 'zod' (a named import pulls all of zod into every command)",
};

/** Folders of src/adapters (but shared): each may import only itself and adapters/shared. */
const adapterFolders = readdirSync(join(import.meta.dirname, 'src', 'adapters'), {
  withFileTypes: true,
})
  .filter((e) => e.isDirectory() && e.name !== 'shared')
  .map((e) => e.name);

/** The SQL engines' adapters: thin shells (connection, locking) over adapters/sql. */
const sqlBased = new Set(['sqlite', 'postgres']);
/** The adapter folders `folder` must not import. */
const othersOf = (folder) =>
  adapterFolders.filter((f) => f !== folder && !(f === 'sql' && sqlBased.has(folder)));

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'bench/.work/**', '.ingot/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_' },
      ],
      '@typescript-eslint/switch-exhaustiveness-check': 'error',
      eqeqeq: ['error', 'always'],
      'no-restricted-syntax': ['error', zodAsNamespace],
    },
  },
  {
    // Small rooms: a file says one thing, a function does one step. Tests and their shared
    // cases are exempt (a table of cases may be long).
    files: ['src/**/*.ts', 'bench/**/*.ts', 'scripts/**/*.ts'],
    ignores: ['**/*.test.ts', '**/*.case.ts'],
    rules: {
      'max-lines': ['error', { max: 450 }],
      'max-lines-per-function': ['error', { max: 120 }],
    },
  },
  {
    // The architecture is the dependency graph (DESIGN.md): core is pure and imports only
    // domain; domain imports nothing of ours.
    files: ['src/core/**/*.ts', 'src/domain/**/*.ts'],
    ignores: ['**/*.test.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: ioModules.map((name) => ({ name, message: 'core and domain are pure: no I/O' })),
          patterns: [
            {
              group: ['**/adapters/**', '**/services/**', '**/cli/**', '**/bin/**', '**/ports/**'],
            },
          ],
        },
      ],
      'no-restricted-globals': ['error', 'process'],
      'no-restricted-syntax': ['error', ...clockAndDice, zodAsNamespace],
    },
  },
  {
    // Use cases: they reach the world only through ports and the functions bin/ gives them,
    // so that each can be run, and tested, against any implementation.
    files: ['src/services/**/*.ts'],
    ignores: ['**/*.test.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: ioModules.map((name) => ({
            name,
            message: 'services do no I/O: take a port or a function from bin/',
          })),
          patterns: [
            {
              group: ['**/adapters/**', '**/cli/**', '**/bin/**'],
              message: 'services depend on ports, not on what implements them',
            },
          ],
        },
      ],
      'no-restricted-globals': ['error', 'process'],
      'no-restricted-syntax': ['error', ...clockAndDice, zodAsNamespace],
    },
  },
  {
    // The CLI talks to the API, or to services through what bin/ hands it (CliApp). It may
    // use the shared helpers adapters build on, and name adapters' types, nothing more.
    files: ['src/cli/**/*.ts'],
    ignores: ['**/*.test.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: adapterFolders.map((f) => `**/adapters/${f}/**`),
              allowTypeImports: true,
              message: 'the CLI gets adapters from bin/ (CliApp), not by importing them',
            },
            { group: ['**/bin/**'], message: 'bin/ wires the CLI, not the other way round' },
          ],
        },
      ],
    },
  },
  // Adapters implement ports; they do not reach into each other (only bin/ wires them).
  // What several of them build on lives in adapters/shared, and the Kysely code SQLite and
  // PostgreSQL share in adapters/sql (which imports neither).
  ...adapterFolders.map((folder) => ({
    files: [`src/adapters/${folder}/**/*.ts`],
    ignores: ['**/*.test.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['**/services/**', '**/cli/**', '**/bin/**'],
              message: 'adapters implement ports: they do not call use cases',
            },
            {
              group: [
                ...othersOf(folder).map((f) => `../${f}/**`),
                ...othersOf(folder).map((f) => `**/adapters/${f}/**`),
              ],
              message:
                'adapters do not import each other: share through adapters/shared, wire in bin/',
            },
          ],
        },
      ],
    },
  })),
  {
    files: ['src/adapters/shared/**/*.ts'],
    ignores: ['**/*.test.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: [
                '**/services/**',
                '**/cli/**',
                '**/bin/**',
                ...adapterFolders.map((f) => `../${f}/**`),
              ],
              message: 'shared helpers depend on no adapter and no use case',
            },
          ],
        },
      ],
    },
  },
  {
    files: ['**/*.js'],
    ...tseslint.configs.disableTypeChecked,
  },
);
