import type { Command } from 'commander';
import type { Runner } from './runner.js';
import { outputOption } from '../format.js';
import type { OutputFormat } from '../io.js';
import { verifyBundle } from '../../core/attest/verify-bundle.js';
import { AttestationError, shortKeyId } from '../../domain/attestation.js';
import { IngotError } from '../../domain/errors.js';
import { readAttestations, type StoredBundle } from '../../services/attestation.js';

interface AttestationOptions {
  key?: string;
  all: boolean;
  output: OutputFormat;
}

export function registerAttestation(program: Command, run: Runner): void {
  program
    .command('attestation')
    .summary('print the signed provenance bundle of an image')
    .description(
      'Print the Sigstore bundle (v0.3, DSSE-signed in-toto statement with SLSA provenance) attached\n' +
        'to REF, exactly one, so that any verifier can read the file. An image keeps one bundle per\n' +
        'key (a rebuild replaces its key’s earlier one). With several signers, name the one to\n' +
        'print with --key (its signature must verify with it), or print all with --all (one per line).\n' +
        'Example: ingot attestation hello:1.0.0 --key ci.pub > hello.sigstore.json',
    )
    .argument('<ref>', 'tag, digest or unique digest prefix')
    .option('--key <file>', 'print the bundle this public key (PEM) signed, checked with it')
    .option('--all', 'print every bundle, one JSON document per line', false)
    .addOption(outputOption().default('text', 'text: each bundle as stored; json: an array'))
    .action(async (ref: string, options: AttestationOptions) => {
      await run(
        async (app, io) => {
          const stored = await readAttestations(await app.store(), ref);
          let chosen: StoredBundle[];
          if (options.key !== undefined) {
            const { keys } = await app.loadTrust({ keyFiles: [options.key] });
            chosen = signedBy(stored, keys);
          } else if (options.all) chosen = stored;
          else {
            // A store written before one-bundle-per-key may hold a key's earlier bundles:
            // one key is no ambiguity, its newest bundle is the one.
            const keys = [...new Set(stored.map((b) => b.keyHint ?? 'unnamed'))];
            if (keys.length > 1)
              throw new IngotError(
                'E_ATTESTATION_AMBIGUOUS',
                `${keys.length} keys signed this image (${keys.map((k) => (k === 'unnamed' ? k : shortKeyId(k))).join(', ')}): name one with --key PUB, or print all with --all`,
              );
            chosen = [stored.at(-1)!];
          }
          const lines = chosen.map(({ bundle, attachment }) => oneLine(bundle, attachment));
          // -o json: one document, an array of the bundles chosen (with --all, all of them).
          io.out(
            options.output === 'json'
              ? `[${lines.join(',')}]\n`
              : lines.map((l) => `${l}\n`).join(''),
          );
          return 0;
        },
        () => options.output,
      );
    });
}

/** The newest bundle whose signature verifies with the key (the hint alone proves nothing). */
function signedBy(
  stored: readonly StoredBundle[],
  keys: Parameters<typeof verifyBundle>[1],
): StoredBundle[] {
  for (const b of [...stored].reverse()) {
    try {
      if (verifyBundle(b.bundle, keys, b.digest).status === 'verified') return [b];
    } catch {
      // damaged, or signed by another key that claims this one's name: not this key's
    }
  }
  throw new IngotError(
    'E_NO_ATTESTATION',
    `no bundle attached to ${stored[0]?.digest ?? 'the image'} verifies with key ${shortKeyId(keys[0]!.id)}`,
  );
}

/**
 * Re-serialised on one line: the bytes were written by whoever could write the store, and raw
 * newlines or terminal escapes must not reach the reader's screen.
 */
function oneLine(bundle: Buffer, attachment: string): string {
  try {
    return JSON.stringify(JSON.parse(bundle.toString('utf8')));
  } catch {
    throw new AttestationError(
      'E_BUNDLE_NOT_JSON',
      `the bundle attached as ${attachment} is not JSON`,
    );
  }
}
