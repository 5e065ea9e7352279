import { EDGE_LIMITS } from './edge.js';
import { EdgeError, quoteForMessage } from './errors.js';
import { isEdgeName } from './names.js';

/** What HAProxy counted for one server since its worker started (`show stat`). */
export interface ServerCounters {
  readonly backend: string;
  readonly server: string;
  /** "no check" (in, without checks), "MAINT", "DRAIN", "DOWN"… as HAProxy words it. */
  readonly status: string;
  /** Connections now, and in all. */
  readonly current: number;
  readonly sessions: number;
  /** Responses it gave, by class: what a share of requests is measured with. */
  readonly responses: {
    readonly '1xx': number;
    readonly '2xx': number;
    readonly '3xx': number;
    readonly '4xx': number;
    readonly '5xx': number;
    readonly other: number;
  };
  /** Requests whose connection to it failed (refused, timed out). */
  readonly connectionErrors: number;
  /** Responses cut off or malformed. */
  readonly responseErrors: number;
  /** Connection attempts retried, and requests sent to another server instead. */
  readonly retries: number;
  readonly redispatches: number;
}

/** The total of a server's responses: the requests it answered. */
export function answered(c: ServerCounters): number {
  const r = c.responses;
  return r['1xx'] + r['2xx'] + r['3xx'] + r['4xx'] + r['5xx'] + r.other;
}

const SERVER_TYPE = '2';

/**
 * The servers' rows of `show stat` (CSV, first line "# pxname,svname,…"). Columns are found
 * by name; empty counters (not applicable) read as 0; the answer is bounded and every number
 * checked, since it is read from a socket.
 */
export function parseStat(text: string): ServerCounters[] {
  const lines = text.split('\n').filter((l) => l.trim() !== '');
  if (lines.length > 2 * EDGE_LIMITS.servers + 2 * EDGE_LIMITS.fleets * 2 + 1)
    fail(`${lines.length} lines is more than any edge has`);
  const header = lines[0];
  if (header?.startsWith('# ') !== true) fail('no header line');
  const names = splitCsv(header.slice(2));
  const column = new Map(names.map((n, i) => [n, i]));
  for (const n of ['pxname', 'svname', 'type', 'status', 'scur', 'stot', 'hrsp_5xx', 'econ'])
    if (!column.has(n)) fail(`the header has no ${n}`);
  const out: ServerCounters[] = [];
  for (const line of lines.slice(1)) {
    const fields = splitCsv(line);
    const field = (name: string) => fields[column.get(name) ?? -1] ?? '';
    if (field('type') !== SERVER_TYPE) continue;
    const backend = field('pxname');
    const server = field('svname');
    if (!/^be_[a-z0-9_-]{1,80}$/.test(backend) || !isEdgeName(server)) continue;
    const n = (name: string) => count(field(name), line);
    out.push({
      backend,
      server,
      status: field('status').slice(0, 64),
      current: n('scur'),
      sessions: n('stot'),
      responses: {
        '1xx': n('hrsp_1xx'),
        '2xx': n('hrsp_2xx'),
        '3xx': n('hrsp_3xx'),
        '4xx': n('hrsp_4xx'),
        '5xx': n('hrsp_5xx'),
        other: n('hrsp_other'),
      },
      connectionErrors: n('econ'),
      responseErrors: n('eresp'),
      retries: n('wretr'),
      redispatches: n('wredis'),
    });
  }
  return out;
}

/** One CSV line, with HAProxy's quoting ("…", "" for a quote inside). */
function splitCsv(line: string): string[] {
  const fields: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (quoted && c === '"' && line[i + 1] === '"') {
      field += '"';
      i++;
    } else if (c === '"') {
      quoted = !quoted;
    } else if (c === ',' && !quoted) {
      fields.push(field);
      field = '';
    } else {
      field += c;
    }
  }
  fields.push(field);
  return fields;
}

function count(text: string, line: string): number {
  if (text === '') return 0;
  if (!/^\d{1,20}$/.test(text) || !Number.isSafeInteger(Number(text)))
    fail(`${quoteForMessage(text)} is not a counter in ${quoteForMessage(line, 120)}`);
  return Number(text);
}

function fail(message: string): never {
  throw new EdgeError('E_EDGE_PROTOCOL', `show stat: ${message}`);
}
