import type { Command } from 'commander';
import type { PullReport } from '../../services/registry/pull.js';
import { collect, formatBytes, json, outputOption } from '../format.js';
import type { OutputFormat } from '../io.js';
import { registryFlags, registryOptions, type RegistryFlags } from '../registry-flags.js';
import type { Runner } from './runner.js';
import { describeVerify } from './verify.js';

interface PullOptions extends RegistryFlags {
  key?: string[];
  policy?: string;
  tag?: string;
  output: OutputFormat;
}

export function registerPull(program: Command, run: Runner): void {
  let format: OutputFormat = 'text';
  const command = program
    .command('pull')
    .summary('pull an image with its attachments, admitted before any layer is fetched')
    .description(
      'Pull SRC = HOST[:PORT]/REPO:TAG or HOST[:PORT]/REPO@sha256:… into the store. The manifest\n' +
        'and its referrers (the referrers API, else the sha256-<hex> tag) are fetched first and\n' +
        'checked as `ingot verify` does; only an admitted image has its missing layers fetched,\n' +
        'each verified against its digest. A refused image leaves the store untouched (exit 1).\n' +
        'Prints the digest last.',
    )
    .argument('<src>', 'HOST[:PORT]/REPO:TAG or HOST[:PORT]/REPO@sha256:…');
  registryFlags(command)
    .option(
      '--key <file>',
      "trusted public key (PEM); repeatable; adds to the policy keys. With neither --key nor --policy: the home's keys/local.pub, as `ingot up` admits",
      collect,
    )
    .option('--policy <file>', 'policy.yaml to admit the image under')
    .option('--tag <tag>', 'local tag (default: SRC without its digest, when SRC has a tag)')
    .addOption(outputOption())
    .action(async (src: string, options: PullOptions) => {
      format = options.output;
      await run(
        async (app, io) => {
          const { trust, homeKey } = await app.admissionTrust({
            ...(options.policy !== undefined && { policyFile: options.policy }),
            keyFiles: options.key ?? [],
          });
          // Said, because the answer depends on it: the same rule as `ingot up`'s admission.
          if (homeKey !== null)
            io.err(`trusting this home's key ${homeKey} (no --key or --policy given)\n`);
          const report = await app.pull(src, {
            ...registryOptions(options, io),
            ...(options.tag !== undefined && { tag: options.tag }),
            trust,
          });
          io.out(format === 'json' ? json(report) : describe(report));
          return report.ok ? 0 : 1;
        },
        () => format,
      );
    });
}

function describe(r: PullReport): string {
  const lines = [describeVerify(r.verify).trimEnd()];
  if (r.layers)
    lines.push(
      `pulled ${r.source}${r.tag ? ` as ${r.tag}` : ''}: ${r.layers.fetched} layer(s) fetched (${formatBytes(r.layers.fetchedBytes)}), ${r.layers.present} already in the store`,
    );
  else lines.push(`not pulled: ${r.source} was refused before any layer was fetched`);
  lines.push(r.digest);
  return lines.join('\n') + '\n';
}
