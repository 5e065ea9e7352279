import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import { routes } from '../../../core/api/routes.js';
import { call, runningServer } from '../../client.js';
import { isSameProcess } from '../../../adapters/shared/process-alive.js';
import { json, outputOption } from '../../format.js';
import type { CliApp, Io, OutputFormat } from '../../io.js';
import { resolveTarget } from '../../target.js';
import type { Runner } from '../runner.js';

/** `ingot down [--stop-instances]` */
export function registerDown(program: Command, run: Runner): void {
  program
    .command('down')
    .summary('stop Ingot (instances keep running unless --stop-instances)')
    .description(
      'Stop the server of this home. Its instances keep running (and are adopted by the next\n' +
        '`ingot up`) unless --stop-instances: then each gets SIGTERM, its grace, then SIGKILL, and\n' +
        'its network is released. With no server running, --stop-instances does this from the\n' +
        "agent's saved record and runc's list alone.",
    )
    .option('--stop-instances', 'stop every instance first')
    .addOption(outputOption())
    .action(async (options: { stopInstances?: boolean; output: OutputFormat }) => {
      await run(
        async (app, io, api) => {
          // Said to people on stderr; with -o json, the outcome on stdout too.
          const outcome = (result: Record<string, unknown>, text: string, code = 0) => {
            io.err(text);
            if (options.output === 'json')
              io.out(
                json({
                  ...result,
                  instancesStopped: options.stopInstances === true && result['stopped'] === true,
                }),
              );
            return code;
          };
          const target = resolveTarget(api);
          if (target.kind === 'url') {
            // Not this machine's process: it is asked, and cannot be watched until it exits.
            await call(api, routes.shutdown, {
              body: { stopInstances: options.stopInstances === true },
            });
            return outcome(
              { stopped: true, server: target.base },
              `asked the server at ${target.base} to stop${options.stopInstances ? ', and its instances' : '; instances keep running'}\n`,
            );
          }
          const info = runningServer(app.home);
          if (!info) {
            if (options.stopInstances) return stopWithoutServer(app, io);
            return outcome({ stopped: false, running: false }, 'Ingot is not running\n');
          }
          await call(api, routes.shutdown, {
            body: { stopInstances: options.stopInstances === true },
          });
          const alive = () => isSameProcess(info.pid, info.started, () => true);
          for (let i = 0; i < 600 && alive(); i++) await new Promise((r) => setTimeout(r, 100));
          if (alive())
            return outcome(
              { stopped: false, pid: info.pid },
              `Ingot (pid ${info.pid}) did not stop within 60 s\n`,
              1,
            );
          return outcome(
            { stopped: true, pid: info.pid },
            `Ingot stopped${options.stopInstances ? ', and its instances' : '; instances keep running'}\n`,
          );
        },
        () => options.output,
      );
    });
}

/**
 * No server (it refused to start, or was killed): its instances must not be orphaned. The
 * agent's record and runc's list say what runs; exit 1 if anything could not be stopped.
 */
async function stopWithoutServer(app: CliApp, io: Io): Promise<number> {
  // A home that never ran an instance has nothing to stop (and is not created here).
  if (!existsSync(join(app.home, 'runc')) && !existsSync(join(app.home, 'agent'))) {
    io.err('Ingot is not running, and has no instances here\n');
    return 0;
  }
  const report = await app.stopInstancesWithoutServer();
  const n = report.stopped.length;
  io.err(
    `Ingot is not running; stopped ${n} instance${n === 1 ? '' : 's'} without it${n > 0 ? `: ${report.stopped.join(', ')}` : ''}\n`,
  );
  if (report.released.length > 0)
    io.err(`released what ${report.released.join(', ')} still held (no container left)\n`);
  for (const f of report.failed) io.err(`could not stop ${f.id}: ${f.message}\n`);
  if (report.bridgeKept !== undefined) io.err(`the bridge stays: ${report.bridgeKept}\n`);
  return report.failed.length > 0 ? 1 : 0;
}
