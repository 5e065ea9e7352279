import { Option } from 'commander';
import type { Io } from './io.js';

/** Human formatting. Only the CLI formats; everything below it returns data. */

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let v = n / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v < 10 ? v.toFixed(1) : Math.round(v)} ${units[i]}`;
}

/** "45s", "12m", "3h", "2d": how long ago, as `ps` and `kubectl` say it. */
export function formatAge(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 120) return `${s}s`;
  if (s < 7200) return `${Math.floor(s / 60)}m`;
  if (s < 172_800) return `${Math.floor(s / 3600)}h`;
  return `${Math.floor(s / 86_400)}d`;
}

export function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  return [line(header), ...rows.map(line)].join('\n') + '\n';
}

export function json(value: unknown): string {
  return JSON.stringify(value, null, 2) + '\n';
}

/**
 * Commander collector for a repeatable option (`--key a --key b`). Variadic options
 * (`<file...>`) would also swallow the positional arguments that follow them.
 */
export function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

/**
 * `-o, --output text|json|yaml`, as every command that prints results takes it. A command
 * sees yaml as json: main.ts turns its JSON into YAML on the way out (yamlIo), so each
 * command writes one structured form. A command that prints a table also takes `wide`, as
 * `kubectl get` does: the same table with more columns; only it is offered `wide`, so a
 * command never accepts a format it would ignore.
 */
export function outputOption(options: { wide?: boolean } = {}): Option {
  return new Option(
    '-o, --output <format>',
    options.wide === true ? 'output format (wide: a table with more columns)' : 'output format',
  )
    .choices(['text', ...(options.wide === true ? ['wide'] : []), 'json', 'yaml'])
    .default('text');
}

/**
 * A table whose columns may be wide-only: each column names itself and says whether `wide`
 * is needed to show it. Keeps one list of columns for both widths, so they cannot disagree.
 */
export interface Column<T> {
  readonly header: string;
  readonly cell: (row: T) => string;
  /** Shown only with `-o wide`. */
  readonly wide?: boolean;
}

export function columns<T>(cols: readonly Column<T>[], rows: readonly T[], wide: boolean): string {
  const shown = cols.filter((c) => wide || c.wide !== true);
  return table(
    shown.map((c) => c.header),
    rows.map((r) => shown.map((c) => c.cell(r))),
  );
}

/**
 * `io` whose stdout turns each JSON document written into YAML (one document per write,
 * separated by `---`); anything that is not JSON passes as it is.
 */
export function yamlIo(io: Io, stringify: (value: unknown) => string): Io {
  let first = true;
  return {
    ...io,
    out: (text: string) => {
      let value: unknown;
      try {
        value = JSON.parse(text);
      } catch {
        io.out(text);
        return;
      }
      io.out(`${first ? '' : '---\n'}${stringify(value)}`);
      first = false;
    },
  };
}
