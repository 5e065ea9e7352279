import { resolve } from 'node:path';
import type { Command } from 'commander';
import {
  CONTEXT_NAME_RULE,
  contextSchema,
  isContextName,
  withContext,
  withCurrent,
  withoutContext,
  type Context,
  type ContextFile,
} from '../../core/contexts/index.js';
import { IngotError, UsageError } from '../../domain/errors.js';
import { contextFilePath, readContextFile, writeContextFile } from '../contexts-file.js';
import { json, outputOption, table } from '../format.js';
import type { Io, OutputFormat } from '../io.js';
import type { Runner } from './runner.js';

/** The global options `context add` reads: the same flags that name a server for one command. */
interface ServerFlags {
  server?: string;
  tokenFile?: string;
  serverCaFile?: string;
}

/** `ingot context list|use|add|remove`: servers the CLI reaches by name. */
export function registerContexts(program: Command, run: Runner): void {
  const context = program
    .command('context')
    .summary('servers the CLI reaches by name, and which one it reaches now')
    .description(
      'A context names a server and its token file, kept in $XDG_CONFIG_HOME/ingot/config.yaml\n' +
        '(default ~/.config/ingot/config.yaml). With one current, every command that talks to the API\n' +
        'reaches its server, unless --server or INGOT_SERVER names another; with none, the server\n' +
        'this home runs.',
    );
  registerList(context, run);
  context
    .command('use')
    .summary('make a context current (or none, with --none)')
    .argument('[name]', 'the context')
    .option('--none', "no context: commands reach this home's server again")
    .action(async (name: string | undefined, options: { none?: boolean }) => {
      await run(
        local((io) => {
          if ((name === undefined) === (options.none !== true))
            throw new UsageError('ingot context use takes a NAME, or --none');
          const file = edit(io, (f, path) => {
            if (name !== undefined) known(f, name, path);
            return withCurrent(f, name ?? null);
          });
          io.err(
            name === undefined
              ? "no context is current: commands reach this home's server\n"
              : `commands now reach ${file.contexts.get(name)?.server} (context ${name})\n`,
          );
          return 0;
        }),
        text,
        { homeless: true },
      );
    });
  context
    .command('add')
    .summary('add a context (or replace one of that name): NAME --server URL --token-file FILE')
    .description(
      'Add a context named NAME for the server of the global options --server URL and\n' +
        '--token-file FILE (and --server-ca-file FILE for a private CA over https). Paths are kept\n' +
        'absolute. It does not become current: `ingot context use NAME`.',
    )
    .argument('<name>', 'the context')
    .action(async (name: string, _local: unknown, command: Command) => {
      const flags = command.optsWithGlobals<ServerFlags>();
      await run(
        local((io) => {
          const added = contextOf(name, flags);
          let replaced = false;
          edit(io, (f) => {
            replaced = f.contexts.has(name);
            return withContext(f, name, added);
          });
          io.err(
            `context ${name} ${replaced ? 'replaced' : 'added'} (${added.server}); make it current with \`ingot context use ${name}\`\n`,
          );
          return 0;
        }),
        text,
        { homeless: true },
      );
    });
  context
    .command('remove')
    .summary('remove a context (if it was current, none is)')
    .argument('<name>', 'the context')
    .action(async (name: string) => {
      await run(
        local((io) => {
          let wasCurrent = false;
          edit(io, (f, path) => {
            known(f, name, path);
            wasCurrent = f.current === name;
            return withoutContext(f, name);
          });
          io.err(
            `context ${name} removed${wasCurrent ? "; no context is current: commands reach this home's server" : ''}\n`,
          );
          return 0;
        }),
        text,
        { homeless: true },
      );
    });
}

const text = (): OutputFormat => 'text';

/** A command body that only reads and writes the context file: no app, no API, no waiting. */
const local =
  (body: (io: Io) => number) =>
  (_app: unknown, io: Io): Promise<number> =>
    Promise.resolve(body(io));

function registerList(context: Command, run: Runner): void {
  context
    .command('list')
    .summary('the contexts, and which one is current')
    .addOption(outputOption())
    .action(async (options: { output: OutputFormat }) => {
      await run(
        local((io) => {
          const path = contextFilePath(io.env);
          const f = path === null ? null : readContextFile(path);
          const rows = [...(f?.contexts ?? [])]
            .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
            .map(([name, c]) => ({ name, current: f?.current === name, ...c }));
          if (options.output === 'json')
            io.out(json({ file: path, current: f?.current ?? null, contexts: rows }));
          else if (rows.length === 0)
            io.err(
              `no contexts${path === null ? '' : ` in ${path}`}: add one with \`ingot context add NAME --server URL --token-file FILE\`\n`,
            );
          else
            io.out(
              table(
                ['CURRENT', 'NAME', 'SERVER', 'TOKEN-FILE'],
                rows.map((r) => [r.current ? '*' : '', r.name, r.server, r.tokenFile]),
              ),
            );
          return 0;
        }),
        () => options.output,
        { homeless: true },
      );
    });
}

/** Read the file, change it, write it back atomically; the new file. */
function edit(io: Io, change: (f: ContextFile, path: string) => ContextFile): ContextFile {
  const path = contextFilePath(io.env);
  if (path === null)
    throw new IngotError(
      'E_CONTEXT_FILE',
      'no place for the context file: set XDG_CONFIG_HOME or HOME to an absolute path',
    );
  const changed = change(readContextFile(path), path);
  writeContextFile(path, changed);
  return changed;
}

/** E_CONTEXT_NOT_FOUND, naming the contexts the file has, unless it has `name`. */
function known(f: ContextFile, name: string, path: string): void {
  if (f.contexts.has(name)) return;
  const names = [...f.contexts.keys()].sort();
  throw new IngotError(
    'E_CONTEXT_NOT_FOUND',
    `${path} has no context ${JSON.stringify(name.slice(0, 100))} (it has ${names.length > 0 ? names.join(', ') : 'none'}): \`ingot context add\` makes one`,
  );
}

/** The context the flags describe, checked as the file would be (every problem at once). */
function contextOf(name: string, flags: ServerFlags): Context {
  if (!isContextName(name))
    throw new UsageError(`a context's name is ${CONTEXT_NAME_RULE}, got ${JSON.stringify(name)}`);
  if (flags.server === undefined || flags.tokenFile === undefined)
    throw new UsageError('ingot context add NAME needs --server URL and --token-file FILE');
  const parsed = contextSchema.safeParse({
    server: flags.server,
    tokenFile: resolve(flags.tokenFile),
    ...(flags.serverCaFile !== undefined && { caFile: resolve(flags.serverCaFile) }),
  });
  if (!parsed.success)
    throw new UsageError(
      parsed.error.issues
        .map((i) => `${flagOf(i.path[0])}: ${i.message.replace(/^Invalid input: /, '')}`)
        .join('; '),
    );
  const { server, tokenFile, caFile } = parsed.data;
  return { server, tokenFile, ...(caFile !== undefined && { caFile }) };
}

function flagOf(field: PropertyKey | undefined): string {
  if (field === 'tokenFile') return '--token-file';
  if (field === 'caFile') return '--server-ca-file';
  return '--server';
}
