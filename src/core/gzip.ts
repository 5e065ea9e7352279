/**
 * Gzip member headers (RFC 1952 §2.3) carry an mtime and the OS that wrote them. zlib
 * leaves mtime 0 but writes its build's OS code, which differs between platforms; both are
 * pinned so that the same deflate stream always gives the same member bytes. OS 255 means
 * "unknown", as Go's compress/gzip writes.
 */
export const GZIP_OS_UNKNOWN = 255;

export function normalizeGzipMember(member: Uint8Array): Uint8Array {
  if (member.length < 18 || member[0] !== 0x1f || member[1] !== 0x8b || member[2] !== 8) {
    throw new Error('not a gzip member with deflate compression');
  }
  if (member[3] !== 0) throw new Error('gzip member has optional header fields; expected none');
  member.fill(0, 4, 8);
  member[9] = GZIP_OS_UNKNOWN;
  return member;
}
