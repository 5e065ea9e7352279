import type { Command } from 'commander';
import { UsageError } from '../../domain/errors.js';
import type { RebuildReport } from '../../services/rebuild.js';
import { collect, json, outputOption } from '../format.js';
import type { OutputFormat } from '../io.js';
import { registryFlags, registryOptions, type RegistryFlags } from '../registry-flags.js';
import type { Runner } from './runner.js';

interface RebuildOptions extends RegistryFlags {
  check?: boolean;
  key?: string[];
  policy?: string;
  output: OutputFormat;
}

export function registerRebuild(program: Command, run: Runner): void {
  let format: OutputFormat = 'text';
  const command = program
    .command('rebuild')
    .summary('rebuild an image from the sources its provenance names and compare')
    .description(
      "With --check: read REF's signed provenance, check that this git work tree is at the recorded\n" +
        'commit with no uncommitted changes, rebuild the baseline it names with the same parameters\n' +
        'into a fresh store (no cache), and report whether the digest is identical. Exit 0 only if it\n' +
        'is. With --key or --policy the provenance is used only if it verifies.',
    )
    .argument('<ref>', 'tag, digest or unique digest prefix')
    .option('--check', 'compare with the stored image (the only mode)')
    .option(
      '--key <file>',
      'trusted public key (PEM) the provenance must verify with (repeatable)',
      collect,
    )
    .option('--policy <file>', 'policy the artifact must satisfy first');
  registryFlags(command, "base image's registry")
    .addOption(outputOption())
    .action(async (ref: string, options: RebuildOptions) => {
      format = options.output;
      await run(
        async (app, io) => {
          if (!options.check)
            throw new UsageError(
              'rebuild only checks: run `ingot rebuild --check REF` (images are built with `ingot build`)',
            );
          const wantsTrust = options.policy !== undefined || (options.key?.length ?? 0) > 0;
          const trust = wantsTrust
            ? await app.loadTrust({
                ...(options.policy !== undefined && { policyFile: options.policy }),
                keyFiles: options.key ?? [],
              })
            : undefined;
          const report = await app.rebuild(
            { ref, cwd: process.cwd(), ...(trust && { trust }) },
            registryOptions(options, io),
          );
          io.out(format === 'json' ? json(report) : describe(report));
          return report.identical ? 0 : 1;
        },
        () => format,
      );
    });
}

function describe(r: RebuildReport): string {
  const lines = [
    r.identical
      ? `reproduced ${r.original}`
      : `NOT reproduced: the store has ${r.original}, the sources build ${r.rebuilt}`,
    `  commit      ${r.commit}`,
    `  baseline    ${r.baseline} (${r.baselineDigest.recorded === r.baselineDigest.now ? 'same file' : `differs: recorded ${r.baselineDigest.recorded ?? '?'}, now ${r.baselineDigest.now}`})`,
    `  source tree ${r.sourceTree.recorded === r.sourceTree.rebuilt ? 'same content' : `differs: recorded ${r.sourceTree.recorded ?? '?'}, now ${r.sourceTree.rebuilt}`}`,
    ...(r.ignoredInputs > 0
      ? [
          `  note        ${r.ignoredInputs} input file(s) of the original build are ignored by git: the commit does not hold them`,
        ]
      : []),
    `  provenance  ${r.verified ? 'verified' : 'not verified (give --key to require a trusted signature)'}`,
  ];
  return lines.join('\n') + '\n';
}
