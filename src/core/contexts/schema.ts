import { stringify } from 'yaml';
import * as z from 'zod';
import { parseServerUrls } from '../api/server-url.js';
import { parseYamlSpec, SpecError, type SpecCodes } from '../yaml-spec.js';

/**
 * The CLI's context file (`$XDG_CONFIG_HOME/ingot/config.yaml`): servers the CLI can reach by
 * a name, and which one it reaches when no --server or INGOT_SERVER names one.
 *
 *   current: local-cluster
 *   contexts:
 *     local-cluster:
 *       server: http://10.87.0.1:7070
 *       tokenFile: /var/tmp/ingot-local-cluster/s1/token
 *
 * The file is read by every command that calls the API, so it is read as hostile input: a
 * bounded size, UTF-8, YAML with capped aliases, and exactly these fields (a typo is named,
 * not ignored). It holds no secret: the token stays in its own 0600 file.
 */

export type ContextSpecCode =
  'E_CONTEXT_SYNTAX' | 'E_CONTEXT_INVALID' | 'E_CONTEXT_TOO_LARGE' | 'E_CONTEXT_ENCODING';

export const CONTEXT_CODES: SpecCodes<ContextSpecCode> = {
  syntax: 'E_CONTEXT_SYNTAX',
  invalid: 'E_CONTEXT_INVALID',
  tooLarge: 'E_CONTEXT_TOO_LARGE',
  encoding: 'E_CONTEXT_ENCODING',
};

/** A few lines per server: a file much larger is not a context file. */
export const MAX_CONTEXT_FILE_BYTES = 64 * 1024;
export const MAX_CONTEXTS = 256;

/** Letters, digits, ".", "_", "-"; starts with a letter or digit. */
const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;
export const CONTEXT_NAME_RULE = 'a name of letters, digits, ".", "_" or "-" (at most 63)';

export function isContextName(name: string): boolean {
  return NAME.test(name);
}

export interface Context {
  /** `http(s)://HOST[:PORT][/prefix]`. */
  readonly server: string;
  /** The API token's file (absolute; the CLI refuses it unless only its owner can read it). */
  readonly tokenFile: string;
  /** With an https server: the PEM of a private CA to verify it against (absolute). */
  readonly caFile?: string;
}

export interface ContextFile {
  /** The context commands reach when no server is named; null: this home's server. */
  readonly current: string | null;
  /** By name (a Map: a name such as "constructor" is a name, not a property of objects). */
  readonly contexts: ReadonlyMap<string, Context>;
}

export const EMPTY_CONTEXT_FILE: ContextFile = { current: null, contexts: new Map() };

const absolutePath = z
  .string()
  .max(4096)
  .refine((p) => p.startsWith('/') && !p.includes('\0'), 'an absolute path');

const serverUrl = z
  .string()
  .max(2048)
  .superRefine((s, ctx) => {
    const urls = parseServerUrls(s);
    if ('problem' in urls)
      ctx.addIssue({
        code: 'custom',
        message: `http://HOST[:PORT] or https://HOST[:PORT], or several separated by commas (${urls.problem})`,
      });
  });

export const contextSchema = z
  .strictObject({ server: serverUrl, tokenFile: absolutePath, caFile: absolutePath.optional() })
  .superRefine((c, ctx) => {
    const urls = parseServerUrls(c.server);
    if (c.caFile !== undefined && !('problem' in urls) && !urls[0].tls)
      ctx.addIssue({
        code: 'custom',
        path: ['caFile'],
        message: 'a CA file is for an https:// server; this one is http://',
      });
  });

/** The names of the contexts the raw value has, whatever else is wrong with it. */
function rawNames(value: unknown): string[] {
  const contexts = (value as { contexts?: unknown } | null)?.contexts;
  return contexts !== null && typeof contexts === 'object' ? Object.keys(contexts) : [];
}

const fileSchema = z
  .strictObject({
    current: z.string().max(63).nullable().optional(),
    contexts: z
      .record(z.string().regex(NAME, CONTEXT_NAME_RULE), contextSchema)
      .nullable()
      .optional(),
  })
  // Checked even when a context is malformed (`when`): every problem is named at once.
  .refine((f) => rawNames(f).length <= MAX_CONTEXTS, {
    path: ['contexts'],
    message: `at most ${MAX_CONTEXTS} contexts`,
    when: () => true,
  })
  .refine((f) => typeof f.current !== 'string' || Object.hasOwn(f.contexts ?? {}, f.current), {
    path: ['current'],
    error: (issue) => {
      const names = rawNames(issue.input);
      return `names no context of this file (it has ${names.length > 0 ? names.join(', ') : 'none'})`;
    },
    when: (payload) => {
      const current = (payload.value as { current?: unknown } | null)?.current;
      return typeof current === 'string' && !rawNames(payload.value).includes(current);
    },
  });

/** The file's bytes → its contexts, or a SpecError naming the file and every problem. Pure. */
export function parseContextFile(bytes: Uint8Array, file: string): ContextFile {
  if (bytes.length > MAX_CONTEXT_FILE_BYTES)
    throw new SpecError(CONTEXT_CODES.tooLarge, file, [
      { path: '', message: `the file is larger than ${MAX_CONTEXT_FILE_BYTES} bytes` },
    ]);
  const parsed = parseYamlSpec(fileSchema, bytes, file, CONTEXT_CODES);
  const contexts = new Map<string, Context>();
  for (const [name, c] of Object.entries(parsed.contexts ?? {}))
    contexts.set(name, {
      server: c.server,
      tokenFile: c.tokenFile,
      ...(c.caFile !== undefined && { caFile: c.caFile }),
    });
  return { current: parsed.current ?? null, contexts };
}

/** The file's text: contexts sorted by name, so that a rewrite changes only what changed. */
export function serializeContextFile(f: ContextFile): string {
  const contexts = Object.fromEntries(
    [...f.contexts].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)),
  );
  const body = stringify(
    { ...(f.current !== null && { current: f.current }), contexts },
    { lineWidth: 0 },
  );
  return `# Ingot's contexts (\`ingot context --help\`). Written by \`ingot context\`: comments are not kept.\n${body}`;
}

/** The current context with its name, or null (commands reach this home's server). */
export function currentContext(f: ContextFile): (Context & { readonly name: string }) | null {
  if (f.current === null) return null;
  const c = f.contexts.get(f.current);
  return c ? { name: f.current, ...c } : null;
}

/** The file with `name` set to `context` (added, or replacing one of that name). */
export function withContext(f: ContextFile, name: string, context: Context): ContextFile {
  return { current: f.current, contexts: new Map([...f.contexts, [name, context]]) };
}

/** The file with `name` (a context it has) current, or none when null. */
export function withCurrent(f: ContextFile, name: string | null): ContextFile {
  return { current: name, contexts: f.contexts };
}

/** The file without `name`; if it was current, none is. */
export function withoutContext(f: ContextFile, name: string): ContextFile {
  const contexts = new Map(f.contexts);
  contexts.delete(name);
  return { current: f.current === name ? null : f.current, contexts };
}
