import { createPrivateKey, sign } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { encodeBundle } from '../../src/core/attest/bundle.js';
import { pae } from '../../src/core/attest/dsse.js';
import { canonicalJsonBytes } from '../../src/core/canonical-json.js';
import { buildArtifactManifest } from '../../src/core/image.js';
import { InToto } from '../../src/domain/attestation.js';
import type { Digest } from '../../src/domain/digest.js';
import { Annotation, MediaType } from '../../src/domain/media-types.js';
import { openStore } from './app.js';

/** Sign a payload with a PEM key file the way a (possibly hostile) signer could. */
export function signBundle(
  keyFile: string,
  keyId: string,
  payload: Buffer,
  payloadType: string = InToto.payloadType,
): Buffer {
  const key = createPrivateKey(readFileSync(keyFile));
  return encodeBundle({
    payloadType,
    payload,
    signature: sign('sha256', pae(payloadType, payload), key),
    keyId,
  });
}

/** Attach arbitrary bytes as a Sigstore bundle of an image, as anyone with store access could. */
export async function attachBundle(home: string, image: Digest, bytes: Buffer): Promise<Digest> {
  const store = await openStore(home);
  const subject = await store.resolve(image);
  const tx = await store.begin();
  const blob = await tx.putBlob(bytes, MediaType.sigstoreBundle);
  await tx.putBlob(Buffer.from('{}'), MediaType.empty);
  const manifest = await tx.putBlob(
    canonicalJsonBytes(buildArtifactManifest(MediaType.sigstoreBundle, [blob], subject, {})),
    MediaType.imageManifest,
  );
  await tx.commit({
    manifests: [
      {
        descriptor: {
          ...manifest,
          artifactType: MediaType.sigstoreBundle,
          annotations: { [Annotation.subject]: image },
        },
        tags: [],
      },
    ],
    time: new Date().toISOString(),
  });
  return manifest.digest;
}

/** The statement inside a bundle. */
export function statementOf(bundle: Buffer | string): Record<string, unknown> {
  const doc = JSON.parse(bundle.toString()) as { dsseEnvelope: { payload: string } };
  return JSON.parse(Buffer.from(doc.dsseEnvelope.payload, 'base64').toString()) as Record<
    string,
    unknown
  >;
}

const GIT_ENV = {
  ...process.env,
  GIT_AUTHOR_NAME: 'Ingot Test',
  GIT_AUTHOR_EMAIL: 'test@ingot.invalid',
  GIT_COMMITTER_NAME: 'Ingot Test',
  GIT_COMMITTER_EMAIL: 'test@ingot.invalid',
};

export function git(dir: string, ...args: string[]): string {
  return execFileSync('git', ['-C', dir, ...args], { encoding: 'utf8', env: GIT_ENV }).trim();
}

/** A git work tree with one commit of everything in `dir`; returns the commit. */
export function gitInit(dir: string, remote?: string): string {
  git(dir, 'init', '-q', '-b', 'main');
  if (remote) git(dir, 'remote', 'add', 'origin', remote);
  return gitCommit(dir, 'initial');
}

export function gitCommit(dir: string, message: string): string {
  git(dir, 'add', '-A');
  git(dir, 'commit', '-q', '-m', message);
  return git(dir, 'rev-parse', 'HEAD');
}
