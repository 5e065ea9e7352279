import { getReleases, type Session, type UiFleet } from './api.js';
import type { UiReleaseChange } from './api.js';
import { shortDigest, when } from './format.js';
import { Failure, useLoad } from './load.js';

/** A setting's value as fleet.yaml would read: JSON, short. */
const shown = (v: unknown): string => (v === null || v === undefined ? '—' : JSON.stringify(v));

/**
 * A fleet's releases: who moved it to which release, when and why, each with its diff against
 * the release before (the plan's releaseDiff, computed on the server: env names, never
 * values). Read again whenever the fleet's release or rollout changes. Text only.
 */
export function ReleasesView(props: {
  name: string;
  fleet: UiFleet | undefined;
  session: Session;
}) {
  const { name, fleet } = props;
  const key = `${fleet?.release}|${fleet?.rollout}|${fleet?.version}`;
  const { value: data, error } = useLoad(() => getReleases(name), [name, key]);
  return (
    <section class="releases-view" aria-labelledby="releases-title">
      <h3 id="releases-title">Releases</h3>
      {error !== null && <Failure error={error} />}
      {data === null && error === null && <p aria-busy="true">Loading…</p>}
      {data?.changes.length === 0 && <p class="empty">No release recorded.</p>}
      <ol class="changes">
        {data?.changes.map((c) => (
          <Change key={c.seq} change={c} current={fleet?.release} />
        ))}
      </ol>
      {data && data.history.length > 0 && (
        <details class="history">
          <summary>History ({data.history.length})</summary>
          <table>
            <caption class="visually-hidden">History of {name}</caption>
            <thead>
              <tr>
                <th scope="col">When</th>
                <th scope="col">What</th>
                <th scope="col">Who</th>
                <th scope="col">Detail</th>
                <th scope="col">Why</th>
              </tr>
            </thead>
            <tbody>
              {data.history.map((h) => (
                <tr key={h.seq} data-kind={h.kind}>
                  <td>{when(h.time)}</td>
                  <td>{h.kind}</td>
                  <td>{h.actor || '—'}</td>
                  <td class="mono detail">{h.detail}</td>
                  <td>{h.reason ?? ''}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </details>
      )}
    </section>
  );
}

function Change({ change: c, current }: { change: UiReleaseChange; current: string | undefined }) {
  const d = c.diff;
  return (
    <li class="change" data-kind={c.kind} data-release={c.to}>
      <p class="what">
        <strong>{c.kind}</strong> to{' '}
        {c.number !== null && <span class="number">release {c.number}, </span>}
        <span class="mono">{shortDigest(c.to)}</span>
        {c.to === current && ' (current)'} by {c.actor || 'someone unrecorded'}, {when(c.time)}
        {c.reason !== undefined && <span class="why">: {c.reason}</span>}
      </p>
      {d === null && (
        <p class="help">
          No diff: the release before is not in the store, or older than the history read.
        </p>
      )}
      {d !== null && d.created && <p class="help">The fleet’s first release.</p>}
      {d !== null && !d.created && (
        <dl class="diff">
          <dt>Release</dt>
          <dd class="mono">
            {shortDigest(d.release.from ?? '—')} → {shortDigest(d.release.to)}
          </dd>
          <dt>Artifact</dt>
          <dd class="mono">
            {d.artifact.from === d.artifact.to
              ? `${d.artifact.toName} (unchanged)`
              : `${d.artifact.fromName ?? '—'} (${shortDigest(d.artifact.from ?? '—')}) → ${d.artifact.toName} (${shortDigest(d.artifact.to)})`}
          </dd>
          <dt>Env (names only)</dt>
          <dd class="env-diff">
            {d.env.added.length + d.env.removed.length + d.env.changed.length === 0
              ? 'unchanged'
              : [
                  ...d.env.added.map((k) => `+${k}`),
                  ...d.env.removed.map((k) => `−${k}`),
                  ...d.env.changed.map((k) => `~${k}`),
                ].join(' ')}
          </dd>
          {d.settings.map((s) => (
            <div key={s.field} class="setting">
              <dt>{s.field}</dt>
              <dd class="mono">
                {shown(s.from)} → {shown(s.to)}
              </dd>
            </div>
          ))}
        </dl>
      )}
    </li>
  );
}
