import { existsSync, readdirSync, readlinkSync } from 'node:fs';
import { IngotError } from '../../domain/errors.js';
import { runCommand } from './command.js';
import { hostMountNamespaces, netnsPath, nsId, removeHostMounts } from './host-mounts.js';
import { checkPrefix, hostNumberOf, type TestbedCode } from './plan.js';

/** How long killed processes may take to be gone. */
const KILL_WAIT_MS = 10_000;

/** The comment that marks the bed's iptables rules, by which they are found again. */
export function ruleComment(prefix: string): string {
  return `ingot-testbed:${prefix}`;
}

/**
 * Remove everything a bed of this prefix made, whatever its size and however far its
 * creation got: processes left in its hosts' namespaces, its iptables rules, its hosts'
 * mount namespaces, links and network namespaces, and its bridge (its address and routes go
 * with it). Safe to run twice, or with nothing to remove. Every step runs even if an earlier
 * one failed; then E_TESTBED_COMMAND names every failure at once.
 *
 * Instances that a host's agent started are not the bed's: they live in namespaces of their
 * own. Stop them through the agent (`ingot down --stop-instances`) before this.
 */
export async function removeTestbed(prefixInput: string): Promise<void> {
  const prefix = checkPrefix(prefixInput);
  const errors: string[] = [];
  const netns = existsSync('/run/netns')
    ? readdirSync('/run/netns').filter((n) => hostNumberOf(prefix, n) !== null)
    : [];
  const namespaces = new Set([
    ...netns.map((n) => nsId('net', netnsPath(n))).filter((id): id is string => id !== null),
    ...hostMountNamespaces(prefix),
  ]);
  errors.push(...(await killProcessesIn(namespaces)));
  errors.push(...(await removeRules(prefix)));
  errors.push(...(await removeHostMounts(prefix)));
  // Deleting one end of a veth pair deletes both, at once; a namespace's own devices go
  // only when the kernel gets round to freeing the namespace.
  for (const link of await linkNames())
    if (hostNumberOf(prefix, link) !== null) await attempt(errors, 'ip', ['link', 'delete', link]);
  for (const n of netns) await attempt(errors, 'ip', ['netns', 'delete', n]);
  if ((await linkNames()).includes(`${prefix}0`))
    await attempt(errors, 'ip', ['link', 'delete', `${prefix}0`]);
  if (errors.length > 0)
    throw new IngotError<TestbedCode>(
      'E_TESTBED_COMMAND',
      `removing the test bed ${prefix}: ${errors.join('; ')}`,
      { details: { errors } },
    );
}

async function attempt(errors: string[], file: string, args: readonly string[]): Promise<void> {
  const r = await runCommand(file, args);
  if (r.code !== 0) errors.push(`${[file, ...args].join(' ')}: ${r.stderr.trim()}`);
}

/** Every interface name in the root network namespace. */
export async function linkNames(): Promise<string[]> {
  const r = await runCommand('ip', ['-j', 'link', 'show']);
  if (r.code !== 0) return [];
  return (JSON.parse(r.stdout) as { ifname?: unknown }[])
    .map((l) => l.ifname)
    .filter((n): n is string => typeof n === 'string');
}

/** The PIDs of processes in any of these namespaces ("net:[…]", "mnt:[…]"). */
export function processesIn(namespaces: ReadonlySet<string>): number[] {
  if (namespaces.size === 0) return [];
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    for (const kind of ['net', 'mnt']) {
      let ns: string;
      try {
        ns = readlinkSync(`/proc/${entry}/ns/${kind}`);
      } catch {
        continue; // gone, or a zombie: nothing left of it to kill
      }
      if (namespaces.has(ns)) {
        pids.push(Number(entry));
        break;
      }
    }
  }
  return pids;
}

/**
 * SIGKILL every process in the hosts' namespaces (agents, servers, whatever a test started
 * there) and wait until they are gone: a namespace lives as long as one of its processes.
 */
async function killProcessesIn(namespaces: ReadonlySet<string>): Promise<string[]> {
  const deadline = Date.now() + KILL_WAIT_MS;
  for (;;) {
    const pids = processesIn(namespaces);
    if (pids.length === 0) return [];
    if (Date.now() > deadline)
      return [`processes still in the hosts' namespaces after SIGKILL: ${pids.join(', ')}`];
    for (const pid of pids)
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // exited meanwhile
      }
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Delete the bed's rules from the root namespace's FORWARD chain (see create.ts). */
async function removeRules(prefix: string): Promise<string[]> {
  const listed = await runCommand('iptables', ['-w', '-S', 'FORWARD']);
  if (listed.code === 127) return []; // no iptables: the bed added none
  if (listed.code !== 0) return [`iptables -S FORWARD: ${listed.stderr.trim()}`];
  const errors: string[] = [];
  const comment = ruleComment(prefix);
  for (const line of listed.stdout.split('\n')) {
    // "-A FORWARD -i B -o B -m comment --comment "ingot-testbed:P" -j ACCEPT" (quoted by
    // iptables-nft, not by legacy): no spaces in the names (the prefix is checked), so the
    // line splits back into its arguments.
    const args = line.split(' ').map((a) => a.replace(/^"(.*)"$/, '$1'));
    const at = args.indexOf('--comment');
    if (args[0] !== '-A' || args[1] !== 'FORWARD' || at < 0 || args[at + 1] !== comment) continue;
    args[0] = '-D';
    const r = await runCommand('iptables', ['-w', ...args]);
    if (r.code !== 0) errors.push(`iptables ${args.join(' ')}: ${r.stderr.trim()}`);
  }
  return errors;
}
