import { useEffect, useState } from 'preact/hooks';
import { getSession, signedOut, type UiFleet } from './api.js';

export interface Live {
  /** The fleets as last pushed; null until the first event. */
  readonly fleets: UiFleet[] | null;
  /** The server's clock minus the page's, as of the last event (pause countdowns use it). */
  readonly skewMs: number;
  readonly connected: boolean;
}

/**
 * The fleets, kept current by the server's event stream (GET /ui/events): no reload, no
 * polling from the page. When the stream closes for good (the server restarted, the session
 * expired), the session is asked for: gone means sign in again, else the stream reopens.
 */
export function useLiveFleets(onSignedOut: () => void): Live {
  const [live, setLive] = useState<Live>({ fleets: null, skewMs: 0, connected: false });
  const [generation, setGeneration] = useState(0);
  useEffect(() => {
    const source = new EventSource('/ui/events');
    let retry: ReturnType<typeof setTimeout> | undefined;
    source.addEventListener('open', () => setLive((l) => ({ ...l, connected: true })));
    source.addEventListener('fleets', (event) => {
      const data = JSON.parse((event as MessageEvent<string>).data) as {
        at: number;
        fleets: UiFleet[];
      };
      setLive({ fleets: data.fleets, skewMs: data.at - Date.now(), connected: true });
    });
    source.addEventListener('signed-out', () => {
      source.close();
      onSignedOut();
    });
    source.addEventListener('error', () => {
      setLive((l) => ({ ...l, connected: false }));
      if (source.readyState !== EventSource.CLOSED) return; // the browser retries itself
      getSession().then(
        () => (retry = setTimeout(() => setGeneration((g) => g + 1), 2000)),
        (err: unknown) => {
          if (signedOut(err)) onSignedOut();
          else retry = setTimeout(() => setGeneration((g) => g + 1), 2000);
        },
      );
    });
    return () => {
      clearTimeout(retry);
      source.close();
    };
  }, [generation]);
  return live;
}

/** The page's clock, ticking each second (for countdowns). */
export function useNow(): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    const timer = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(timer);
  }, []);
  return now;
}
