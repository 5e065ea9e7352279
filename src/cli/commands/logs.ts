import type { Command } from 'commander';
import { exitStatusText } from '../../core/runtime/exit.js';
import { json, outputOption } from '../format.js';
import type { OutputFormat } from '../io.js';
import type { Runner } from './runner.js';

export function registerLogs(program: Command, run: Runner): void {
  program
    .command('logs')
    .summary("print an instance's stdout and stderr")
    .description(
      'Print what INSTANCE wrote to stdout and stderr (kept in size-capped, rotated files on this\n' +
        'host). With -f, keep printing as it writes, until interrupted.\n' +
        'With --previous, print what an instance whose process exited left: its last 64 KiB of\n' +
        'output (stdout), and how it ended (stderr; with -o json, one object with both). The last\n' +
        '5 exited instances of each fleet are kept, after they were replaced.',
    )
    .argument('<instance>', 'instance id')
    .option('-f, --follow', 'keep printing new output')
    .option('-p, --previous', 'the output and exit of an instance that exited (crashed)')
    .addOption(outputOption())
    .action(
      async (
        id: string,
        options: { follow?: boolean; previous?: boolean; output: OutputFormat },
      ) => {
        await run(
          async (app, io) => {
            if (options.previous) {
              const kept = app.previousLogs(id);
              if (options.output === 'json') {
                io.out(json(kept));
                return 0;
              }
              io.out(kept.output);
              io.err(
                `ingot: ${kept.id} (fleet ${kept.fleet}) ${exitStatusText(kept.exit)} at ${kept.exit.at}\n`,
              );
              return 0;
            }
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
          () => (options.previous ? options.output : 'text'),
        );
      },
    );
}
