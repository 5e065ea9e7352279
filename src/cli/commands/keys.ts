import type { Command } from 'commander';
import { UsageError } from '../../domain/errors.js';
import { json, outputOption } from '../format.js';
import type { OutputFormat } from '../io.js';
import type { Runner } from './runner.js';

export function registerKeys(program: Command, run: Runner): void {
  let format: OutputFormat = 'text';
  const key = program.command('key').summary('manage signing keys');
  key
    .command('generate')
    .summary('create an ECDSA P-256 signing key pair')
    .description(
      'Create NAME.key (private, PKCS#8 PEM, mode 0600) and NAME.pub (public, SPKI PEM) in DIR (default:\n' +
        "the home's keys folder, $INGOT_HOME/keys, made 0700) and print the key id (SHA-256 of the public\n" +
        'key, hex); where they went goes to stderr. Existing files are never overwritten.\n' +
        'Sign builds with `ingot build --key NAME.key`; trust them with `ingot verify --key NAME.pub`.',
    )
    // Not the working folder: that may be a git work tree, where a private key gets committed.
    .option('--out <dir>', "folder for the key files (default: the home's keys folder)")
    .option('--name <name>', 'file name without extension', 'ingot')
    .addOption(outputOption())
    .action(async (options: { out?: string; name: string; output: OutputFormat }) => {
      format = options.output;
      await run(
        async (app, io) => {
          if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/.test(options.name))
            throw new UsageError(
              `--name must be letters, digits, ".", "_" or "-", got ${JSON.stringify(options.name)}`,
            );
          const generated = await app.generateKey(options.out, options.name);
          if (format === 'json') io.out(json(generated));
          else {
            io.err(
              `private key  ${generated.privateKey} (keep it secret)\npublic key   ${generated.publicKey}\n`,
            );
            io.out(`${generated.keyId}\n`);
          }
          return 0;
        },
        () => format,
      );
    });
}
