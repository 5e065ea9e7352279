import type { Command } from 'commander';
import type { BuildInfo } from '../build-info.js';
import { json, outputOption, table } from '../format.js';
import type { OutputFormat } from '../io.js';
import type { Runner } from './runner.js';

/** `ingot version`: what this `ingot` is, for bug reports and for scripts (`-o json`). */
export function registerVersion(program: Command, run: Runner, build: BuildInfo): void {
  program
    .command('version')
    .summary("print the version, the commit it was built from, and Node.js's version")
    .addOption(outputOption())
    .action(async (options: { output: OutputFormat }) => {
      await run(
        (_app, io) => {
          const report = { ...build, node: process.version };
          io.out(
            options.output === 'json'
              ? json(report)
              : table(
                  ['VERSION', 'COMMIT', 'DIRTY', 'NODE'],
                  [
                    [
                      report.version,
                      report.commit ?? 'unknown',
                      report.dirty === null ? 'unknown' : report.dirty ? 'yes' : 'no',
                      report.node,
                    ],
                  ],
                ),
          );
          return Promise.resolve(0);
        },
        () => options.output,
        { homeless: true },
      );
    });
}
