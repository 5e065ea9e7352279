import { systemFault } from '../adapters/shared/system-fault.js';
import { isIngotError, type ErrorCode } from '../domain/errors.js';
import { json } from './format.js';
import type { Io, OutputFormat } from './io.js';

export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;

/**
 * Usage errors (exit 2, as the README says): a command line that is wrong, and a YAML file
 * given to a command that cannot be read as what it should be (its syntax, its fields, its
 * size, its encoding), whether the CLI or the server found it. A file that is missing, or a
 * fleet that does not exist, is a failure like any other (exit 1).
 */
const USAGE_CODES: ReadonlySet<ErrorCode> = new Set<ErrorCode>([
  'E_USAGE',
  'E_OUTPUT_UNSUPPORTED',
  ...(['SPEC', 'FLEET', 'POLICY', 'CONTEXT'] as const).flatMap(
    (kind) =>
      [
        `E_${kind}_SYNTAX`,
        `E_${kind}_INVALID`,
        `E_${kind}_TOO_LARGE`,
        `E_${kind}_ENCODING`,
      ] as const,
  ),
]);

/** Report an error the way the user asked for output; return the exit code. */
export function reportError(thrown: unknown, io: Io, format: OutputFormat): number {
  // A full disk or a damaged database is the machine's doing, not a bug: its own code.
  const err = systemFault(thrown) ?? thrown;
  const usage = isIngotError(err) && USAGE_CODES.has(err.code);
  if (isIngotError(err)) {
    if (format === 'json')
      io.out(json({ error: { code: err.code, message: err.message, ...err.details } }));
    // A bad flag says what to do in its message; a YAML file's problems keep their code.
    io.err(`ingot: ${err.message}\n${err.code === 'E_USAGE' ? '' : `(${err.code})\n`}`);
  } else {
    const text = err instanceof Error ? (err.stack ?? err.message) : String(err);
    if (format === 'json') io.out(json({ error: { code: 'E_INTERNAL', message: String(err) } }));
    io.err(
      `ingot: unexpected error: ${text}\nThis is a bug in Ingot; please report it with the command you ran.\n`,
    );
  }
  return usage ? EXIT_USAGE : EXIT_FAILURE;
}
