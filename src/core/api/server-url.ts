/** A server's URL as the CLI uses it: where to connect, and how to name it in messages. */
export interface ServerUrl {
  /** `http(s)://host:port[/prefix]`, what messages name. */
  readonly base: string;
  readonly tls: boolean;
  /** As a socket takes it: an IPv6 address without its brackets. */
  readonly host: string;
  readonly port: number;
  /** A path the API is served under (behind a proxy); '' for none. */
  readonly prefix: string;
}

/**
 * `http(s)://host[:port][/prefix]`, nothing else: no credentials (the token comes from a
 * token file), no query or fragment. Pure: the URL, or why it is not one the CLI talks to.
 */
export function parseServerUrl(text: string): ServerUrl | { readonly problem: string } {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return { problem: 'not a URL' };
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    return { problem: `not ${url.protocol}` };
  if (url.username !== '' || url.password !== '')
    return { problem: 'no credentials in it: the token comes from --token-file' };
  if (url.search !== '' || url.hash !== '') return { problem: 'no query or fragment' };
  if (url.hostname === '') return { problem: 'no host' };
  if (url.port === '0') return { problem: 'port 0' };
  const tls = url.protocol === 'https:';
  const prefix = url.pathname.replace(/\/+$/, '');
  return {
    base: `${url.protocol}//${url.host}${prefix}`,
    tls,
    host: url.hostname.replace(/^\[(.*)\]$/, '$1'),
    port: url.port === '' ? (tls ? 443 : 80) : Number(url.port),
    prefix,
  };
}

/** Servers of one cluster a CLI or an agent may name at once (`URL,URL,…`). */
export const MAX_SERVERS = 8;

/**
 * `URL[,URL…]`: the servers of one cluster, tried in turn. Pure: every URL, or the first
 * problem. All must speak the same scheme, since one token (and one CA) goes to each.
 */
export function parseServerUrls(
  text: string,
): readonly [ServerUrl, ...ServerUrl[]] | { readonly problem: string } {
  const parts = text.split(',').map((p) => p.trim());
  if (parts.length > MAX_SERVERS) return { problem: `at most ${MAX_SERVERS} servers` };
  const urls: ServerUrl[] = [];
  for (const part of parts) {
    const url = parseServerUrl(part);
    if ('problem' in url) return parts.length === 1 ? url : { problem: `${part}: ${url.problem}` };
    urls.push(url);
  }
  if (new Set(urls.map((u) => u.tls)).size > 1)
    return { problem: 'all http:// or all https://: one token and one CA go to each' };
  return urls as [ServerUrl, ...ServerUrl[]];
}
