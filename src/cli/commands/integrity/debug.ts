import { spawn } from 'node:child_process';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import type { Command } from 'commander';
import { IngotError, UsageError } from '../../../domain/errors.js';
import { routes } from '../../../core/api/routes.js';
import { call } from '../../client.js';
import type { ApiSettings } from '../../target.js';
import type { Runner } from '../runner.js';

const UNIT_S: Record<string, number> = { s: 1, m: 60, h: 3600 };

/** "15m", "90s", "1h" → seconds. */
export function parseTtl(raw: string): number {
  const m = /^(\d{1,6})(s|m|h)$/.exec(raw.trim());
  if (!m) throw new UsageError(`--ttl must be a duration such as 15m, 90s or 1h, got ${raw}`);
  return Number(m[1]) * UNIT_S[m[2]!]!;
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
        'replacement starts at once.',
    )
    .argument('<instance>', 'instance id')
    .argument('[cmd...]', 'command to run (after --)')
    .requiredOption('--reason <text>', 'why (recorded; required)')
    .option('--ttl <duration>', 'the instance is replaced after this long at most', '15m')
    .action(async (id: string, cmd: string[], options: { reason: string; ttl: string }) => {
      await run(
        async (app, io, api) => {
          if (options.reason.trim() === '') throw new UsageError('--reason must say why');
          const ttlSeconds = parseTtl(options.ttl);
          const command = cmd.length > 0 ? cmd : ['/bin/sh'];
          // Checked before anything is recorded: a session that cannot open here would
          // still taint the instance.
          await mustRunHere(app.home, id, api);
          // Recorded and tainted before the session opens: access is never unrecorded.
          await call(api, routes.openDebug, {
            params: { id },
            body: { reason: options.reason, who: who(), command, ttlSeconds },
          });
          io.err(
            `${id} is tainted: it will be replaced when this session ends (at most ${options.ttl})\n`,
          );
          const code = await session(app.home, id, command);
          await call(api, routes.closeDebug, { params: { id } });
          io.err(`session closed (exit ${code}); ${id} is being replaced\n`);
          return code;
        },
        () => 'text',
      );
    });
}

/**
 * The session is runc's, on the instance's host: this home's runtime must run the instance.
 * Through a cluster that means running `ingot debug` on the instance's host with the home of
 * its agent (the server records the access and the host taints the instance, as on one host).
 */
async function mustRunHere(home: string, id: string, api: ApiSettings): Promise<void> {
  const root = join(home, 'runc');
  const here = await new Promise<boolean>((resolve) => {
    const child = spawn('runc', ['--root', root, 'state', id], { stdio: 'ignore' });
    child.on('error', () => resolve(false));
    child.on('close', (c) => resolve(c === 0));
  });
  if (here) return;
  let where = '';
  try {
    for (const fleet of await call(api, routes.fleets))
      for (const i of fleet.instances)
        if (i.id === id && i.host !== undefined) where = ` on host ${i.host}`;
  } catch {
    // Where it runs is a hint; the refusal stands without it.
  }
  throw new IngotError(
    'E_DEBUG_NOT_HERE',
    `${id} does not run in this home (${home})${where}: a break-glass session runs on the instance's host, with its agent's home (--home or INGOT_HOME); the access is recorded through the server`,
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
