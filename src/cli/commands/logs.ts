import type { Command } from 'commander';
import type { InstanceLogs, LogsQuery } from '../../core/api/instances.js';
import { routes } from '../../core/api/routes.js';
import { timeOnWire } from '../../core/api/wire-time.js';
import type { LogMark } from '../../core/runtime/log-marks.js';
import { answerLog } from '../../core/runtime/log-slice.js';
import { answerText, lastLines, lineCount } from '../../core/runtime/log-text.js';
import { exitStatusText } from '../../core/runtime/exit.js';
import type { PreviousInstance } from '../../domain/instance.js';
import { IngotError, UsageError } from '../../domain/errors.js';
import { call, runningServer } from '../client.js';
import { json, outputOption } from '../format.js';
import type { CliApp, Io, OutputFormat } from '../io.js';
import { resolveTarget, type ApiSettings } from '../target.js';
import { listFleets, type FleetView } from './fleets/fleet-view.js';
import { parseTime } from './ledger/ledger-access.js';
import type { Runner } from './runner.js';

interface LogsOptions {
  follow?: boolean;
  previous?: boolean;
  tail?: number;
  since?: string;
  timestamps?: boolean;
  output: OutputFormat;
}

/** What to print of each answer: since when, the last lines, with times. */
interface LogView {
  /** Asked of the first read (ms since the epoch). */
  readonly since?: number;
  readonly tail?: number;
  readonly timestamps: boolean;
  /** -o json: each answer as one JSON document a line (JSON Lines), its text as read. */
  readonly json: boolean;
}

export function registerLogs(program: Command, run: Runner): void {
  program
    .command('logs')
    .summary("print an instance's (or a whole fleet's) stdout and stderr")
    .description(
      'Print what INSTANCE wrote to stdout and stderr (kept in size-capped, rotated files on its\n' +
        'host). With -f, keep printing as it writes, until interrupted.\n' +
        'With --previous, print what an instance whose process exited left: its last 64 KiB of\n' +
        'output (stdout), and how it ended (stderr; with -o json, one object with both). The last\n' +
        '5 exited instances of each fleet are kept, after they were replaced.\n' +
        'Against a server named by --server, INGOT_SERVER or a context (a cluster), the server asks\n' +
        "the agent of the instance's host (which must run with --listen); otherwise this home's\n" +
        'files are read.\n\n' +
        "Given a FLEET's name, print the output of each of its instances, each line prefixed with\n" +
        "the instance's id: grouped by instance, then, with -f, as it comes (instances write no\n" +
        'timestamps, so lines of different instances are not put in time order).\n\n' +
        'Instances write straight into their log, so no line carries the time it was written: the\n' +
        "host's agent notes, about once a second while the log grows, how long it is. --timestamps\n" +
        'prefixes each line with the time the agent saw it (RFC 3339, UTC), and --since starts at\n' +
        'the first line seen at or after a time: both are when the agent saw the bytes, to within\n' +
        'its mark interval (a second; longer for a busy or restarted agent), not when they were\n' +
        'written. Lines the agent has not marked yet are stamped with the time they were read.\n' +
        'A log with no marks (an instance older than them) is shown whole by --since, and said.\n' +
        'Bytes that are not UTF-8 are printed as U+FFFD; the stamps, --since and --tail are\n' +
        "worked out on the log's own bytes, so the lines after them keep their right times.\n\n" +
        'With -o json, each answer is one line of JSON (JSON Lines; with -f, one per new part):\n' +
        '{ id, text, start, size } (byte offsets into the log), and with --timestamps the marks\n' +
        'that cover it ({ at, offset, lines }: RFC 3339, a byte offset, and how many lines of the\n' +
        'text began before it) and when it was read (at).',
    )
    .argument('<instance>', 'instance id, or a fleet name for all its instances')
    .option('-f, --follow', 'keep printing new output')
    .option('-p, --previous', 'the output and exit of an instance that exited (crashed)')
    .option(
      '--tail <lines>',
      'only the last LINES lines (with -f: default 10, as tail -f; otherwise all)',
      parseLines,
    )
    .option(
      '--since <time>',
      'from the first line seen at or after TIME: a duration ago (10m, 1h30m) or RFC 3339',
    )
    .option('--timestamps', 'prefix each line with when the agent saw it (RFC 3339)')
    .addOption(outputOption())
    .action(async (id: string, options: LogsOptions) => {
      await run(
        async (app, io, api) => {
          const keepGoing = options.follow === true;
          const since =
            options.since === undefined ? undefined : parseTime(options.since, '--since');
          // With --since, the lines since then; else, with -f, the last 10 as tail -f.
          const tail = options.tail ?? (keepGoing && since === undefined ? 10 : undefined);
          const view: LogView = {
            ...(since !== undefined && { since }),
            ...(tail !== undefined && { tail }),
            timestamps: options.timestamps === true,
            json: options.output === 'json',
          };
          const fleet = options.previous ? null : await fleetNamed(api, id);
          if (fleet !== null) {
            const ids = fleet.instances.map((i) => i.id).sort();
            await followAll(
              ids.map((i) => ({ id: i, source: pickSource(app, api, i) })),
              io,
              keepGoing,
              view,
            );
            return 0;
          }
          const source = pickSource(app, api, id);
          if (options.previous) {
            printPrevious(await source.previous(), options.output, io);
            return 0;
          }
          await follow(source, io, keepGoing, view);
          return 0;
        },
        () => options.output,
      );
    });
}

/**
 * A server named by URL (a cluster, or a host elsewhere) is asked. Otherwise this home's files
 * are read, and the home's server is asked only for an instance they do not hold: the home
 * of a cluster's server runs no instances, its hosts do.
 */
function pickSource(app: CliApp, api: ApiSettings, id: string): LogSource {
  if (resolveTarget(api).kind === 'url') return remoteLogs(api, id);
  const local = localLogs(app, id);
  return runningServer(api.home) === null ? local : localElseServer(local, remoteLogs(api, id));
}

const absent = (err: unknown) =>
  err instanceof IngotError &&
  (err.code === 'E_INSTANCE_NOT_FOUND' || err.code === 'E_PREVIOUS_NOT_FOUND');

/**
 * This home's files, until the first read finds no such instance here: from then on, the
 * server. The first read is the answer either way (a log is not read twice to choose).
 */
function localElseServer(local: LogSource, remote: LogSource): LogSource {
  let source: LogSource | null = null;
  const first = async <T>(op: (s: LogSource) => Promise<T>): Promise<T> => {
    if (source) return op(source);
    try {
      const answer = await op(local);
      source = local;
      return answer;
    } catch (err) {
      if (!absent(err)) throw err;
      source = remote;
      return op(remote);
    }
  };
  return {
    read: (query) => first((s) => s.read(query)),
    previous: () => first((s) => s.previous()),
    get everyMs() {
      return (source ?? local).everyMs;
    },
  };
}

/** Where an instance's output is read: this home's files, or its host through a server. */
interface LogSource {
  /** The log from a byte offset, or since a time (or all of it), and its size now. */
  read(query: LogsQuery): Promise<InstanceLogs>;
  previous(): Promise<PreviousInstance>;
  /** How often -f asks. */
  readonly everyMs: number;
}

function localLogs(app: CliApp, id: string): LogSource {
  return {
    read: (query) => {
      // The marks first: a mark read before the bytes never points past them (but across a
      // rotation, which answerLog allows for).
      const marks: LogMark[] =
        query.marks === '1' || query.since !== undefined ? app.logMarks(id) : [];
      // The bytes as they are: the marks' offsets count them, not their text's encoding.
      const bytes = app.logs(id);
      // Rotation shortens the log: its text starts over (answerLog, as a host answers).
      return Promise.resolve(
        answerLog(id, bytes, marks, query, Date.now(), Number.MAX_SAFE_INTEGER),
      );
    },
    previous: () => Promise.resolve(app.previousLogs(id)),
    everyMs: 250,
  };
}

function remoteLogs(api: ApiSettings, id: string): LogSource {
  return {
    read: (query) => call(api, routes.logs, { params: { id }, query }),
    previous: () => call(api, routes.previousLogs, { params: { id } }),
    // Each ask reaches the host through a server: less often than a file is read.
    everyMs: 1000,
  };
}

/**
 * The first read's query: since a time, with marks when lines are to be stamped, or to tell a
 * log that has none (unmarked). The host cuts the tail on the log's bytes (its `start` is
 * then right, and a 4 MiB log is not sent for 10 lines); not after --since, where an answer
 * that starts at 0 with no marks is how an unmarked log is told (unmarkedSince): there the
 * tail is cut here, from the lines the host sent.
 */
const firstQuery = (view: LogView): LogsQuery => ({
  ...(view.since !== undefined && { since: timeOnWire(view.since) }),
  ...(view.tail !== undefined && view.since === undefined && { tail: String(view.tail) }),
  ...((view.timestamps || view.since !== undefined) && { marks: '1' as const }),
});

/**
 * Whether `--since` could not choose where to start: the answer is the whole log and no mark
 * covers any of it (an instance whose agent kept no marks yet, as before they existed). The
 * log is then shown whole, which is said (on stderr): silently, it would read as "all of
 * this was written since". Marks that cover the log would be in an answer that starts at 0
 * (marksFor). A host's answer cut to its last bytes (a log past MAX_LOG_ANSWER_BYTES) does
 * not start at 0 and is not told apart. Pure.
 */
export function unmarkedSince(answer: InstanceLogs, since: number | undefined): boolean {
  return (
    since !== undefined &&
    answer.size > 0 &&
    answer.start === 0 &&
    (answer.marks === undefined || answer.marks.length === 0)
  );
}

/** Says so, on stderr (stdout is the log itself). */
function warnUnmarked(answer: InstanceLogs, view: LogView, io: Io): void {
  if (unmarkedSince(answer, view.since))
    io.err(
      `ingot: ${answer.id}: its log has no time marks (its agent kept none, or they were ` +
        'rotated away): --since cannot tell when its lines were seen, so all of it is shown\n',
    );
}

/** The next read's: from where the last answer ended. */
const nextQuery = (view: LogView, size: number): LogsQuery => ({
  from: String(size),
  ...(view.timestamps && { marks: '1' as const }),
});

/**
 * An answer as printed: its last `tail` lines (the first answer only), each stamped with
 * when it was seen when asked. `midLine`: the previous answer ended inside a line.
 */
export const logText = (
  answer: InstanceLogs,
  view: { readonly tail?: number; readonly timestamps: boolean },
  midLine: boolean,
): string => answerText(answer, view, midLine, Date.now());

/**
 * The answer with only its last `tail` lines (and their offset), the whole of it without.
 * A host cut them already (a new one, without --since): nothing changes. Otherwise the offset
 * is counted on the text encoded again, right where the log is UTF-8.
 */
function tailOf(answer: InstanceLogs, tail: number | undefined): InstanceLogs {
  if (tail === undefined) return answer;
  const kept = lastLines(answer.text, tail);
  if (kept === answer.text) return answer;
  const dropped = lineCount(answer.text) - lineCount(kept);
  return {
    ...answer,
    text: kept,
    start: answer.start + Buffer.byteLength(answer.text) - Buffer.byteLength(kept),
    ...(answer.marks !== undefined && {
      marks: answer.marks.map((m) =>
        m.lines === undefined ? m : { ...m, lines: Math.max(0, m.lines - dropped) },
      ),
    }),
  };
}

/**
 * -o json: the answer as one line of JSON (its id, text, offsets, and with --timestamps its
 * marks; those asked only to tell an unmarked log are left out).
 */
const jsonLine = (answer: InstanceLogs, view: { readonly timestamps: boolean }, tail?: number) => {
  const shown = tailOf(answer, tail);
  if (!view.timestamps) {
    const { marks: _marks, at: _at, ...rest } = shown;
    return `${JSON.stringify(rest)}\n`;
  }
  return `${JSON.stringify(shown)}\n`;
};

async function follow(source: LogSource, io: Io, keepGoing: boolean, view: LogView): Promise<void> {
  // One instance that is not there is an error, as in text; of a fleet's, one gone is skipped.
  if (view.json) return followJson([source], io, keepGoing, view, false);
  let answer = await source.read(firstQuery(view));
  warnUnmarked(answer, view, io);
  let out = logText(answer, view, false);
  let midLine = out !== '' && !out.endsWith('\n');
  io.out(out);
  const rest = { timestamps: view.timestamps };
  while (keepGoing) {
    await new Promise((r) => setTimeout(r, source.everyMs));
    try {
      answer = await source.read(nextQuery(view, answer.size));
    } catch (err) {
      // Removed (its files went, maybe while being read): the output has ended. A host or
      // server that does not answer is said.
      if (err instanceof IngotError && err.code !== 'E_INSTANCE_NOT_FOUND') throw err;
      return;
    }
    out = logText(answer, rest, midLine);
    if (out !== '') midLine = !out.endsWith('\n');
    io.out(out);
  }
}

/**
 * The fleet of that name, if a server answers and has one: an id that names no fleet is an
 * instance's. Without a server (logs read from this home's files) there is no fleet to ask.
 */
async function fleetNamed(api: ApiSettings, name: string): Promise<FleetView | null> {
  if (resolveTarget(api).kind !== 'url' && runningServer(api.home) === null) return null;
  try {
    return (await listFleets(api)).find((f) => f.name === name) ?? null;
  } catch (err) {
    if (err instanceof IngotError && err.code === 'E_NOT_RUNNING') return null;
    throw err;
  }
}

/**
 * Every instance's output, each line prefixed with its id: first what each holds (its tail),
 * then, with -f, new whole lines as they come. An instance gone meanwhile (replaced) ends its
 * part; the others go on.
 */
async function followAll(
  sources: readonly { id: string; source: LogSource }[],
  io: Io,
  keepGoing: boolean,
  view: LogView,
): Promise<void> {
  if (view.json)
    return followJson(
      sources.map((s) => s.source),
      io,
      keepGoing,
      view,
      true,
    );
  const width = Math.max(0, ...sources.map((s) => s.id.length));
  const live = new Map<
    string,
    { source: LogSource; size: number; partial: string; midLine: boolean }
  >();
  const rest = { timestamps: view.timestamps };
  const emit = (id: string, text: string, state: { partial: string }, flush: boolean) => {
    const whole = state.partial + text;
    const cut = flush ? whole.length : whole.lastIndexOf('\n') + 1;
    state.partial = whole.slice(cut);
    const lines = whole.slice(0, cut);
    if (lines === '') return;
    const prefix = `${id.padEnd(width)} | `;
    io.out(
      lines
        .split('\n')
        .map((l, k, all) => (k === all.length - 1 && l === '' ? '' : `${prefix}${l}\n`))
        .join(''),
    );
  };
  for (const { id, source } of sources) {
    try {
      const answer = await source.read(firstQuery(view));
      warnUnmarked(answer, view, io);
      const text = logText(answer, view, false);
      const state = { source, size: answer.size, partial: '', midLine: !/(^|\n)$/.test(text) };
      emit(id, text, state, !keepGoing);
      live.set(id, state);
    } catch (err) {
      if (!absent(err)) throw err;
    }
  }
  while (keepGoing && live.size > 0) {
    await new Promise((r) =>
      setTimeout(r, Math.min(...[...live.values()].map((s) => s.source.everyMs))),
    );
    for (const [id, state] of live) {
      try {
        const answer = await state.source.read(nextQuery(view, state.size));
        state.size = answer.size;
        const text = logText(answer, rest, state.midLine);
        if (text !== '') state.midLine = !text.endsWith('\n');
        emit(id, text, state, false);
      } catch (err) {
        if (!absent(err)) throw err;
        emit(id, '', state, true);
        live.delete(id);
      }
    }
  }
}

/** -o json: each instance's answer, then with -f each new one, one JSON document a line. */
async function followJson(
  sources: readonly LogSource[],
  io: Io,
  keepGoing: boolean,
  view: LogView,
  skipAbsent: boolean,
): Promise<void> {
  const live = new Map<LogSource, number>();
  for (const source of sources)
    try {
      const answer = await source.read(firstQuery(view));
      warnUnmarked(answer, view, io);
      io.out(jsonLine(answer, view, view.tail));
      live.set(source, answer.size);
    } catch (err) {
      if (!skipAbsent || !absent(err)) throw err;
    }
  while (keepGoing && live.size > 0) {
    await new Promise((r) => setTimeout(r, Math.min(...[...live.keys()].map((s) => s.everyMs))));
    for (const [source, size] of live)
      try {
        const answer = await source.read(nextQuery(view, size));
        live.set(source, answer.size);
        if (answer.text !== '') io.out(jsonLine(answer, view));
      } catch (err) {
        if (!absent(err)) throw err;
        live.delete(source);
      }
  }
}

function printPrevious(kept: PreviousInstance, output: OutputFormat, io: Io): void {
  if (output === 'json') {
    io.out(json(kept));
    return;
  }
  io.out(kept.output);
  io.err(
    `ingot: ${kept.id} (fleet ${kept.fleet}) ${exitStatusText(kept.exit)} at ${kept.exit.at}\n`,
  );
}

function parseLines(raw: string): number {
  if (!/^\d{1,9}$/.test(raw))
    throw new UsageError(`--tail must be a whole number of lines, got ${JSON.stringify(raw)}`);
  return Number(raw);
}
