import { IngotError, type CodesOf } from '../../domain/errors.js';

export type EdgeCode = CodesOf<'edge'>;

/**
 * Every error of the traffic edge, from the pure core (a refused edge state, an answer that
 * does not parse) to the adapter (a socket, the process). Tests and callers match the code.
 */
export class EdgeError extends IngotError<EdgeCode> {
  constructor(
    code: EdgeCode,
    message: string,
    options: { cause?: unknown; details?: Record<string, unknown> } = {},
  ) {
    super(code, message, options);
  }
}

/**
 * Text from elsewhere (HAProxy's answers, a name that was refused) made safe to quote in a
 * message: bounded, control characters shown as escapes, so that a hostile name cannot forge
 * lines in a log or a terminal.
 */
export function quoteForMessage(text: string, max = 200): string {
  const shown = text.length > max ? `${text.slice(0, max)}…` : text;
  return JSON.stringify(shown);
}
