import type { Command } from 'commander';
import { Annotation } from '../../domain/media-types.js';
import { json, outputOption, table } from '../format.js';
import type { CliApp, Io, OutputFormat } from '../io.js';
import type { Runner } from './runner.js';

export function registerTags(program: Command, run: Runner): void {
  let format: OutputFormat = 'text';
  program
    .command('tags')
    .summary('list tags, or where a tag has pointed over time')
    .description(
      'List the tags of the store and the digest each points at. With --history, every move of\neach tag (or of TAG), oldest first: tags are movable names, and their history is kept.',
    )
    .argument('[tag]', 'only this tag')
    .option('--history', 'show every move, not just the current target')
    .addOption(outputOption())
    .action(
      async (tag: string | undefined, options: { history?: boolean; output: OutputFormat }) => {
        format = options.output;
        await run(
          async (app: CliApp, io: Io) => {
            const store = await app.store();
            if (options.history) {
              const events = await store.tagHistory(tag);
              if (format === 'json') io.out(json(events));
              else
                io.out(
                  table(
                    ['TIME', 'TAG', 'FROM', 'TO'],
                    events.map((e) => [e.time, e.tag, e.from ?? '-', e.to]),
                  ),
                );
              return 0;
            }
            const index = await store.index();
            const current = index.manifests
              .map((d) => ({ tag: d.annotations?.[Annotation.refName], digest: d.digest }))
              .filter(
                (t): t is { tag: string; digest: typeof t.digest } =>
                  t.tag !== undefined && (tag === undefined || t.tag === tag),
              )
              .sort((a, b) => (a.tag < b.tag ? -1 : 1));
            if (format === 'json') io.out(json(current));
            else
              io.out(
                table(
                  ['TAG', 'DIGEST'],
                  current.map((t) => [t.tag, t.digest]),
                ),
              );
            return 0;
          },
          () => format,
        );
      },
    );
}
