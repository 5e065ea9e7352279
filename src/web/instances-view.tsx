import { useState } from 'preact/hooks';
import { getLogTail, type Session, type UiFleet } from './api.js';
import { age, endpoints, shortDigest } from './format.js';
import { Failure, useLoad } from './load.js';

/**
 * A fleet's instances: health, integrity, host, age, address with ports, and (for the admin)
 * the tail of each one's log. Every string comes from a host or an instance's own output:
 * Preact sets each as text, never as HTML.
 */
export function InstancesView(props: { fleet: UiFleet; session: Session; now: number }) {
  const { fleet, session, now } = props;
  const [shown, setShown] = useState<string | null>(null);
  if (fleet.instances.length === 0) return <p class="empty">No instances.</p>;
  return (
    <section class="instances-view" aria-labelledby="instances-title">
      <h3 id="instances-title">Instances</h3>
      <table class="instances">
        <thead>
          <tr>
            <th scope="col">Instance</th>
            <th scope="col">Health</th>
            <th scope="col">Integrity</th>
            <th scope="col">Host</th>
            <th scope="col">Age</th>
            <th scope="col">Address</th>
            <th scope="col">Release</th>
            <th scope="col">Log</th>
          </tr>
        </thead>
        <tbody>
          {fleet.instances.map((i) => {
            const started = i.startedAt === undefined ? NaN : Date.parse(i.startedAt);
            return (
              <tr key={i.id} data-instance={i.id} data-state={i.state}>
                <td class="mono">{i.id}</td>
                <td class="health">
                  {i.state}
                  {i.reason !== undefined && <span class="why"> ({i.reason})</span>}
                </td>
                <td class="integrity">{i.integrity ?? 'unchecked'}</td>
                <td class="mono">{i.host ?? 'this host'}</td>
                <td class="age">{Number.isNaN(started) ? '—' : age(started, now)}</td>
                <td class="mono address">{endpoints(i.address, i.ports)}</td>
                <td class="mono">{i.release !== undefined ? shortDigest(i.release) : '—'}</td>
                <td>
                  {session.role === 'admin' ? (
                    <button
                      type="button"
                      aria-expanded={shown === i.id}
                      onClick={() => setShown(shown === i.id ? null : i.id)}
                    >
                      {shown === i.id ? 'Hide' : 'Show'} log
                      <span class="visually-hidden"> of {i.id}</span>
                    </button>
                  ) : (
                    '—'
                  )}
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
      {session.role === 'admin' ? (
        shown !== null && <LogTail key={shown} fleet={fleet.name} id={shown} />
      ) : (
        // Why (ops-routes.ts): a program's output can hold what its env holds, and this role
        // is shown env names, never values.
        <p class="help">
          Log tails need the admin token: logs can hold secrets, as env values can.
        </p>
      )}
    </section>
  );
}

function LogTail({ fleet, id }: { fleet: string; id: string }) {
  const [generation, setGeneration] = useState(0);
  const { value: tail, error } = useLoad(() => getLogTail(fleet, id), [fleet, id, generation]);
  return (
    <section class="log-tail" aria-labelledby="log-title" data-log={id}>
      <header>
        <h4 id="log-title">
          Log of <span class="mono">{id}</span> (last lines)
        </h4>
        <button type="button" onClick={() => setGeneration((g) => g + 1)}>
          Refresh
        </button>
      </header>
      {error !== null && <Failure error={error} />}
      {tail && tail.lines.length === 0 && <p class="empty">Nothing logged yet.</p>}
      {tail && tail.lines.length > 0 && (
        <pre class="log" tabIndex={0}>
          {tail.truncated && '…\n'}
          {tail.lines.join('\n')}
        </pre>
      )}
    </section>
  );
}
