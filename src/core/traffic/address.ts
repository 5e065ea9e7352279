/**
 * The addresses of the edge: where a fleet's clients connect (`listen`, "ip:port") and where
 * its instances answer. IPv4 literals only in this first increment: instances live on an
 * IPv4 bridge, and a host name is refused outright (HAProxy would resolve it at start, so
 * whoever controls DNS would choose where traffic goes).
 */

export interface HostPort {
  /** Dotted quad, canonical: no leading zeros, so "010.0.0.1" cannot mean two addresses. */
  readonly ip: string;
  readonly port: number;
}

const OCTET = /^(?:0|[1-9][0-9]{0,2})$/;
const PORT = /^(?:[1-9][0-9]{0,4})$/;

/** A canonical IPv4 literal, or null. */
export function parseIpv4(text: string): string | null {
  const parts = text.split('.');
  if (parts.length !== 4) return null;
  for (const part of parts) if (!OCTET.test(part) || Number(part) > 255) return null;
  return text;
}

/** A port number 1–65535 given as text, or null. */
export function parsePort(text: string): number | null {
  if (!PORT.test(text)) return null;
  const port = Number(text);
  return port <= 65_535 ? port : null;
}

/** "ip:port" with an IPv4 literal and a port 1–65535, or null. */
export function parseHostPort(text: string): HostPort | null {
  if (text.length > 21) return null;
  const colon = text.lastIndexOf(':');
  if (colon < 0) return null;
  const ip = parseIpv4(text.slice(0, colon));
  const port = parsePort(text.slice(colon + 1));
  return ip === null || port === null ? null : { ip, port };
}

export function formatHostPort({ ip, port }: HostPort): string {
  return `${ip}:${port}`;
}

/** 127.0.0.0/8: reachable from this machine only. */
export function isLoopback(ip: string): boolean {
  return ip.startsWith('127.');
}

/**
 * What no edge may listen on, whatever the machine's interfaces: the wildcard (every
 * interface, public ones included: a fleet exposed to the world by a typo), broadcast and
 * multicast.
 */
export function isUnlistenable(ip: string): boolean {
  const first = Number(ip.split('.')[0]);
  return ip === '0.0.0.0' || ip === '255.255.255.255' || (first >= 224 && first <= 239);
}

/**
 * Why `listen` may not be listened on, or null if it may: loopback always, another address
 * only when it is one of this machine's (`local`, read by the caller from its interfaces).
 */
export function listenProblem(listen: string, local: ReadonlySet<string>): string | null {
  const parsed = parseHostPort(listen);
  if (parsed === null) return 'expected an IPv4 address and a port such as "127.0.0.1:18080"';
  if (isUnlistenable(parsed.ip))
    return `${parsed.ip} is not one address of this machine: name a loopback or local address`;
  if (!isLoopback(parsed.ip) && !local.has(parsed.ip))
    return `${parsed.ip} is not an address of this machine (loopback, or one of its interfaces)`;
  return null;
}
