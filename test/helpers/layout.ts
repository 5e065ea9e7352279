import { createHash } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import tar from 'tar-stream';

export type RawEntry = Partial<tar.Header> & { name: string; content?: Buffer };

/** A tar archive exactly as given: no name checks, so tests can write hostile ones. */
export async function rawTar(entries: readonly RawEntry[]): Promise<Buffer> {
  const pack = tar.pack();
  const chunks: Buffer[] = [];
  pack.on('data', (c: unknown) => chunks.push(c as Buffer));
  const ended = new Promise<void>((resolve, reject) => {
    pack.on('end', resolve);
    pack.on('error', reject);
  });
  for (const { content, ...header } of entries) {
    await new Promise<void>((resolve, reject) => {
      pack.entry(
        { mode: 0o644, uid: 0, gid: 0, mtime: new Date(0), ...header },
        content ?? '',
        (err) => (err ? reject(err) : resolve()),
      );
    });
  }
  pack.finalize();
  await ended;
  return Buffer.concat(chunks);
}

const sha = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

export interface LayerBlob {
  readonly tar: Buffer;
  readonly compression?: 'gzip' | 'none';
  /** Tamper hooks: what the manifest or config will claim. */
  readonly claimSize?: number;
  readonly claimDiffId?: string;
  readonly blobOverride?: Buffer;
}

/**
 * Write an OCI layout with one image made of the given layers, tagged `tag`. Returns the
 * manifest digest.
 */
export function writeLayout(
  dir: string,
  layers: readonly LayerBlob[],
  options: { tag?: string; architecture?: string; config?: Record<string, unknown> } = {},
): string {
  mkdirSync(join(dir, 'blobs', 'sha256'), { recursive: true });
  const put = (b: Buffer) => {
    const d = sha(b);
    writeFileSync(join(dir, 'blobs', 'sha256', d.slice(7)), b);
    return d;
  };
  const descriptors = layers.map((l) => {
    const blob = l.blobOverride ?? (l.compression === 'none' ? l.tar : gzipSync(l.tar));
    const digest = put(blob);
    return {
      mediaType:
        l.compression === 'none'
          ? 'application/vnd.oci.image.layer.v1.tar'
          : 'application/vnd.oci.image.layer.v1.tar+gzip',
      digest,
      size: l.claimSize ?? blob.length,
    };
  });
  const config = Buffer.from(
    JSON.stringify({
      architecture: options.architecture ?? 'amd64',
      os: 'linux',
      config: { Env: ['PATH=/usr/bin:/bin'], ...options.config },
      rootfs: { type: 'layers', diff_ids: layers.map((l) => l.claimDiffId ?? sha(l.tar)) },
    }),
  );
  const configDesc = {
    mediaType: 'application/vnd.oci.image.config.v1+json',
    digest: put(config),
    size: config.length,
  };
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: configDesc,
      layers: descriptors,
    }),
  );
  const digest = put(manifest);
  writeFileSync(join(dir, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  writeFileSync(
    join(dir, 'index.json'),
    JSON.stringify({
      schemaVersion: 2,
      manifests: [
        {
          mediaType: 'application/vnd.oci.image.manifest.v1+json',
          digest,
          size: manifest.length,
          annotations: { 'org.opencontainers.image.ref.name': options.tag ?? 'base' },
        },
      ],
    }),
  );
  return digest;
}
