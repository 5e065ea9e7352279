import { readFileSync } from 'node:fs';
import { isIPv4 } from 'node:net';

/** A TCP connection as the server sees it. */
export interface Connection {
  readonly remoteAddress?: string | undefined;
  readonly remotePort?: number | undefined;
  readonly localAddress?: string | undefined;
  readonly localPort?: number | undefined;
}

/**
 * The local user who owns the other end of a loopback connection, as the kernel records it
 * (/proc/net/tcp: the uid of the client's socket), with its name from /etc/passwd. What a
 * client writes in a request is its own claim; this is not. null when the peer is not on
 * this machine's loopback or cannot be found (it closed meanwhile).
 */
export function peerUser(conn: Connection): { uid: number; user?: string } | null {
  const { remoteAddress, remotePort, localAddress, localPort } = conn;
  if (!remoteAddress || !remotePort || !localAddress || !localPort) return null;
  const remote = v4(remoteAddress);
  const local = v4(localAddress);
  if (!remote || !local || !remote.startsWith('127.')) return null;
  // The client's socket: its local end is our remote end, and the other way round.
  const want = `${hexAddr(remote)}:${hexPort(remotePort)} ${hexAddr(local)}:${hexPort(localPort)}`;
  const want6 = `${hex6(remote)}:${hexPort(remotePort)} ${hex6(local)}:${hexPort(localPort)}`;
  for (const [table, key] of [
    ['/proc/net/tcp', want],
    ['/proc/net/tcp6', want6],
  ] as const) {
    let text: string;
    try {
      text = readFileSync(table, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n')) {
      const f = line.trim().split(/\s+/);
      if (`${f[1]} ${f[2]}` !== key) continue;
      const uid = Number(f[7]);
      if (!Number.isInteger(uid)) return null;
      const user = userName(uid);
      return { uid, ...(user !== undefined && { user }) };
    }
  }
  return null;
}

/**
 * The user behind a connection on the local socket. Node cannot read SO_PEERCRED, but the
 * socket is 0600 in a 0700 folder owned by the server's user: only that user could open it,
 * or root, who passes any mode, and the server runs as root to drive runc. So the server's
 * own uid names the caller exactly.
 */
export function socketOwner(): { uid: number; user?: string } | null {
  const uid = process.getuid?.();
  if (uid === undefined) return null;
  const user = userName(uid);
  return { uid, ...(user !== undefined && { user }) };
}

/** "::ffff:127.0.0.1" or "127.0.0.1" → "127.0.0.1". */
function v4(address: string): string | null {
  const a = address.startsWith('::ffff:') ? address.slice(7) : address;
  return isIPv4(a) ? a : null;
}

/** /proc/net/tcp writes an IPv4 address as one 32-bit word in host (little-endian) order. */
function hexAddr(a: string): string {
  return a
    .split('.')
    .reverse()
    .map((o) => Number(o).toString(16).padStart(2, '0'))
    .join('')
    .toUpperCase();
}

/** An IPv4-mapped address in /proc/net/tcp6: four such words. */
function hex6(a: string): string {
  return `0000000000000000FFFF0000${hexAddr(a)}`;
}

function hexPort(p: number): string {
  return p.toString(16).padStart(4, '0').toUpperCase();
}

function userName(uid: number): string | undefined {
  try {
    for (const line of readFileSync('/etc/passwd', 'utf8').split('\n')) {
      const [name, , id] = line.split(':');
      if (id !== undefined && Number(id) === uid && name) return name;
    }
  } catch {
    // no passwd: the uid alone
  }
  return undefined;
}
