import type { Command } from 'commander';
import type { HostsAnswer, ListedHost } from '../../core/api/hosts.js';
import { routes } from '../../core/api/routes.js';
import { call } from '../client.js';
import { columns, formatAge, formatBytes, json, outputOption } from '../format.js';
import type { OutputFormat } from '../io.js';
import type { Runner } from './runner.js';

/** `ingot hosts`: the machines instances run on (this one, or a cluster's). */
export function registerHosts(program: Command, run: Runner): void {
  program
    .command('hosts')
    .summary('hosts: state, labels, capacity and what is used of it, last heartbeat')
    .description(
      "The hosts the server knows: each one's state (live, lost, unadmitted, draining), labels,\n" +
        'CPUs and memory as used/capacity (used: what its instances reserve, their declared\n' +
        'limits), instances, and when its agent was last heard from. With `ingot up`, the one\n' +
        'host is this machine.',
    )
    .addOption(outputOption({ wide: true }))
    .action(async (options: { output: OutputFormat }) => {
      await run(
        async (_app, io, api) => {
          const answer = await call(api, routes.hosts);
          if (options.output === 'json') io.out(json(answer));
          else io.out(hostsText(answer, Date.now(), options.output === 'wide'));
          return 0;
        },
        () => options.output,
      );
    });
}

/** "0.5", "2", "1.25": cores as limits declare them. */
const cores = (n: number) => String(Math.round(n * 100) / 100);

/** The table, and the leader under it when there is one. Pure (`now` given). */
export function hostsText(answer: HostsAnswer, now: number, wide = false): string {
  const ago = (iso: string | null) =>
    iso === null || !Number.isFinite(Date.parse(iso))
      ? '-'
      : `${formatAge(now - Date.parse(iso))} ago`;
  const text = columns<ListedHost>(
    [
      { header: 'NAME', cell: (h) => h.name },
      { header: 'STATE', cell: (h) => h.state },
      { header: 'LABELS', cell: (h) => labelsText(h.labels) },
      { header: 'CPUS', cell: (h) => `${cores(h.used.cpus)}/${cores(h.capacity.cpus)}` },
      {
        header: 'MEMORY',
        cell: (h) => `${formatBytes(h.used.memoryBytes)}/${formatBytes(h.capacity.memoryBytes)}`,
      },
      { header: 'PIDS', cell: (h) => `${h.used.pids}/${h.capacity.pids}`, wide: true },
      { header: 'INSTANCES', cell: (h) => String(h.used.instances) },
      { header: 'LAST-HEARTBEAT', cell: (h) => ago(h.lastHeartbeat) },
      { header: 'AGENT', cell: (h) => h.agent ?? '-', wide: true },
      { header: 'AGENT-STARTED', cell: (h) => ago(h.startedAt), wide: true },
      { header: 'API', cell: (h) => h.api ?? '-', wide: true },
    ],
    answer.hosts,
    wide,
  );
  const l = answer.leader;
  if (l === null) return text;
  const since = Date.parse(l.since);
  const leading = Number.isFinite(since) ? `leading for ${formatAge(now - since)}` : 'leading';
  return `${text}\nleader: ${l.name} (${leading}${l.api !== undefined ? `, API ${l.api}` : ''})\n`;
}

/** `disk=ssd,zone=a` (sorted), or `-`. */
function labelsText(labels: Readonly<Record<string, string>>): string {
  const pairs = Object.entries(labels)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([k, v]) => `${k}=${v}`);
  return pairs.length > 0 ? pairs.join(',') : '-';
}
