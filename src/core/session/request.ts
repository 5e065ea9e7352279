import * as z from 'zod';
import { debugRequest } from '../api/instances.js';

/** What a session's connection switches to (HTTP Upgrade): frames.ts's frames. */
export const SESSION_PROTOCOL = 'ingot-session';

/** Where a client opens the session of a break-glass it opened (GET, upgraded). */
export const SESSION_PATH = '/v1/instances/:id/debug/session';

/**
 * What a client asks of a break-glass session it opened (POST /v1/instances/:id/debug):
 * the command it recorded, and the size of its terminal if it has one. The host runs the
 * session only for the command the record names, so what is recorded is what runs.
 */
export interface SessionRequest {
  readonly command: readonly string[];
  readonly terminal: { readonly cols: number; readonly rows: number } | null;
}

/** The command as one line of the record: each argument as a JSON string, unambiguous. */
export function commandLine(command: readonly string[]): string {
  return command.map((a) => JSON.stringify(a)).join(' ');
}

const dimension = z
  .string()
  .regex(/^\d{1,4}$/, 'a number of cells')
  .transform(Number)
  .pipe(z.number().int().min(1).max(9999));

const query = z.strictObject({
  command: z
    .string()
    .max(16 * 1024)
    .transform((text, ctx) => {
      try {
        return JSON.parse(text) as unknown;
      } catch {
        ctx.addIssue({ code: 'custom', message: 'a JSON array of strings' });
        return z.NEVER;
      }
    })
    .pipe(debugRequest.shape.command),
  cols: dimension.exactOptional(),
  rows: dimension.exactOptional(),
});

/** The request as a query string (the session's path is signed with it, on to the host). */
export function sessionQuery(request: SessionRequest): string {
  return new URLSearchParams({
    command: JSON.stringify(request.command),
    ...(request.terminal && {
      cols: String(request.terminal.cols),
      rows: String(request.terminal.rows),
    }),
  }).toString();
}

/** A session request from a query (untrusted); a message saying what is wrong otherwise. */
export function parseSessionQuery(
  params: URLSearchParams,
): { ok: true; request: SessionRequest } | { ok: false; message: string } {
  const raw: Record<string, string> = {};
  for (const [k, v] of params) {
    if (k in raw) return { ok: false, message: `${k} given twice` };
    raw[k] = v;
  }
  const parsed = query.safeParse(raw);
  if (!parsed.success)
    return {
      ok: false,
      message: parsed.error.issues
        .map((i) => `${i.path.join('.') || '(query)'}: ${i.message}`)
        .join('; '),
    };
  const { command, cols, rows } = parsed.data;
  if ((cols === undefined) !== (rows === undefined))
    return { ok: false, message: 'cols and rows: both or neither' };
  return {
    ok: true,
    request: {
      command,
      terminal: cols !== undefined && rows !== undefined ? { cols, rows } : null,
    },
  };
}
