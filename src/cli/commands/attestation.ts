import type { Command } from 'commander';
import type { Runner } from './runner.js';
import { AttestationError } from '../../domain/attestation.js';
import { readAttestations } from '../../services/attestation.js';

export function registerAttestation(program: Command, run: Runner): void {
  program
    .command('attestation')
    .summary('print the signed provenance bundle(s) of an image')
    .description(
      'Print the Sigstore bundle (v0.3, DSSE-signed in-toto statement with SLSA provenance) attached\n' +
        'to REF, exactly as stored, so that any verifier can check it. With several signers, one bundle\n' +
        'per line. Example: ingot attestation hello:0.1.0 > hello.sigstore.json',
    )
    .argument('<ref>', 'tag, digest or unique digest prefix')
    .action(async (ref: string) => {
      await run(
        async (app, io) => {
          for (const { bundle, attachment } of await readAttestations(await app.store(), ref)) {
            // Re-serialised on one line: the bytes were written by whoever could write the
            // store, and raw newlines or terminal escapes must not reach the reader's screen.
            let doc: unknown;
            try {
              doc = JSON.parse(bundle.toString('utf8'));
            } catch {
              throw new AttestationError(
                'E_BUNDLE_NOT_JSON',
                `the bundle attached as ${attachment} is not JSON`,
              );
            }
            io.out(`${JSON.stringify(doc)}\n`);
          }
          return 0;
        },
        () => 'text',
      );
    });
}
