import type { Session, UiFleet } from './api.js';
import { DriftView } from './drift-view.js';
import { FleetActions } from './fleet-actions.js';
import { InstancesView } from './instances-view.js';
import { ReleasesView } from './releases-view.js';
import { FLEET_TABS, fleetHref, type FleetTab } from './route.js';

const TAB_NAMES: Record<FleetTab, string> = {
  instances: 'Instances',
  releases: 'Releases',
  drift: 'Drift',
};

/** One fleet's views (#/fleets/NAME/TAB): its instances, its releases, its drift. */
export function FleetPage(props: {
  name: string;
  tab: FleetTab;
  fleets: UiFleet[] | null;
  session: Session;
  now: number;
  onSignedOut: () => void;
}) {
  const { name, tab, fleets, session } = props;
  const fleet = fleets?.find((f) => f.name === name);
  return (
    <main class="fleet-page" data-fleet={name}>
      <p class="crumbs">
        <a href="#/fleets">All fleets</a>
      </p>
      <header class="page-head">
        <h2>{name}</h2>
        {fleet && <span class={`badge rollout-${fleet.rollout}`}>{fleet.rollout}</span>}
        {fleet !== undefined && fleet.pausedAt !== null && (
          <span class="badge held">paused by hand</span>
        )}
      </header>
      <nav class="tabs" aria-label={`Views of ${name}`}>
        {FLEET_TABS.map((t) => (
          <a key={t} href={fleetHref(name, t)} aria-current={t === tab ? 'page' : undefined}>
            {TAB_NAMES[t]}
          </a>
        ))}
      </nav>
      {fleets === null && <p aria-busy="true">Loading…</p>}
      {fleets !== null && fleet === undefined && (
        <p class="empty">There is no fleet of that name (now).</p>
      )}
      {fleet && <FleetActions fleet={fleet} session={session} onSignedOut={props.onSignedOut} />}
      {fleet && tab === 'instances' && (
        <InstancesView fleet={fleet} session={session} now={props.now} />
      )}
      {tab === 'releases' && <ReleasesView name={name} fleet={fleet} session={session} />}
      {tab === 'drift' && <DriftView name={name} fleet={fleet} />}
    </main>
  );
}
