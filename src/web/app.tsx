import { useEffect, useState } from 'preact/hooks';
import { getSession, signOut, signedOut, type Session } from './api.js';
import { EvidenceLinks, EvidenceView } from './evidence-nav.js';
import { FleetCard } from './fleet-card.js';
import { FleetPage } from './fleet-page.js';
import { useLiveFleets, useNow } from './live.js';
import { parseRoute, type Route } from './route.js';
import { SignIn } from './sign-in.js';

/** Signed in (the cookie's session, asked for at load), or the sign-in form. */
export function App() {
  const [session, setSession] = useState<Session | null | undefined>(undefined);
  useEffect(() => {
    getSession().then(setSession, (err: unknown) => {
      setSession(null);
      if (!signedOut(err)) console.error(err);
    });
  }, []);
  if (session === undefined) return <main aria-busy="true" />;
  if (session === null) return <SignIn onSession={setSession} />;
  return <Dashboard session={session} onSignedOut={() => setSession(null)} />;
}

/** Where the page is (#/fleets, #/fleets/NAME/TAB), following the hash without a reload. */
function useRoute(): Route {
  const [route, setRoute] = useState(() => parseRoute(location.hash));
  useEffect(() => {
    const moved = () => setRoute(parseRoute(location.hash));
    addEventListener('hashchange', moved);
    return () => removeEventListener('hashchange', moved);
  }, []);
  return route;
}

function Dashboard({ session, onSignedOut }: { session: Session; onSignedOut: () => void }) {
  const live = useLiveFleets(onSignedOut);
  const route = useRoute();
  const now = useNow() + live.skewMs;
  // The evidence views own their hashes (#/ledger, #/artifacts, #/hosts): evidence-nav.tsx.
  const hash = route.view === 'other' ? `#${route.hash}` : '';
  const evidence = EvidenceView({ hash });
  useEffect(() => {
    // The first view with data: what the bench calls the first meaningful paint.
    if (live.fleets !== null && performance.getEntriesByName('ingot:fleets').length === 0)
      requestAnimationFrame(() => performance.mark('ingot:fleets'));
  }, [live.fleets]);
  return (
    <>
      <header class="top">
        <h1>Ingot</h1>
        <p class="who">
          Signed in: {session.role}
          <span class={live.connected ? 'dot on' : 'dot off'} role="status">
            {live.connected ? 'live' : 'reconnecting…'}
          </span>
        </p>
        <button type="button" onClick={() => void signOut(session).finally(onSignedOut)}>
          Sign out
        </button>
      </header>
      <nav class="views" aria-label="Views">
        <ul>
          <li>
            <a href="#/fleets" aria-current={route.view === 'fleets' ? 'page' : undefined}>
              Fleets
            </a>
          </li>
          <EvidenceLinks hash={hash} />
        </ul>
      </nav>
      {evidence !== null ? (
        <main>{evidence}</main>
      ) : route.view === 'fleet' ? (
        <FleetPage
          name={route.name}
          tab={route.tab}
          fleets={live.fleets}
          session={session}
          now={now}
          onSignedOut={onSignedOut}
        />
      ) : (
        <main>
          <h2 class="visually-hidden">Fleets</h2>
          {live.fleets === null && <p aria-busy="true">Loading fleets…</p>}
          {live.fleets?.length === 0 && <p class="empty">No fleets deployed yet.</p>}
          {live.fleets?.map((f) => (
            <FleetCard
              key={f.name}
              fleet={f}
              session={session}
              now={now}
              onSignedOut={onSignedOut}
            />
          ))}
        </main>
      )}
    </>
  );
}
