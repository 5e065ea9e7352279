import type { Command } from 'commander';
import type { Runner } from './runner.js';

export function registerLogs(program: Command, run: Runner): void {
  program
    .command('logs')
    .summary("print an instance's stdout and stderr")
    .description(
      'Print what INSTANCE wrote to stdout and stderr (kept in size-capped, rotated files on this\n' +
        'host). With -f, keep printing as it writes, until interrupted.',
    )
    .argument('<instance>', 'instance id')
    .option('-f, --follow', 'keep printing new output')
    .action(async (id: string, options: { follow?: boolean }) => {
      await run(
        async (app, io) => {
          let shown = app.logs(id);
          io.out(shown);
          if (!options.follow) return 0;
          for (;;) {
            await new Promise((r) => setTimeout(r, 250));
            let now: string;
            try {
              now = app.logs(id);
            } catch {
              return 0; // the instance was removed
            }
            // Rotation shortens the text: start over from what is there now.
            io.out(now.startsWith(shown) ? now.slice(shown.length) : now);
            shown = now;
          }
        },
        () => 'text',
      );
    });
}
