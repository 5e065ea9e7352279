import { systemFault } from '../adapters/shared/system-fault.js';
import { isIngotError } from '../domain/errors.js';
import { json } from './format.js';
import type { Io, OutputFormat } from './io.js';

export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;

/** Report an error the way the user asked for output; return the exit code. */
export function reportError(thrown: unknown, io: Io, format: OutputFormat): number {
  // A full disk or a damaged database is the machine's doing, not a bug: its own code.
  const err = systemFault(thrown) ?? thrown;
  const usage = isIngotError(err) && err.code === 'E_USAGE';
  if (isIngotError(err)) {
    if (format === 'json')
      io.out(json({ error: { code: err.code, message: err.message, ...err.details } }));
    io.err(`ingot: ${err.message}\n${usage ? '' : `(${err.code})\n`}`);
  } else {
    const text = err instanceof Error ? (err.stack ?? err.message) : String(err);
    if (format === 'json') io.out(json({ error: { code: 'E_INTERNAL', message: String(err) } }));
    io.err(
      `ingot: unexpected error: ${text}\nThis is a bug in Ingot; please report it with the command you ran.\n`,
    );
  }
  return usage ? EXIT_USAGE : EXIT_FAILURE;
}
