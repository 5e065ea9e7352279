import type { Command } from 'commander';
import { shortDigest } from '../../domain/digest.js';
import {
  inspectImage,
  listImages,
  readSbom,
  type ImageDetails,
  type ImageSummary,
} from '../../services/inspect.js';
import { columns, formatBytes, json, outputOption } from '../format.js';
import type { CliApp, Io, OutputFormat } from '../io.js';
import type { Runner } from './runner.js';

export function registerImages(program: Command, run: Runner): void {
  let format: OutputFormat = 'text';
  program
    .command('images')
    .summary('list the images in the store')
    .description(
      'List every image in the store with its tags, short digest, platform, layer count and compressed size.',
    )
    .addOption(outputOption({ wide: true }))
    .action(async (options: { output: OutputFormat }) => {
      format = options.output;
      await run(
        async (app: CliApp, io: Io) => {
          const images = await listImages(await app.store());
          if (format === 'json') io.out(json(images));
          else if (images.length === 0)
            io.err('no images yet: run `ingot build` in a baseline folder\n');
          else io.out(imagesTable(images, format === 'wide'));
          return 0;
        },
        () => format,
      );
    });

  program
    .command('inspect')
    .summary('show an image: config, runtime contract, layers, measurement and SBOM')
    .description(
      'Show one image. REF is a tag, a digest, or a unique prefix of a digest (at least 4 hex digits).\nEvery blob read is verified against its digest.\n' +
        'With --sbom, print instead the whole SBOM (SPDX 2.3 JSON) as built and signed, for SBOM tools:\nit is attached in gzip parts, which they do not read as one document.',
    )
    .argument('<ref>', 'tag or digest')
    .addOption(outputOption())
    .option(
      '--sbom',
      'print the whole SPDX JSON document (its sha256 is the digest provenance signs)',
    )
    .action(async (ref: string, options: { output: OutputFormat; sbom?: true }) => {
      format = options.output;
      await run(
        async (app: CliApp, io: Io) => {
          if (options.sbom) {
            io.out((await readSbom(await app.store(), ref)).toString('utf8'));
            return 0;
          }
          const d = await inspectImage(await app.store(), ref);
          io.out(format === 'json' ? json(d) : describeImage(d));
          return 0;
        },
        () => format,
      );
    });
}

/** `ingot inspect` as text. */
function describeImage(d: ImageDetails): string {
  const c = d.config.config ?? {};
  const s = d.measurement?.summary;
  const lines = [
    `image      ${d.digest}`,
    `tags       ${d.tags.join(', ') || '<none>'}`,
    `name       ${d.name ?? '?'} ${d.version ?? ''}`.trimEnd(),
    `platform   ${d.platform}`,
    `created    ${d.config.created ?? '?'}`,
    `base       ${d.base.digest ? `${d.base.name ? `${d.base.name} ` : ''}${d.base.digest}` : 'scratch'}`,
    '',
    'config',
    `  entrypoint ${JSON.stringify(c.Entrypoint ?? [])}`,
    `  cmd        ${JSON.stringify(c.Cmd ?? [])}`,
    `  user       ${c.User ?? '(root)'}`,
    `  workdir    ${c.WorkingDir ?? '/'}`,
    `  ports      ${Object.keys(c.ExposedPorts ?? {}).join(', ') || '-'}`,
    `  env        ${(c.Env ?? []).join(' ') || '-'}`,
    '',
    'runtime contract',
    ...(d.runtime
      ? [
          `  health     ${d.runtime.health ? `${d.runtime.health.probe.kind === 'http' ? `http :${d.runtime.health.probe.port}${d.runtime.health.probe.path}` : `tcp :${d.runtime.health.probe.port}`} every ${d.runtime.health.intervalMs} ms, timeout ${d.runtime.health.timeoutMs} ms, ${d.runtime.health.retries} retries, grace ${d.runtime.health.startGraceMs} ms` : 'none'}`,
          `  tmpfs      ${d.runtime.tmpfs.map((t) => t.path).join(', ') || '-'}`,
          `  volumes    ${d.runtime.volumes.map((v) => `${v.name}:${v.path}`).join(', ') || '-'}`,
          `  caps       ${d.runtime.capabilities.join(', ') || 'none'}`,
        ]
      : ['  none (not built by Ingot)']),
    '',
    `layers (${d.layers})`,
    ...d.manifest.layers.map(
      (l, i) =>
        `  ${l.digest}  ${formatBytes(l.size).padStart(9)}  ${d.config.history?.filter((h) => !h.empty_layer)[i]?.created_by ?? ''}`,
    ),
    '',
    `measurement ${d.measurement ? d.measurement.digest : 'none attached'}`,
    ...(s
      ? [
          `  ${s.files} files, ${s.dirs} folders, ${s.symlinks} symlinks, ${formatBytes(s.bytes)}`,
          ...(s.privileged.length > 0 ? [`  setuid/setgid: ${s.privileged.join(', ')}`] : []),
        ]
      : []),
    `sbom        ${d.sbom ? d.sbom.digest : 'none attached'}`,
    ...(d.sbom
      ? [
          `  ${d.sbom.files} files, ${d.sbom.packages.length} package(s)${
            d.sbom.packages.length
              ? ': ' +
                d.sbom.packages
                  .slice(0, 8)
                  .map((p) => `${p.name} ${p.version}`)
                  .join(', ') +
                (d.sbom.packages.length > 8 ? ', …' : '')
              : ''
          }`,
        ]
      : []),
  ];
  return lines.join('\n') + '\n';
}

/** One row per tag (`<none>` for an untagged image); wide: the full digest, name and version. */
export function imagesTable(images: readonly ImageSummary[], wide: boolean): string {
  const rows = images.flatMap((i) =>
    (i.tags.length > 0 ? i.tags : ['<none>']).map((tag) => ({ tag, image: i })),
  );
  return columns<(typeof rows)[number]>(
    [
      { header: 'TAG', cell: (r) => r.tag },
      { header: 'DIGEST', cell: (r) => (wide ? r.image.digest : shortDigest(r.image.digest)) },
      { header: 'NAME', cell: (r) => r.image.name ?? '-', wide: true },
      { header: 'VERSION', cell: (r) => r.image.version ?? '-', wide: true },
      { header: 'PLATFORM', cell: (r) => r.image.platform },
      { header: 'LAYERS', cell: (r) => String(r.image.layers) },
      { header: 'SIZE', cell: (r) => formatBytes(r.image.size) },
    ],
    rows,
    wide,
  );
}
