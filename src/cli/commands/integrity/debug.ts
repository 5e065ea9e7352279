import { spawn } from 'node:child_process';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import type { Command } from 'commander';
import type { Duplex } from 'node:stream';
import { DAY_MS } from '../../../core/duration.js';
import { IngotError, UsageError } from '../../../domain/errors.js';
import { durationFlag } from '../../duration-flag.js';
import { SESSION_PATH, SESSION_PROTOCOL, sessionQuery } from '../../../core/session/request.js';
import { routes } from '../../../core/api/routes.js';
import { call, openUpgraded } from '../../client.js';
import { outputOption } from '../../format.js';
import type { OutputFormat } from '../../io.js';
import { runRemoteSession } from '../../remote-session.js';
import type { ApiSettings } from '../../target.js';
import type { Runner } from '../runner.js';

/** "15m", "90s", "1h30m" → whole seconds (rounded up), from 1 s to the server's bound, a day. */
export function parseTtl(raw: string): number {
  return Math.ceil(durationFlag('--ttl', raw, { minMs: 1000, maxMs: DAY_MS }) / 1000);
}

/** Who opens a session, as the record keeps it: the user behind sudo, else this user. */
function who(): string {
  const sudo = process.env['SUDO_USER'];
  const me = userInfo().username;
  return sudo && sudo !== me ? `${sudo} (as ${me})` : me;
}

/** `ingot debug INSTANCE [-- CMD...]`: break-glass, recorded, and the instance replaced. */
export function registerDebug(program: Command, run: Runner): void {
  program
    .command('debug')
    .summary('break-glass: a shell in an instance, which is then replaced')
    .description(
      'The only way into a running instance. Opens an interactive session (runc exec, with a\n' +
        "terminal if this is one) running CMD (default /bin/sh) as the instance's user. The access is\n" +
        'recorded (who, why, when, what), the instance is tainted the moment the session opens, and\n' +
        'it is replaced when the session ends or --ttl passes, whatever happened inside. A\n' +
        'replacement starts at once.\n' +
        "stdout carries the session's own bytes, so it cannot also carry a JSON document: -o json\n" +
        'and -o yaml are refused (E_OUTPUT_UNSUPPORTED, exit 2, the refusal itself as JSON) before\n' +
        'anything is opened or recorded. For the record, as data: `ingot history FLEET -o json`\n' +
        '(break-glass-open and -close, who, why) and `ingot describe instance ID -o json`.',
    )
    .argument('<instance>', 'instance id')
    .argument('[cmd...]', 'command to run (after --)')
    .requiredOption('--reason <text>', 'why (recorded; required)')
    .option('--ttl <duration>', 'the instance is replaced after this long at most', '15m')
    .addOption(outputOption())
    .action(
      async (
        id: string,
        cmd: string[],
        options: { reason: string; ttl: string; output: OutputFormat },
      ) => {
        await run(
          async (app, io, api) => {
            // Refused before anything is opened: the instance is not tainted for a format.
            if (options.output === 'json')
              throw new IngotError(
                'E_OUTPUT_UNSUPPORTED',
                `debug writes the session's own bytes to stdout, which cannot also carry a JSON document: run it without -o, and read the record with \`ingot history -o json\` or \`ingot describe instance ${id} -o json\``,
              );
            if (options.reason.trim() === '') throw new UsageError('--reason must say why');
            const ttlSeconds = parseTtl(options.ttl);
            const command = cmd.length > 0 ? cmd : ['/bin/sh'];
            // Here when this home's runtime runs it (a terminal as runc gives it), else through
            // the server, on the instance's host.
            const here = await runsHere(app.home, id);
            // Recorded and tainted before the session opens: access is never unrecorded.
            await call(api, routes.openDebug, {
              params: { id },
              body: { reason: options.reason, who: who(), command, ttlSeconds },
            });
            io.err(
              `${id} is tainted: it will be replaced when this session ends (at most ${options.ttl})\n`,
            );
            let code: number;
            try {
              code = here
                ? await session(app.home, id, command)
                : await runRemoteSession(await openRemote(api, id, command), io);
            } finally {
              // Whatever happened to the session, the hold ends now, not at the TTL.
              await call(api, routes.closeDebug, { params: { id } });
            }
            io.err(`session closed (exit ${code}); ${id} is being replaced\n`);
            return code;
          },
          () => options.output,
        );
      },
    );
}

/** Whether this home's runtime runs the instance (then the session is runc's, here). */
function runsHere(home: string, id: string): Promise<boolean> {
  return new Promise<boolean>((resolve) => {
    const child = spawn('runc', ['--root', join(home, 'runc'), 'state', id], { stdio: 'ignore' });
    child.on('error', () => resolve(false));
    child.on('close', (c) => resolve(c === 0));
  });
}

/**
 * The session through the server, run by the instance's host for the command just recorded
 * (it refuses any other), with this terminal's size if there is one.
 */
function openRemote(api: ApiSettings, id: string, command: readonly string[]): Promise<Duplex> {
  const out = process.stdout;
  const terminal =
    process.stdin.isTTY === true && out.isTTY ? { cols: out.columns, rows: out.rows } : null;
  return openUpgraded(
    api,
    `${SESSION_PATH.replace(':id', encodeURIComponent(id))}?${sessionQuery({ command, terminal })}`,
    SESSION_PROTOCOL,
  );
}

/** The interactive session (runc exec); its exit code, 127 if runc could not be run. */
function session(home: string, id: string, command: readonly string[]): Promise<number> {
  const tty = process.stdin.isTTY === true;
  return new Promise<number>((resolve) => {
    const child = spawn(
      'runc',
      ['--root', join(home, 'runc'), 'exec', ...(tty ? ['-t'] : []), id, ...command],
      { stdio: 'inherit' },
    );
    // Ctrl-C belongs to the session, not to this process.
    const ignore = () => undefined;
    process.on('SIGINT', ignore);
    child.on('error', () => resolve(127));
    child.on('close', (c) => {
      process.off('SIGINT', ignore);
      resolve(c ?? 1);
    });
  });
}
