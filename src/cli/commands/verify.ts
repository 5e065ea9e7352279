import type { Command } from 'commander';
import { shortKeyId } from '../../domain/attestation.js';
import type { VerifyReport } from '../../services/verify.js';
import { collect, formatBytes, json, outputOption } from '../format.js';
import type { OutputFormat } from '../io.js';
import type { Runner } from './runner.js';

interface VerifyOptions {
  key?: string[];
  policy?: string;
  blobs: boolean;
  output: OutputFormat;
}

export function registerVerify(program: Command, run: Runner): void {
  let format: OutputFormat = 'text';
  program
    .command('verify')
    .summary('check that an image may run: signatures, provenance, blobs, policy')
    .description(
      'Check REF the way admission does: every attached Sigstore bundle is well-formed and signed by a\n' +
        'trusted key about this very image; the attached measurement is the one the provenance signed;\n' +
        'every blob of the image and its attachments matches its digest; and the policy allows it.\n' +
        'Prints who built it, from what commit and base, and when. Exit 0 only when everything holds.',
    )
    .argument('<ref>', 'tag, digest or unique digest prefix')
    .option(
      '--key <file>',
      "trusted public key (PEM); repeatable; adds to the policy keys. With neither --key nor --policy: the home's keys/local.pub, as `ingot up` admits",
      collect,
    )
    .option(
      '--policy <file>',
      'policy.yaml: trusted keys, threshold, builders, sources, bases, runtime privileges',
    )
    .option('--no-blobs', 'skip re-hashing the blobs (signatures and policy only)')
    .addOption(outputOption())
    .action(async (ref: string, options: VerifyOptions) => {
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
          const report = await app.verify(ref, trust, { rehash: options.blobs });
          io.out(format === 'json' ? json(report) : describeVerify(report));
          return report.ok ? 0 : 1;
        },
        () => format,
      );
    });
}

/** The report as `ingot verify` prints it (also `ingot pull`, which admits the same way). */
export function describeVerify(r: VerifyReport): string {
  const name = r.tag ? `${r.tag} ${r.digest}` : r.digest;
  const lines = [r.ok ? `verified ${name}` : `REFUSED ${name}`];
  const row = (label: string, value: string) => lines.push(`  ${label.padEnd(12)}${value}`);
  const { decision } = r;
  row(
    'signed by',
    decision.signers.length > 0
      ? decision.signers.map((s) => `${s.name} (${shortKeyId(s.id)})`).join(', ')
      : 'no trusted key',
  );
  const p = r.provenance;
  if (p) {
    row('builder', p.builderId);
    if (p.git)
      row(
        'source',
        `${p.git.remote ?? '(no remote)'} @ ${p.git.commit.slice(0, 12)}${p.git.dirty ? ' with uncommitted changes' : ''}${p.git.ignoredInputs > 0 ? ` (+${p.git.ignoredInputs} input file(s) git ignores)` : ''}`,
      );
    else row('source', 'not in a git work tree');
    if (p.baseline) row('baseline', p.baseline.path);
    row('base', p.base ? `${p.baseName ? `${p.baseName} ` : ''}${p.base}` : 'scratch');
    if (p.finishedOn) row('built', p.finishedOn);
  }
  row(
    'measurement',
    r.measurement.digest
      ? `${r.measurement.digest}${r.measurement.signed ? ' (signed)' : ' (not covered by a signature)'}`
      : 'none',
  );
  if (r.runtime)
    row(
      'runs as',
      `${r.runtime.user ? `user ${r.runtime.user}` : 'root (no User)'}, capabilities: ${r.runtime.capabilities.length > 0 ? r.runtime.capabilities.join(', ') : 'none'}${r.runtime.volumes.length > 0 ? `, volumes: ${r.runtime.volumes.join(', ')}` : ''}`,
    );
  if (r.blobs) row('blobs', `${r.blobs.count} verified (${formatBytes(r.blobs.bytes)})`);
  row(
    'policy',
    `${decision.mode}: ${decision.reasons.length === 0 ? 'allowed' : decision.allowed ? 'allowed with warnings' : 'denied'}`,
  );
  for (const problem of r.problems) lines.push(`  ✗ ${problem.message} (${problem.code})`);
  for (const reason of decision.reasons)
    lines.push(`  ${decision.allowed ? 'warning: ' : '✗ '}${reason.message} (${reason.code})`);
  return lines.join('\n') + '\n';
}
