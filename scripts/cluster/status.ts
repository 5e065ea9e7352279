import { runCommand } from '../../src/adapters/netns-testbed/command.js';
import { testbed } from '../../src/adapters/netns-testbed/index.js';
import { running } from './processes.js';
import type { ClusterState, Proc, StateFolder } from './state.js';

/** `status`: every process with its pid and whether it runs, and each host's cable. */
export async function showStatus(folder: StateFolder, state: ClusterState): Promise<number> {
  const bed = testbed(state.bed);
  const rows: string[][] = [];
  const row = (what: string, p: Proc | null, detail: string) =>
    rows.push([what, p ? String(p.pid) : '-', p && running(p) ? 'running' : 'stopped', detail]);
  for (const m of state.etcd?.members ?? []) row(`etcd ${m.name}`, m, m.log);
  row('postgres', state.postgres, state.postgres?.database ?? '');
  row('registry', state.registry, state.registry?.authority ?? '');
  for (const s of state.servers) row(`server ${s.name}`, s, s.url);
  for (const host of bed.hosts) {
    const agent = state.agents.find((a) => a.n === host.n) ?? null;
    const link = await runCommand('ip', ['-o', 'link', 'show', host.link]);
    const cable = link.code !== 0 ? 'no link' : /[<,]UP[,>]/.test(link.stdout) ? 'link up' : 'cut';
    row(`host h${host.n}`, agent, `${cable}, ${host.address}, instances ${host.instanceSubnet}`);
  }
  const widths = [0, 1, 2].map((i) => Math.max(...rows.map((r) => r[i]!.length)));
  process.stdout.write(
    `local cluster in ${folder.dir} (bed ${bed.prefix}, servers on ${bed.gateway})\n` +
      rows.map((r) => r.map((c, i) => (i < 3 ? c.padEnd(widths[i]!) : c)).join('  ')).join('\n') +
      '\n',
  );
  return 0;
}
