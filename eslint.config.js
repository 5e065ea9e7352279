// @ts-check
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
      // Time is an argument of the core, never read from the clock.
      'no-restricted-syntax': [
        'error',
        {
          selector: "CallExpression[callee.object.name='Date'][callee.property.name='now']",
          message: 'core takes time as an argument',
        },
        {
          selector: "NewExpression[callee.name='Date'][arguments.length=0]",
          message: 'core takes time as an argument',
        },
        {
          selector: "CallExpression[callee.object.name='Math'][callee.property.name='random']",
          message: 'core takes randomness as an argument',
        },
      ],
    },
  },
  {
    // Adapters implement ports; they do not reach into each other (only bin/ wires them).
    files: ['src/adapters/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        { patterns: [{ group: ['**/services/**', '**/cli/**', '**/bin/**'] }] },
      ],
    },
  },
  {
    files: ['**/*.js'],
    ...tseslint.configs.disableTypeChecked,
  },
);
