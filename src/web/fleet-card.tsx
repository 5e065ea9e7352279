import { useState } from 'preact/hooks';
import type { ObservedInstance } from '../domain/instance.js';
import type { Session, UiFleet } from './api.js';
import { instances, shortDigest, stepText, timeLeft } from './format.js';
import { FleetActions } from './fleet-actions.js';
import { Outcome, type ActionResult } from './outcome.js';
import { PromoteButton } from './promote-dialog.js';
import { fleetHref } from './route.js';

/**
 * One fleet. Every string here was written by whoever deployed or comes from an instance
 * (names, env, reasons, addresses): each is a JSX text child or attribute value, which
 * Preact sets as text, never parsed as HTML. Nothing here may use dangerouslySetInnerHTML.
 */
export function FleetCard(props: {
  fleet: UiFleet;
  session: Session;
  now: number;
  onSignedOut: () => void;
}) {
  const { fleet, session, now } = props;
  // Promote's outcome lives here, not in its button: a promoted fleet is no longer promotable,
  // and the push that says so (often before the answer to the request) removes the button.
  const [promoted, setPromoted] = useState<ActionResult | null>(null);
  const step = stepText(fleet.step, fleet.stepCount);
  const env = Object.entries(fleet.spec.env ?? {});
  const headingId = `fleet-${fleet.name}`;
  return (
    <section class="fleet" aria-labelledby={headingId} data-fleet={fleet.name}>
      <header>
        <h2 id={headingId}>{fleet.name}</h2>
        <span class={`badge rollout-${fleet.rollout}`}>{fleet.rollout}</span>
        {fleet.pausedAt !== null && <span class="badge held">paused by hand</span>}
        <nav class="fleet-links" aria-label={`Views of ${fleet.name}`}>
          <a href={fleetHref(fleet.name, 'instances')}>Instances</a>
          <a href={fleetHref(fleet.name, 'releases')}>Releases</a>
          <a href={fleetHref(fleet.name, 'drift')}>Drift</a>
        </nav>
      </header>
      <dl class="facts">
        <dt>Release</dt>
        <dd class="mono" title={fleet.release}>
          {shortDigest(fleet.release)}
        </dd>
        <dt>Artifact</dt>
        <dd class="mono" title={fleet.artifact}>
          {shortDigest(fleet.artifact)}
        </dd>
        <dt>Phase</dt>
        <dd class="phase">{fleet.phase}</dd>
        {step !== null && (
          <>
            <dt>Step</dt>
            <dd class="step">{step}</dd>
          </>
        )}
        {fleet.pauseEndsAt !== null && (
          <>
            <dt>Pause</dt>
            <dd class="pause">{timeLeft(fleet.pauseEndsAt, now)} left</dd>
          </>
        )}
        {fleet.reason !== null && (
          <>
            <dt>Reason</dt>
            <dd class="reason">{fleet.reason}</dd>
          </>
        )}
      </dl>
      <Weights fleet={fleet} />
      {fleet.reasons.length > 0 && (
        <ul class="reasons" aria-label="Why the last pass could not do everything">
          {fleet.reasons.map((r, i) => (
            <li key={i}>{r}</li>
          ))}
        </ul>
      )}
      {env.length > 0 && (
        <details class="env">
          <summary>Environment ({env.length})</summary>
          <dl>
            {env.map(([k, v]) => (
              <div key={k}>
                <dt class="mono">{k}</dt>
                <dd class="mono">{v}</dd>
              </div>
            ))}
          </dl>
        </details>
      )}
      <Instances list={fleet.instances} fleet={fleet.name} />
      <Outcome result={promoted} />
      {fleet.promotable && session.role === 'admin' && (
        <PromoteButton
          fleet={fleet}
          session={session}
          onSignedOut={props.onSignedOut}
          onResult={setPromoted}
        />
      )}
      <FleetActions fleet={fleet} session={session} onSignedOut={props.onSignedOut} />
    </section>
  );
}

function Weights({ fleet }: { fleet: UiFleet }) {
  const newShare = fleet.traffic?.newShare ?? null;
  return (
    <div class="weights">
      <h3>Weights</h3>
      <ul>
        {fleet.weights.map((w) => (
          <li key={w.release}>
            <span class="mono">{shortDigest(w.release)}</span>
            {w.release === fleet.release ? ' (new)' : ' (old)'}: {instances(w.count)}, {w.percent} %
            <progress
              max={100}
              value={w.percent}
              aria-label={`${w.percent} % on ${shortDigest(w.release)}`}
            />
          </li>
        ))}
      </ul>
      {newShare !== null && (
        <p class="traffic">
          The new release answered {newShare.toFixed(1)} % of {fleet.traffic?.requests ?? 0}{' '}
          requests this step.
        </p>
      )}
    </div>
  );
}

function Instances({ list, fleet }: { list: readonly ObservedInstance[]; fleet: string }) {
  if (list.length === 0) return <p class="empty">No instances.</p>;
  return (
    <table class="instances">
      <caption>Instances of {fleet}</caption>
      <thead>
        <tr>
          <th scope="col">Instance</th>
          <th scope="col">State</th>
          <th scope="col">Integrity</th>
          <th scope="col">Address</th>
          <th scope="col">Release</th>
          <th scope="col">Reason</th>
        </tr>
      </thead>
      <tbody>
        {list.map((i) => (
          <tr key={i.id} data-state={i.state}>
            <td class="mono">{i.id}</td>
            <td>{i.state}</td>
            <td>{i.integrity ?? 'unchecked'}</td>
            <td class="mono">{i.address ?? '—'}</td>
            <td class="mono">{i.release !== undefined ? shortDigest(i.release) : '—'}</td>
            <td>{i.reason ?? ''}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
