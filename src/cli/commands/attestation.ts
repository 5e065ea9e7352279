import type { Command } from 'commander';
import type { Runner } from './runner.js';
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
          for (const { bundle } of await readAttestations(await app.store(), ref))
            io.out(`${bundle.toString('utf8').trimEnd()}\n`);
          return 0;
        },
        () => 'text',
      );
    });
}
