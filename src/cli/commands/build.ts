import { Option, type Command } from 'commander';
import { shortDigest } from '../../domain/digest.js';
import { UsageError } from '../../domain/errors.js';
import type { LayerCompression } from '../../domain/media-types.js';
import type { BuildResult } from '../../services/build/index.js';
import { collect, formatBytes, json, outputOption } from '../format.js';
import type { OutputFormat } from '../io.js';
import { progressRenderer } from '../progress.js';
import { registryFlags, registryOptions, type RegistryFlags } from '../registry-flags.js';
import type { Runner } from './runner.js';

interface BuildOptions extends RegistryFlags {
  tag?: string;
  compression: LayerCompression;
  level?: string;
  sourceDateEpoch?: string;
  output: OutputFormat;
  quiet?: boolean;
  key?: string[];
  builderId?: string;
  /** false with --no-cache */
  cache: boolean;
}

export function registerBuild(program: Command, run: Runner): void {
  let format: OutputFormat = 'text';
  const command = program
    .command('build')
    .summary('build a baseline into a reproducible OCI image')
    .description(
      'Build the baseline in DIR (a folder with an ingot.yaml, or the file itself) into an OCI image in the store,\n' +
        'with its file-level measurement and an SPDX 2.3 SBOM attached. The same inputs give the same digest on\n' +
        'every machine: timestamps come from SOURCE_DATE_EPOCH (default 0), modes and owners are normalised.\n' +
        'Progress goes to stderr; the image digest is the last line on stdout.',
    )
    .argument('[dir]', 'baseline folder or ingot.yaml', '.')
    .option(
      '-t, --tag <name>',
      'tag to point at the image (default: <name>:<version> from the baseline)',
    )
    .addOption(
      new Option('-c, --compression <codec>', 'layer compression')
        .choices(['gzip', 'zstd', 'none'])
        .default('gzip'),
    )
    .option('--level <n>', 'compression level (gzip 1-9, default 1; zstd 1-19, default 3)')
    .option(
      '--source-date-epoch <seconds>',
      'time recorded in the image (default: $SOURCE_DATE_EPOCH, else 0)',
    )
    .addOption(outputOption())
    .option(
      '--key <file>',
      'sign SLSA provenance with this private key (repeatable; default: $INGOT_SIGNING_KEY)',
      collect,
    )
    .option(
      '--builder-id <uri>',
      "builder id recorded in the provenance (default: $INGOT_BUILDER_ID, else Ingot's local builder)",
    )
    .option(
      '--no-cache',
      'read and encode every source byte; neither use nor update the build cache (for release builds)',
    )
    .option('-q, --quiet', 'no progress on stderr');
  // For `from: { image: HOST[:PORT]/REPO[:TAG], digest }`: the base's registry, as pull reaches one.
  registryFlags(command, "base image's registry").action(
    async (dir: string, options: BuildOptions) => {
      format = options.output;
      await run(
        async (app, io) => {
          // An empty SOURCE_DATE_EPOCH means unset, as other reproducible-build tools read it.
          const fromEnv = io.env['SOURCE_DATE_EPOCH'];
          const epochText = options.sourceDateEpoch ?? (fromEnv ? fromEnv : '0');
          if (!/^\d{1,12}$/.test(epochText))
            throw new UsageError(
              `SOURCE_DATE_EPOCH must be a whole number of seconds, got ${JSON.stringify(epochText)}`,
            );
          let level: number | undefined;
          if (options.level !== undefined) {
            if (!/^\d{1,2}$/.test(options.level))
              throw new UsageError(
                `--level must be a number, got ${JSON.stringify(options.level)}`,
              );
            level = Number(options.level);
          }
          const envKey = io.env['INGOT_SIGNING_KEY'];
          const keys = options.key ?? (envKey ? [envKey] : []);
          const builderId = options.builderId ?? (io.env['INGOT_BUILDER_ID'] || undefined);
          if (builderId !== undefined && !/^[a-z][a-z0-9+.-]*:\S+$/i.test(builderId))
            throw new UsageError(`--builder-id must be a URI, got ${JSON.stringify(builderId)}`);
          const progress = options.quiet ? null : progressRenderer(io);
          let result: BuildResult;
          try {
            result = await app.build(
              {
                path: dir,
                ...(options.tag !== undefined && { tag: options.tag }),
                compression: options.compression,
                ...(level !== undefined && { level }),
                sourceDateEpoch: Number(epochText),
                signingKeys: keys,
                ...(builderId !== undefined && { builderId }),
                ...(!options.cache && { noCache: true }),
                ...(progress && { onProgress: progress.update }),
              },
              registryOptions(options, io),
            );
          } finally {
            progress?.done();
          }
          if (format === 'json') io.out(json(result));
          else {
            if (!options.quiet) io.err(describe(result));
            io.out(`${result.digest}\n`);
          }
          return 0;
        },
        () => format,
      );
    },
  );
}

/**
 * What the build cache saved, without rounding a change away: "100 %" is said only when no
 * byte of any layer was encoded anew (a one-file change beside a large layer is 99.7 %).
 */
export function reuseNote(
  layers: readonly { readonly rawBytes: number; readonly reusedBytes: number }[],
): string {
  const reused = layers.reduce((n, l) => n + l.reusedBytes, 0);
  const raw = layers.reduce((n, l) => n + l.rawBytes, 0);
  if (raw === 0 || reused === 0) return '';
  const changed = layers.filter((l) => l.reusedBytes < l.rawBytes).length;
  if (changed === 0) return ', every layer reused whole from earlier builds';
  const percent = Math.min(99, Math.floor((100 * reused) / raw));
  return `, ${changed} of ${layers.length} changed: ${formatBytes(raw - reused)} encoded anew, ${percent}% of layer bytes reused`;
}

function describe(r: BuildResult): string {
  const ours = r.layers.filter((l) => l.origin !== 'base');
  const s = r.measurement.summary;
  const lines = [
    `built ${r.name} ${r.version} for ${r.platform}`,
    `  base     ${r.base ? `${r.base.tag ?? ''}${r.base.tag ? ' ' : ''}${r.base.digest}` : 'scratch'}`,
    `  layers   ${r.layers.length} (${formatBytes(r.layers.reduce((n, l) => n + l.descriptor.size, 0))})${reuseNote(ours)}`,
    ...(r.base && r.base.dropped.length > 0
      ? [
          `  dropped  ${r.base.dropped.length} device node(s) of the base under /dev, which the runtime provides: ${r.base.dropped
            .slice(0, 8)
            .map((d) => d.path)
            .join(', ')}${r.base.dropped.length > 8 ? ', …' : ''} (listed in the measurement)`,
        ]
      : []),
    `  rootfs   ${s.files} files, ${s.dirs} folders, ${s.symlinks} symlinks, ${formatBytes(s.bytes)}${s.privileged.length > 0 ? `; setuid/setgid: ${s.privileged.join(', ')}` : ''}`,
    `  sbom     ${r.sbom.packages} package(s), ${r.sbom.files} files`,
    ...(r.attestations.length > 0
      ? [
          `  signed   provenance by ${r.attestations.map((a) => `${a.keyId.slice(0, 12)}…`).join(', ')}${r.source.git ? ` (commit ${r.source.git.commit.slice(0, 12)}${r.source.git.dirty ? ', uncommitted changes' : ''})` : ''}`,
        ]
      : ['  signed   no (give --key to attach signed provenance)']),
    ...r.moved.map(
      (m) =>
        `  tag      ${m.tag} → ${shortDigest(m.to)}${m.from ? ` (was ${shortDigest(m.from)})` : ''}`,
    ),
    ...(r.moved.length === 0 ? [`  tag      ${r.tag} (unchanged)`] : []),
  ];
  if (r.base && !r.base.tag) lines.splice(1, 1, `  base     ${r.base.digest}`);
  if (r.base?.kind === 'registry')
    lines.splice(1, 1, `  base     ${r.base.location} ${r.base.digest}`);
  return lines.join('\n') + '\n';
}
