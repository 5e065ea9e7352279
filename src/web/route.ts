/** Where the page is, from its URL's hash: `#/fleets`, `#/fleets/NAME/instances` … Pure. */
export const FLEET_TABS = ['instances', 'releases', 'drift'] as const;
export type FleetTab = (typeof FLEET_TABS)[number];

export type Route =
  | { readonly view: 'fleets' }
  | { readonly view: 'fleet'; readonly name: string; readonly tab: FleetTab }
  /** Another view's hash (another part of the dashboard may own it). */
  | { readonly view: 'other'; readonly hash: string };

/** The hash is whatever a link or a person typed: anything unknown is the fleets' list. */
export function parseRoute(hash: string): Route {
  const path = hash.replace(/^#/, '');
  if (path === '' || path === '/' || path === '/fleets') return { view: 'fleets' };
  const m = /^\/fleets\/([^/]+)(?:\/([a-z]+))?$/.exec(path);
  if (m) {
    let name: string;
    try {
      name = decodeURIComponent(m[1]!);
    } catch {
      return { view: 'fleets' };
    }
    const tab = (FLEET_TABS as readonly string[]).includes(m[2] ?? '')
      ? (m[2] as FleetTab)
      : 'instances';
    return { view: 'fleet', name, tab };
  }
  return { view: 'other', hash: path };
}

/** The hash of a fleet's tab (the name encoded: it is the deployer's text). */
export const fleetHref = (name: string, tab: FleetTab = 'instances'): string =>
  `#/fleets/${encodeURIComponent(name)}/${tab}`;
