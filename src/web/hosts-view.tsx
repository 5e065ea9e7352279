import { useEffect, useState } from 'preact/hooks';
import { getHosts, type UiHost } from './api.js';
import { Failure, useLoad } from './load.js';

const gib = (bytes: number) => `${(bytes / 1024 ** 3).toFixed(1)} GiB`;

/**
 * The hosts (GET /v1/hosts): state, what each has and what its instances reserve, and which
 * instances run there, read again every 5 s. Names and labels are the hosts' own
 * registration: text only.
 */
export function HostsView() {
  // Read again every 5 s while shown: heartbeats and placements move; the list is small.
  const [tick, setTick] = useState(0);
  useEffect(() => {
    const timer = setInterval(() => setTick((t) => t + 1), 5000);
    return () => clearInterval(timer);
  }, []);
  const hosts = useLoad(() => getHosts(), [tick]);
  return (
    <div class="evidence hosts">
      <h2>Hosts</h2>
      {hosts.error && <Failure error={hosts.error} />}
      {hosts.value?.hosts.length === 0 && <p class="empty">No hosts.</p>}
      {hosts.value?.hosts.map((h) => (
        <Host key={h.name} host={h} />
      ))}
    </div>
  );
}

function Host({ host: h }: { host: UiHost }) {
  const labels = Object.entries(h.labels);
  return (
    <section class="host" aria-labelledby={`host-${h.name}`} data-host={h.name}>
      <header>
        <h3 id={`host-${h.name}`}>{h.name}</h3>
        <span class={`badge host-${h.state}`}>{h.state}</span>
      </header>
      <dl class="facts">
        <dt>Memory</dt>
        <dd>
          {gib(h.used.memoryBytes)} reserved of {gib(h.capacity.memoryBytes)}
        </dd>
        <dt>CPUs</dt>
        <dd>
          {h.used.cpus} reserved of {h.capacity.cpus}
        </dd>
        <dt>Processes</dt>
        <dd>
          {h.used.pids} reserved of {h.capacity.pids}
        </dd>
        <dt>Agent</dt>
        <dd>
          {h.agent ?? '—'}, last heard {h.lastHeartbeat ?? 'never'}
        </dd>
        {labels.length > 0 && (
          <>
            <dt>Labels</dt>
            <dd class="mono">{labels.map(([k, v]) => `${k}=${v}`).join(', ')}</dd>
          </>
        )}
      </dl>
      {h.instances.length === 0 ? (
        <p class="empty">No instances.</p>
      ) : (
        <table class="grid">
          <caption>
            {h.instances.length} instance{h.instances.length === 1 ? '' : 's'} on {h.name}
          </caption>
          <thead>
            <tr>
              <th scope="col">Instance</th>
              <th scope="col">Fleet</th>
              <th scope="col">State</th>
            </tr>
          </thead>
          <tbody>
            {h.instances.map((i) => (
              <tr key={i.id} data-state={i.state}>
                <td class="mono">{i.id}</td>
                <td>{i.fleet}</td>
                <td>{i.state}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
