import { resolve } from 'node:path';
import { Command, CommanderError } from 'commander';
import { yamlIo } from './format.js';
import type { Runner } from './commands/runner.js';
import { COMMAND_MODULES, moduleOf, type CommandModule } from './commands/modules.js';
import { EXIT_FAILURE, EXIT_USAGE, reportError } from './errors.js';
import { contextFileMayExist } from './context-path.js';
import type { AppFactory, CliApp, Io } from './io.js';
import type { ApiSettings } from './target.js';
import type { CurrentContext } from './contexts-file.js';
import { versionLine, type BuildInfo } from './build-info.js';
import { DEFAULT_HOME_TEXT, defaultHome } from './default-home.js';
import { IngotError } from '../domain/errors.js';

/** The options every command takes (before or after its name). */
interface GlobalOptions {
  home?: string;
  server?: string;
  tokenFile?: string;
  serverCaFile?: string;
}

/** The variables `ingot` reads, for `--help` and the man page. */
export const ENVIRONMENT: readonly (readonly [name: string, meaning: string])[] = [
  ['INGOT_HOME', `state folder (store, keys, state; default ${DEFAULT_HOME_TEXT})`],
  ['XDG_STATE_HOME', 'where the default home is when not root (default ~/.local/state)'],
  ['INGOT_SERVER', 'the API to talk to (like --server)'],
  ['INGOT_TOKEN_FILE', 'its token (like --token-file)'],
  ['INGOT_CA_FILE', 'its private CA (like --server-ca-file)'],
  ['XDG_CONFIG_HOME', 'where ingot/config.yaml keeps contexts (default ~/.config)'],
  ['SOURCE_DATE_EPOCH', 'time recorded in built images (default 0)'],
  ['INGOT_SIGNING_KEY', 'private key that signs builds (like build --key)'],
  ['INGOT_BUILDER_ID', 'builder id recorded in provenance'],
];

export const EXIT_CODES = 'Exit codes: 0 ok, 1 failure, 2 usage error.';

/**
 * The `ingot` command line. Returns the exit code: 0 ok, 1 failure, 2 usage. The app (with
 * its adapters) is made only when a command runs, so `--help` touches nothing on disk.
 */
export async function main(
  argv: readonly string[],
  io: Io,
  makeApp: AppFactory,
  build: BuildInfo,
): Promise<number> {
  let exitCode = 0;
  /** Set when the command was asked `-o yaml`: it writes JSON, turned into YAML here. */
  let yaml: ((value: unknown) => string) | null = null;
  const run: Runner = async (fn, format, options = {}) => {
    const global = program.opts<GlobalOptions>();
    let home: string;
    try {
      home = homeOf(global.home, io);
    } catch (err) {
      // `ingot version` and friends work for an account with no HOME; their app is never used.
      if (options.homeless !== true) {
        exitCode = reportError(err, io, format());
        return;
      }
      home = '/nonexistent/ingot-home';
    }
    const api: ApiSettings = {
      home,
      flags: {
        ...(global.server !== undefined && { server: global.server }),
        ...(global.tokenFile !== undefined && { tokenFile: global.tokenFile }),
        ...(global.serverCaFile !== undefined && { caFile: global.serverCaFile }),
      },
      env: io.env,
      context: await currentContextReader(io.env),
    };
    let app: CliApp | null = null;
    try {
      app = makeApp({ home });
      exitCode = await fn(app, yaml ? yamlIo(io, yaml) : io, api);
    } catch (err) {
      exitCode = reportError(err, io, format());
    } finally {
      await app?.close();
    }
  };
  // Only the module of the command asked for, when argv names one for certain (moduleOf):
  // its parse, help and errors are the same, and the other commands' code is not loaded.
  const only = moduleOf(argv);
  const program = await makeProgram(io, run, build, only === null ? COMMAND_MODULES : [only]);
  program.hook('preAction', async (_program, action) => {
    if (action.getOptionValue('output') !== 'yaml') return;
    action.setOptionValue('output', 'json');
    // Loaded only when asked for: `ingot status` alone stays quick to start.
    // The package is CommonJS: its exports arrive as the default export, bundled or not.
    const { stringify } = (await import('yaml')).default;
    yaml = (value) => stringify(value);
  });

  try {
    await program.parseAsync([...argv], { from: 'user' });
  } catch (err) {
    if (err instanceof CommanderError) {
      if (
        err.code === 'commander.helpDisplayed' ||
        err.code === 'commander.version' ||
        err.code === 'commander.help'
      )
        return 0;
      return err.exitCode === 0 ? 0 : EXIT_USAGE;
    }
    return reportError(err, io, 'text') || EXIT_FAILURE;
  }
  return exitCode;
}

/**
 * How a command reads the current context, when it talks to an API. The context file's
 * reader (a YAML parser, its schema) is loaded only where such a file may be: without one
 * the answer is null, as the reader would say.
 */
async function currentContextReader(
  env: Readonly<Record<string, string | undefined>>,
): Promise<() => CurrentContext | null> {
  if (!contextFileMayExist(env)) return () => null;
  const { loadCurrentContext } = await import('./contexts-file.js');
  return () => loadCurrentContext(env);
}

/**
 * The home a command works in: `--home`, else `INGOT_HOME` (an empty one is unset), else the
 * fixed default (default-home.ts); made absolute against the working folder once, here.
 */
export function homeOf(flag: string | undefined, io: Io): string {
  const chosen = flag ?? (io.env['INGOT_HOME'] || undefined) ?? defaultHome(io.uid, io.env);
  if (chosen === null)
    throw new IngotError(
      'E_NO_HOME',
      'no home for Ingot: HOME is not set (or not absolute) and neither --home nor INGOT_HOME names one. Give --home DIR or set INGOT_HOME (or XDG_STATE_HOME)',
    );
  return resolve(chosen);
}

/**
 * Every command of `ingot` (or those of `modules`), each running through `run`. The completion
 * scripts and man pages are made from the whole tree too (cli/surface), so they name what the
 * command line takes.
 */
export async function makeProgram(
  io: Io,
  run: Runner,
  build: BuildInfo,
  modules: readonly CommandModule[] = COMMAND_MODULES,
): Promise<Command> {
  const program = new Command('ingot')
    .description(
      'Ingot: immutable infrastructure. Baselines become reproducible, measured, signed OCI images; instances run from them and are replaced, never patched.',
    )
    .option('--home <dir>', `state folder (default: $INGOT_HOME, else ${DEFAULT_HOME_TEXT})`)
    .option(
      '--server <url>',
      "the API to talk to, http(s)://HOST[:PORT] (default: $INGOT_SERVER, else the current context's, else this home's server)",
    )
    .option(
      '--token-file <file>',
      "with --server: the API token's file, 0600 (or $INGOT_TOKEN_FILE)",
    )
    .option(
      '--server-ca-file <file>',
      'with an https --server: PEM of a private CA to verify it (or $INGOT_CA_FILE)',
    )
    .version(versionLine(build), '-V, --version')
    .exitOverride()
    // Descriptions are written with line breaks for the source's sake; commander wraps to
    // the terminal too, so each paragraph is joined first: wrapped once, at the right width.
    .configureHelp({ commandDescription: (cmd) => reflow(cmd.description()) })
    .configureOutput({ writeOut: io.out, writeErr: io.err })
    .showHelpAfterError('(run with --help for usage)')
    .addHelpText(
      'after',
      `\nEnvironment:\n${ENVIRONMENT.map(([name, meaning]) => `  ${name.padEnd(20)}${meaning}`).join('\n')}\n\n${EXIT_CODES}`,
    );

  const registers = await Promise.all(modules.map((m) => m.load()));
  for (const register of registers) register(program, run, build);
  return program;
}

/**
 * One line per paragraph: a single line break inside a paragraph becomes a space; blank
 * lines, lines that start indented (lists) and "Example:" lines keep their breaks.
 */
export function reflow(text: string): string {
  return text.replace(/([^\n])\n(?=\S)(?!Examples?:)/g, '$1 ');
}
