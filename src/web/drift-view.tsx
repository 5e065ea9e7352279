import { useEffect, useState } from 'preact/hooks';
import { getDrift, type DriftCase, type UiFleet } from './api.js';
import { shortDigest, when } from './format.js';

/**
 * A fleet's drift: each instance found changed or entered, the evidence (expected against
 * actual, per path), and the instance that replaced it. Read again whenever the fleet's
 * instances change (the live stream carries them), so a finding shows without a reload.
 * Paths and values come from a tampered rootfs: text only.
 */
export function DriftView(props: { name: string; fleet: UiFleet | undefined }) {
  const { name, fleet } = props;
  const [cases, setCases] = useState<DriftCase[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  // What the live stream says of the instances: a change asks the server again.
  const key = (fleet?.instances ?? [])
    .map((i) => `${i.id}:${i.state}:${i.integrity ?? ''}:${i.evidence?.length ?? 0}`)
    .join(',');
  const [tick, setTick] = useState(0);
  useEffect(() => {
    let current = true;
    const load = () =>
      getDrift(name).then(
        (r) => current && (setCases(r.cases), setError(null)),
        (err: unknown) => current && setError(err instanceof Error ? err.message : 'failed'),
      );
    void load();
    // The ledger may record a finding a moment after the host reports it: look once more.
    const again = setTimeout(() => void load(), 1500);
    return () => {
      current = false;
      clearTimeout(again);
    };
  }, [name, key, tick]);
  return (
    <section class="drift-view" aria-labelledby="drift-title">
      <h3 id="drift-title">Drift</h3>
      <button type="button" onClick={() => setTick((t) => t + 1)}>
        Refresh
      </button>
      {error !== null && (
        <p role="alert" class="error">
          {error}
        </p>
      )}
      {cases === null && error === null && <p aria-busy="true">Loading…</p>}
      {cases?.length === 0 && <p class="empty">No drift found in this fleet.</p>}
      {cases?.map((c) => (
        <article key={c.instance} class="drift-case" data-instance={c.instance}>
          <h4>
            <span class="mono">{c.instance}</span>
            {c.present ? ' (tainted, being replaced)' : ' (replaced)'}
          </h4>
          <p>
            Found {when(c.detectedAt)}
            {c.release !== null && (
              <>
                , release <span class="mono">{shortDigest(c.release)}</span>
              </>
            )}
            .{' '}
            <span class="replaced-by">
              {c.replacedBy === null ? (
                'No replacement started yet.'
              ) : (
                <>
                  Replaced by <span class="mono">{c.replacedBy}</span>
                  {c.replacement
                    ? ` (${c.replacement.state}, ${c.replacement.integrity})`
                    : ' (gone since)'}
                  .
                </>
              )}
            </span>
          </p>
          <table class="evidence">
            <caption class="visually-hidden">Evidence against {c.instance}</caption>
            <thead>
              <tr>
                <th scope="col">Kind</th>
                <th scope="col">Path</th>
                <th scope="col">Expected</th>
                <th scope="col">Actual</th>
                <th scope="col">When</th>
              </tr>
            </thead>
            <tbody>
              {c.evidence.map((e, n) => (
                <tr key={n}>
                  <td>{e.detector}</td>
                  <td class="mono path">{e.path}</td>
                  <td class="mono">{e.expected}</td>
                  <td class="mono">{e.actual}</td>
                  <td>{when(e.time)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </article>
      ))}
    </section>
  );
}
