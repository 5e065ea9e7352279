import { spawn } from 'node:child_process';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import type { Command } from 'commander';
import type { Evidence, ObservedInstance } from '../../domain/instance.js';
import { UsageError } from '../../domain/errors.js';
import { api } from '../client.js';
import { json, outputOption, table } from '../format.js';
import type { OutputFormat } from '../io.js';
import type { Runner } from './runner.js';

const UNIT_S: Record<string, number> = { s: 1, m: 60, h: 3600 };

/** "15m", "90s", "1h" → seconds. */
function parseTtl(raw: string): number {
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

export function registerIntegrity(program: Command, run: Runner): void {
  let format: OutputFormat = 'text';
  program
    .command('drift')
    .summary('evidence of drift and access: why instances are tainted')
    .description(
      'List the evidence against tainted instances: which check saw what (a file that differs from\n' +
        'the measurement, a process or mount that differs from the runtime config, a break-glass\n' +
        'session), what was expected, what was found, and when. Tainted instances are replaced.',
    )
    .argument('[fleet]', 'only this fleet')
    .addOption(outputOption())
    .action(async (fleet: string | undefined, options: { output: OutputFormat }) => {
      format = options.output;
      await run(
        async (app, io) => {
          const tainted = await api<ObservedInstance[]>(
            app.home,
            'GET',
            `/v1/drift${fleet ? `?fleet=${encodeURIComponent(fleet)}` : ''}`,
          );
          if (format === 'json') io.out(json(tainted));
          else if (tainted.length === 0) io.err('no drift: every instance is as built\n');
          else
            io.out(
              table(
                ['INSTANCE', 'DETECTOR', 'PATH', 'EXPECTED', 'ACTUAL', 'TIME'],
                tainted.flatMap((i) =>
                  (i.evidence ?? []).map((e: Evidence) => [
                    i.id,
                    e.detector,
                    e.path,
                    e.expected,
                    e.actual,
                    e.time,
                  ]),
                ),
              ),
            );
          return 0;
        },
        () => format,
      );
    });

  program
    .command('verify-instances')
    .summary('verify every running rootfs in full, now')
    .description(
      'Hash every file of every rootfs in use and compare it with its measurement, now rather than\n' +
        'at the next periodic check. Drift taints the instances, which are then replaced. Exit 1 if\n' +
        'any drift was found.',
    )
    .addOption(outputOption())
    .action(async (options: { output: OutputFormat }) => {
      format = options.output;
      await run(
        async (app, io) => {
          const report = await api<{ artifact: string; instances: string[]; drift: unknown[] }[]>(
            app.home,
            'POST',
            '/v1/verify-instances',
            {},
          );
          if (format === 'json') io.out(json(report));
          else
            io.out(
              table(
                ['ARTIFACT', 'INSTANCES', 'DRIFT'],
                report.map((r) => [
                  r.artifact,
                  r.instances.join(' ') || '-',
                  r.drift.length === 0 ? 'none' : `${r.drift.length} path(s)`,
                ]),
              ),
            );
          return report.some((r) => r.drift.length > 0) ? 1 : 0;
        },
        () => format,
      );
    });

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
        async (app, io) => {
          if (options.reason.trim() === '') throw new UsageError('--reason must say why');
          const ttlSeconds = parseTtl(options.ttl);
          const command = cmd.length > 0 ? cmd : ['/bin/sh'];
          await api(app.home, 'POST', `/v1/instances/${encodeURIComponent(id)}/debug`, {
            reason: options.reason,
            who: who(),
            command,
            ttlSeconds,
          });
          io.err(
            `${id} is tainted: it will be replaced when this session ends (at most ${options.ttl})\n`,
          );
          const tty = process.stdin.isTTY === true;
          const code = await new Promise<number>((resolve) => {
            const child = spawn(
              'runc',
              ['--root', join(app.home, 'runc'), 'exec', ...(tty ? ['-t'] : []), id, ...command],
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
          await api(app.home, 'POST', `/v1/instances/${encodeURIComponent(id)}/debug/close`, {});
          io.err(`session closed (exit ${code}); ${id} is being replaced\n`);
          return code;
        },
        () => 'text',
      );
    });
}
