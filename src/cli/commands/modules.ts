import type { Command } from 'commander';
import type { BuildInfo } from '../build-info.js';
import type { Runner } from './runner.js';

/** Adds one module's commands to the program. */
export type Register = (program: Command, run: Runner, build: BuildInfo) => void;

/**
 * One module of commands: the top-level names it adds, and how to load it. Loaded when asked
 * for, so that `ingot pull …` compiles pull's code and not the other commands' (the fleets'
 * API client, the ledger, the build's YAML…): at start-up every `ingot` command pays for the
 * code it loads, ~0.1 s of a 0.9 s pull on this project's machines. modules.test.ts checks
 * `names` against what each module registers.
 */
export interface CommandModule {
  readonly names: readonly string[];
  readonly load: () => Promise<Register>;
}

/** Every command, in the order `ingot --help` lists them. */
export const COMMAND_MODULES: readonly CommandModule[] = [
  { names: ['build'], load: async () => (await import('./build.js')).registerBuild },
  { names: ['images', 'inspect'], load: async () => (await import('./images.js')).registerImages },
  { names: ['tags'], load: async () => (await import('./tags.js')).registerTags },
  { names: ['key'], load: async () => (await import('./keys.js')).registerKeys },
  {
    names: ['attestation'],
    load: async () => (await import('./attestation.js')).registerAttestation,
  },
  { names: ['verify'], load: async () => (await import('./verify.js')).registerVerify },
  { names: ['push'], load: async () => (await import('./push.js')).registerPush },
  { names: ['pull'], load: async () => (await import('./pull.js')).registerPull },
  { names: ['rebuild'], load: async () => (await import('./rebuild.js')).registerRebuild },
  { names: ['logs'], load: async () => (await import('./logs.js')).registerLogs },
  {
    names: ['up', 'down', 'history', 'server', 'agent'],
    load: async () => (await import('./server/index.js')).registerServer,
  },
  {
    names: [
      'plan',
      'deploy',
      'rollback',
      'promote',
      'pause',
      'resume',
      'abort',
      'fleets',
      'status',
      'rollout',
    ],
    load: async () => (await import('./fleets/index.js')).registerFleets,
  },
  { names: ['describe'], load: async () => (await import('./describe.js')).registerDescribe },
  { names: ['hosts'], load: async () => (await import('./hosts.js')).registerHosts },
  { names: ['context'], load: async () => (await import('./contexts.js')).registerContexts },
  {
    names: ['drift', 'verify-instances', 'debug'],
    load: async () => (await import('./integrity/index.js')).registerIntegrity,
  },
  {
    names: ['ledger', 'what-ran'],
    load: async () => (await import('./ledger/index.js')).registerLedger,
  },
  { names: ['doctor'], load: async () => (await import('./doctor.js')).registerDoctor },
  { names: ['version'], load: async () => (await import('./version.js')).registerVersion },
  // Not to be loaded alone: its scripts are made from the whole command tree.
  { names: ['completion'], load: async () => (await import('./completion.js')).registerCompletion },
];

/** The options of `ingot` itself that take a value (main.ts declares them). */
const GLOBAL_WITH_VALUE = new Set(['--home', '--server', '--token-file', '--server-ca-file']);

/**
 * The one module that `argv` runs, found without loading any: the first word that is not a
 * global option (or its value) names the command. Null, so that every command is loaded,
 * when that is not certain: no command, `--help` or `--version` before it, an option unknown
 * here, a name of no module (`help`, a typo that commander answers with a suggestion), or
 * `completion`, whose scripts describe every command.
 */
export function moduleOf(argv: readonly string[]): CommandModule | null {
  for (let i = 0; i < argv.length; i++) {
    const word = argv[i]!;
    if (GLOBAL_WITH_VALUE.has(word)) {
      i++;
      continue;
    }
    if (word.startsWith('-')) {
      const eq = word.indexOf('=');
      if (eq > 0 && GLOBAL_WITH_VALUE.has(word.slice(0, eq))) continue;
      return null;
    }
    if (word === 'completion') return null;
    return COMMAND_MODULES.find((m) => m.names.includes(word)) ?? null;
  }
  return null;
}
