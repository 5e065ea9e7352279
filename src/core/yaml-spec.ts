import { isMap, isPair, isScalar, LineCounter, parseDocument, type Document } from 'yaml';
import type { z } from 'zod';
import { IngotError, type ErrorCode } from '../domain/errors.js';
import { firstInvalidUtf8 } from './utf8.js';

/** The four ways a YAML spec is refused; each kind of spec has its own codes. */
export interface SpecCodes<C extends ErrorCode> {
  readonly syntax: C;
  readonly invalid: C;
  readonly tooLarge: C;
  /** Bytes that are not UTF-8. */
  readonly encoding: C;
}

export interface SpecIssue {
  /** "layers[1].destination"; "" for the document itself. */
  readonly path: string;
  readonly message: string;
  readonly line?: number;
  readonly column?: number;
}

export class SpecError<C extends ErrorCode = ErrorCode> extends IngotError<C> {
  readonly issues: readonly SpecIssue[];
  constructor(code: C, file: string, issues: readonly SpecIssue[]) {
    const lines = issues.map(
      (i) => `  ${locate(file, i)}${i.path ? `${i.path}: ` : ''}${i.message}`,
    );
    const count = issues.length === 1 ? '1 problem' : `${issues.length} problems`;
    super(code, `${file}: ${count}\n${lines.join('\n')}`, { details: { file, issues } });
    this.issues = issues;
  }
}

function locate(file: string, issue: SpecIssue): string {
  return issue.line === undefined ? `${file}: ` : `${file}:${issue.line}:${issue.column ?? 1}: `;
}

/** A spec is a small text; anything bigger is a mistake or an attack on the parser. */
export const MAX_SPEC_BYTES = 1024 * 1024;

/**
 * A spec file's bytes as text: UTF-8, or refused with where the first bad byte is. Pure.
 * Replacing bad bytes with U+FFFD (what a lenient decode does) would make the spec mean
 * something other than its bytes, which are what provenance records and git shows.
 */
export function decodeSpec<C extends ErrorCode>(bytes: Uint8Array, file: string, code: C): string {
  const at = firstInvalidUtf8(bytes);
  if (at < 0) return new TextDecoder().decode(bytes);
  const before = bytes.subarray(0, at);
  const lineStart = before.lastIndexOf(0x0a) + 1;
  const line = before.reduce((n, b) => (b === 0x0a ? n + 1 : n), 1);
  const column = [...new TextDecoder().decode(before.subarray(lineStart))].length + 1;
  const shown = [...bytes.subarray(at, at + 4)].map((b) => b.toString(16).padStart(2, '0'));
  throw new SpecError(code, file, [
    {
      path: '',
      message: `not UTF-8 at byte ${at} (0x${shown.join(' 0x')}): save the file as UTF-8`,
      line,
      column,
    },
  ]);
}

/**
 * YAML text (or the file's bytes, which must be UTF-8) → the schema's output. Pure. Every
 * problem is reported at once, each with its field path and, where the YAML has one, its
 * line and column.
 */
export function parseYamlSpec<S extends z.ZodType, C extends ErrorCode>(
  schema: S,
  source: string | Uint8Array,
  file: string,
  codes: SpecCodes<C>,
): z.output<S> {
  const size = typeof source === 'string' ? Buffer.byteLength(source) : source.length;
  if (size > MAX_SPEC_BYTES) {
    throw new SpecError(codes.tooLarge, file, [
      { path: '', message: `the file is larger than ${MAX_SPEC_BYTES} bytes` },
    ]);
  }
  const text = typeof source === 'string' ? source : decodeSpec(source, file, codes.encoding);
  const lineCounter = new LineCounter();
  // Aliases are capped: a few nested anchors can otherwise expand to gigabytes.
  const doc = parseDocument(text, { lineCounter, uniqueKeys: true, prettyErrors: false });
  if (doc.errors.length > 0) {
    throw new SpecError(
      codes.syntax,
      file,
      doc.errors.map((e) => {
        const pos = lineCounter.linePos(e.pos[0]);
        return {
          path: '',
          message: e.message.split('\n')[0] ?? e.message,
          line: pos.line,
          column: pos.col,
        };
      }),
    );
  }
  let data: unknown;
  try {
    data = doc.toJS({ maxAliasCount: 100 });
  } catch (err) {
    throw new SpecError(codes.syntax, file, [{ path: '', message: (err as Error).message }]);
  }
  if (data === null || data === undefined) data = {};
  const result = schema.safeParse(data);
  if (!result.success) {
    const issues = flattenIssues(result.error.issues, data).map((i) =>
      withPosition(i, doc, lineCounter),
    );
    throw new SpecError(codes.invalid, file, issues);
  }
  return result.data;
}

type RawIssue = { path: PropertyKey[]; message: string; code: string; keys?: string[] };

/**
 * zod reports a failed union as one vague issue holding every branch's issues. The branch
 * that accepted the value's type is the one the user meant: report its issues instead.
 */
function flattenIssues(issues: readonly z.core.$ZodIssue[], root: unknown): RawIssue[] {
  const out: RawIssue[] = [];
  for (const issue of issues) {
    if (issue.code === 'invalid_union' && issue.errors.length > 0) {
      const branches = issue.errors.map((b) =>
        b.map((i) => ({ ...i, path: [...issue.path, ...i.path] })),
      );
      const meant = branches.find(
        (b) =>
          !b.some(
            (i) =>
              i.path.length === issue.path.length &&
              (i.code === 'invalid_type' || i.code === 'invalid_value'),
          ),
      );
      if (meant) {
        out.push(...flattenIssues(meant, root));
        continue;
      }
      const got = describe(valueAt(root, issue.path));
      const expected = branches
        .flatMap((b) => b.filter((i) => i.path.length === issue.path.length).map(expectation))
        .filter(Boolean);
      const wanted = [...new Set(expected)].join(' or ');
      out.push({
        path: [...issue.path],
        code: 'invalid_union',
        message: `expected ${wanted || 'something else'}, got ${got}`,
      });
      continue;
    }
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) {
        out.push({
          path: [...issue.path, key],
          code: issue.code,
          message: 'unknown field (check its spelling and where it is indented)',
        });
      }
      continue;
    }
    if (issue.code === 'invalid_type' && valueAt(root, issue.path) === undefined) {
      out.push({
        path: [...issue.path],
        code: issue.code,
        message: `is required (${issue.message.replace(/, received undefined$/, '').replace(/^Invalid input: /, '')})`,
      });
      continue;
    }
    out.push({
      path: [...issue.path],
      code: issue.code,
      message: issue.message.replace(/^Invalid input: /, ''),
    });
  }
  return out;
}

/** What a branch of a union wanted, in words. */
function expectation(issue: z.core.$ZodIssue): string {
  if (issue.code === 'invalid_value')
    return issue.values.map((v) => JSON.stringify(v)).join(' or ');
  if (issue.code === 'invalid_type')
    return issue.expected === 'object' ? 'a mapping' : `a ${issue.expected}`;
  return '';
}

function valueAt(root: unknown, path: readonly PropertyKey[]): unknown {
  let v = root;
  for (const key of path) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Record<PropertyKey, unknown>)[key];
  }
  return v;
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'list';
  return typeof value === 'object' ? 'mapping' : `${typeof value} ${JSON.stringify(value)}`;
}

function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const key of path) {
    if (typeof key === 'number') out += `[${key}]`;
    else out += out === '' ? String(key) : `.${String(key)}`;
  }
  return out;
}

function withPosition(issue: RawIssue, doc: Document, lc: LineCounter): SpecIssue {
  const base = { path: formatPath(issue.path), message: issue.message };
  const offset = offsetOf(doc, issue.path, issue.code === 'unrecognized_keys');
  if (offset === undefined) return base;
  const pos = lc.linePos(offset);
  return { ...base, line: pos.line, column: pos.col };
}

/** Where in the text a path's value (or, for an unknown key, the key) starts; else its nearest parent. */
function offsetOf(
  doc: Document,
  path: readonly PropertyKey[],
  pointAtKey: boolean,
): number | undefined {
  for (let n = path.length; n >= 0; n--) {
    const prefix = path.slice(0, n);
    if (pointAtKey && n === path.length && n > 0) {
      const parent = prefix.length === 1 ? doc.contents : doc.getIn(prefix.slice(0, -1), true);
      if (isMap(parent)) {
        const pair = parent.items.find(
          (p) => isPair(p) && isScalar(p.key) && p.key.value === prefix[n - 1],
        );
        const key = pair?.key as { range?: [number, number, number] } | undefined;
        if (key?.range) return key.range[0];
      }
      continue;
    }
    const node = (n === 0 ? doc.contents : doc.getIn(prefix, true)) as
      { range?: [number, number, number] } | null | undefined;
    if (node && typeof node === 'object' && node.range) return node.range[0];
  }
  return undefined;
}
