import type { Command } from 'commander';
import { routes } from '../../../core/api/routes.js';
import { call, serverInfo } from '../../client.js';
import { isAlive } from '../../../adapters/shared/process-alive.js';
import type { Runner } from '../runner.js';

/** `ingot down [--stop-instances]` */
export function registerDown(program: Command, run: Runner): void {
  program
    .command('down')
    .summary('stop Ingot (instances keep running unless --stop-instances)')
    .option('--stop-instances', 'stop every instance first')
    .action(async (options: { stopInstances?: boolean }) => {
      await run(
        async (app, io) => {
          const info = serverInfo(app.home);
          if (!info || !isAlive(info.pid)) {
            io.err('Ingot is not running\n');
            return 0;
          }
          await call(app.home, routes.shutdown, {
            body: { stopInstances: options.stopInstances === true },
          });
          for (let i = 0; i < 600 && isAlive(info.pid); i++)
            await new Promise((r) => setTimeout(r, 100));
          if (isAlive(info.pid)) {
            io.err(`Ingot (pid ${info.pid}) did not stop within 60 s\n`);
            return 1;
          }
          io.err(
            `Ingot stopped${options.stopInstances ? ', and its instances' : '; instances keep running'}\n`,
          );
          return 0;
        },
        () => 'text',
      );
    });
}
