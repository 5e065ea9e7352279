/**
 * Deterministic POSIX ustar/pax header encoding. Pure: the same entry always gives the same
 * bytes, on every machine. Fields that would leak the build machine (uname, gname, atime,
 * ctime, device numbers) are never written.
 *
 * A name or link target that does not fit the 100-byte ustar field, or is not ASCII, and
 * numbers too large for their octal field, go into a pax extended header ('x') in front of
 * the entry (POSIX.1-2001), which every tar reader we care about understands.
 */

export const BLOCK = 512;
/** Two zero blocks end the archive. */
export const END_OF_ARCHIVE = 2 * BLOCK;

export type TarEntryType = 'file' | 'dir' | 'symlink' | 'hardlink';

export interface TarEntryHeader {
  /** Path inside the archive, relative, no leading "/" or "./"; directories without "/". */
  readonly name: string;
  readonly type: TarEntryType;
  /** Permission and special bits (0o7777). */
  readonly mode: number;
  readonly uid: number;
  readonly gid: number;
  /** Bytes of data that follow the header (regular files only; 0 otherwise). */
  readonly size: number;
  /** Seconds since the epoch. */
  readonly mtime: number;
  /** Symlink or hardlink target. */
  readonly linkname?: string;
}

const TYPEFLAG: Record<TarEntryType, string> = { file: '0', hardlink: '1', symlink: '2', dir: '5' };
const MAX_OCTAL_8 = 0o7777777; // 7 digits + NUL
const MAX_OCTAL_12 = 0o77777777777; // 11 digits + NUL
const PAX_HEADER_NAME = 'PaxHeaders/entry';

/** Bytes of padding after `size` bytes of data. */
export function paddingFor(size: number): number {
  const rest = size % BLOCK;
  return rest === 0 ? 0 : BLOCK - rest;
}

/** The pax records an entry needs, in a fixed order (empty when ustar can hold it all). */
function paxFor(entry: TarEntryHeader): [string, string][] {
  const name = entry.type === 'dir' ? `${entry.name}/` : entry.name;
  const linkname = entry.linkname ?? '';
  const pax: [string, string][] = [];
  if (name.length > 100 || !isAscii(name)) pax.push(['path', name]);
  if (linkname.length > 100 || !isAscii(linkname)) pax.push(['linkpath', linkname]);
  if (entry.size > MAX_OCTAL_12) pax.push(['size', String(entry.size)]);
  if (entry.uid > MAX_OCTAL_8) pax.push(['uid', String(entry.uid)]);
  if (entry.gid > MAX_OCTAL_8) pax.push(['gid', String(entry.gid)]);
  if (entry.mtime > MAX_OCTAL_12) pax.push(['mtime', String(entry.mtime)]);
  return pax;
}

/** Bytes encodeHeader(entry) will produce, without producing them. */
export function headerLength(entry: TarEntryHeader): number {
  // The common case, checked without building the pax list: everything fits ustar.
  if (
    entry.name.length < 100 &&
    (entry.linkname === undefined || entry.linkname.length <= 100) &&
    entry.size <= MAX_OCTAL_12 &&
    entry.mtime <= MAX_OCTAL_12 &&
    entry.uid <= MAX_OCTAL_8 &&
    entry.gid <= MAX_OCTAL_8 &&
    isAscii(entry.name) &&
    (entry.linkname === undefined || isAscii(entry.linkname))
  )
    return BLOCK;
  const pax = paxFor(entry);
  if (pax.length === 0) return BLOCK;
  const records = pax.reduce((n, [k, v]) => n + Buffer.byteLength(paxRecord(k, v)), 0);
  return 2 * BLOCK + records + paddingFor(records);
}

/** The header block(s) for an entry: one block, or pax header + data + the ustar block. */
export function encodeHeader(entry: TarEntryHeader): Buffer {
  const name = entry.type === 'dir' ? `${entry.name}/` : entry.name;
  const linkname = entry.linkname ?? '';
  const pax = paxFor(entry);

  const ustar = ustarBlock({
    name: pax.some(([k]) => k === 'path') ? truncateAscii(name, 100) : name,
    mode: entry.mode,
    uid: Math.min(entry.uid, MAX_OCTAL_8),
    gid: Math.min(entry.gid, MAX_OCTAL_8),
    size: Math.min(entry.size, MAX_OCTAL_12),
    mtime: Math.min(entry.mtime, MAX_OCTAL_12),
    typeflag: TYPEFLAG[entry.type],
    linkname: pax.some(([k]) => k === 'linkpath') ? truncateAscii(linkname, 100) : linkname,
  });
  if (pax.length === 0) return ustar;

  // Records in a fixed order (the order pushed above) keep the bytes deterministic.
  const records = Buffer.from(pax.map(([k, v]) => paxRecord(k, v)).join(''), 'utf8');
  const paxHeader = ustarBlock({
    name: PAX_HEADER_NAME,
    mode: 0o644,
    uid: 0,
    gid: 0,
    size: records.length,
    mtime: Math.min(entry.mtime, MAX_OCTAL_12),
    typeflag: 'x',
    linkname: '',
  });
  return Buffer.concat([paxHeader, records, Buffer.alloc(paddingFor(records.length)), ustar]);
}

/** Total bytes an entry occupies in the archive: header(s), data and padding. */
export function entryLength(entry: TarEntryHeader): number {
  return headerLength(entry) + entry.size + paddingFor(entry.size);
}

/**
 * A pax record is "<len> <key>=<value>\n" where <len> counts the whole record including its
 * own digits, so the length is found by fixed point.
 */
export function paxRecord(key: string, value: string): string {
  const body = ` ${key}=${value}\n`;
  const bodyLength = Buffer.byteLength(body);
  let length = bodyLength + 1;
  while (String(length).length + bodyLength !== length) length = String(length).length + bodyLength;
  return `${length}${body}`;
}

interface UstarFields {
  name: string;
  mode: number;
  uid: number;
  gid: number;
  size: number;
  mtime: number;
  typeflag: string;
  linkname: string;
}

function ustarBlock(f: UstarFields): Buffer {
  const block = Buffer.allocUnsafe(BLOCK).fill(0);
  // Names and link targets reach this field only when ASCII (else they go to pax).
  block.write(f.name, 0, 100, 'latin1');
  writeOctal(block, 100, 8, f.mode & 0o7777);
  writeOctal(block, 108, 8, f.uid);
  writeOctal(block, 116, 8, f.gid);
  writeOctal(block, 124, 12, f.size);
  writeOctal(block, 136, 12, f.mtime);
  block.write(f.typeflag, 156, 1, 'ascii');
  block.write(f.linkname, 157, 100, 'latin1');
  block.write('ustar\u000000', 257, 8, 'ascii');
  // devmajor/devminor: written as zeros like GNU and Go do for non-device entries.
  writeOctal(block, 329, 8, 0);
  writeOctal(block, 337, 8, 0);
  // The checksum is computed with its own field as eight spaces.
  block.fill(0x20, 148, 156);
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += block[i]!;
  block.write(sum.toString(8).padStart(6, '0') + '\u0000 ', 148, 8, 'ascii');
  return block;
}

/** `width - 1` zero-padded octal digits and a NUL, written digit by digit (hot path). */
function writeOctal(block: Buffer, offset: number, width: number, value: number): void {
  if (!Number.isSafeInteger(value) || value < 0) throw new RangeError(`tar: bad number ${value}`);
  let v = value;
  for (let i = offset + width - 2; i >= offset; i--) {
    block[i] = 0x30 + (v % 8);
    v = Math.floor(v / 8);
  }
  if (v !== 0) throw new RangeError(`tar: ${value} does not fit ${width} bytes`);
  block[offset + width - 1] = 0;
}

function isAscii(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0 || c > 0x7f) return false;
  }
  return true;
}

/** A placeholder for the ustar field when the real value lives in the pax header. */
function truncateAscii(s: string, max: number): string {
  let ascii = '';
  for (const ch of s) ascii += isAscii(ch) ? ch : '_';
  return ascii.slice(-max);
}
