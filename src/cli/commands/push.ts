import type { Command } from 'commander';
import type { PushReport } from '../../services/registry/push.js';
import { formatBytes, json, outputOption } from '../format.js';
import type { OutputFormat } from '../io.js';
import { registryFlags, registryOptions, type RegistryFlags } from '../registry-flags.js';
import type { Runner } from './runner.js';

interface PushOptions extends RegistryFlags {
  output: OutputFormat;
}

export function registerPush(program: Command, run: Runner): void {
  let format: OutputFormat = 'text';
  const command = program
    .command('push')
    .summary('push an image with its signatures, measurement and SBOM to a registry')
    .description(
      'Push REF from the store to DEST = HOST[:PORT]/REPO[:TAG]: config and layers (only those the\n' +
        'registry lacks), the manifest, then every attachment as an OCI 1.1 artifact whose subject is\n' +
        'the image. Where the registry has no referrers API, the index at tag sha256-<hex> lists them\n' +
        "(the distribution spec's fallback). Credentials: --creds, else $REGISTRY_AUTH_FILE, else\n" +
        '~/.docker/config.json. Prints the pushed digest last.',
    )
    .argument('<ref>', 'tag, digest or unique digest prefix in the store')
    .argument('<dest>', 'HOST[:PORT]/REPO[:TAG]');
  registryFlags(command)
    .addOption(outputOption())
    .action(async (ref: string, dest: string, options: PushOptions) => {
      format = options.output;
      await run(
        async (app, io) => {
          const report = await app.push(ref, dest, registryOptions(options, io));
          io.out(format === 'json' ? json(report) : describe(report));
          return 0;
        },
        () => format,
      );
    });
}

function describe(r: PushReport): string {
  const lines = [`pushed ${r.destination}`];
  lines.push(
    `  blobs        ${r.blobs.uploaded} uploaded (${formatBytes(r.blobs.uploadedBytes)}), ${r.blobs.mounted} mounted, ${r.blobs.present} already there`,
  );
  lines.push(
    `  attachments  ${r.attachments.map((a) => a.artifactType ?? a.digest).join(', ') || 'none'}`,
  );
  lines.push(
    `  referrers    ${r.referrers.via === 'api' ? "the registry's referrers API" : `tag ${r.referrers.tag}${r.referrers.updated ? '' : ' (already listed them)'}`}`,
  );
  lines.push(r.digest);
  return lines.join('\n') + '\n';
}
