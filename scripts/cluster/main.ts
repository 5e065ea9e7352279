import { existsSync } from 'node:fs';
import { testbed } from '../../src/adapters/netns-testbed/index.js';
import { teardown } from './down.js';
import { startAgent } from './members.js';
import { running, send, sleep } from './processes.js';
import { showStatus } from './status.js';
import { StateFolder, stateDir, type ClusterState } from './state.js';
import { summary, up, UP_DEFAULTS, type UpOptions } from './up.js';

const USAGE = `Usage: scripts/local-cluster COMMAND

A cluster on this machine: three etcd members, PostgreSQL 15, a registry, two \`ingot server\`s
and N hosts, each a network namespace running \`ingot agent\`. Needs root.

  up [--hosts N]    start it (default 3 hosts, h1..hN, zone=a/b/c round robin) and make
                    the context local-cluster current
                    [--prefix P --link-subnet CIDR/24 --instance-subnets CIDR/16]: another
                    bed than ingotlc, 10.87.0.0/24, 10.89.0.0/16
  down              stop and remove all of it; the previous context is current again
  status            what runs, with pids
  kill-host N       SIGKILL host N's agent (its instances keep running)
  start-host N      start host N's agent again
  cut-host N        pull host N's cable (its link goes down); heal-host N plugs it back

State, pids and logs: $INGOT_LOCAL_CLUSTER_DIR (default /var/tmp/ingot-local-cluster).
An \`up\` interrupted leaves what it started recorded there: \`down\` removes it.
`;

const began = Date.now();
/** Progress on stderr, with the time since the command began. */
const say = (line: string) =>
  process.stderr.write(`==> [${((Date.now() - began) / 1000).toFixed(1).padStart(5)} s] ${line}\n`);

async function main(argv: readonly string[]): Promise<number> {
  const [command, ...rest] = argv;
  const folder = new StateFolder(stateDir(process.env));
  switch (command) {
    case 'up': {
      const { state, contextFile } = await up(folder, upOptions(rest), say);
      process.stdout.write(summary(folder, state, contextFile));
      return 0;
    }
    case 'down':
      return down(folder);
    case 'status':
      return showStatus(folder, needState(folder));
    case 'kill-host':
    case 'start-host':
    case 'cut-host':
    case 'heal-host':
      return hostCommand(folder, command, hostNumber(rest));
    case undefined:
    case 'help':
    case '--help':
    case '-h':
      process.stdout.write(USAGE);
      return command === undefined ? 2 : 0;
    default:
      process.stderr.write(`local-cluster: no command ${JSON.stringify(command)}\n${USAGE}`);
      return 2;
  }
}

function upOptions(args: readonly string[]): UpOptions {
  const options = { ...UP_DEFAULTS };
  for (let i = 0; i < args.length; i += 2) {
    const [flag, value] = [args[i], args[i + 1]];
    if (value === undefined) throw new Usage(`${flag} needs a value`);
    if (flag === '--hosts') {
      if (!/^[1-9]\d?$/.test(value)) throw new Usage(`--hosts takes 1 to 99, got ${value}`);
      options.hosts = Number(value);
    } else if (flag === '--prefix') options.prefix = value;
    else if (flag === '--link-subnet') options.linkSubnet = value;
    else if (flag === '--instance-subnets') options.instanceSubnets = value;
    else
      throw new Usage(
        `up takes --hosts N (and --prefix, --link-subnet, --instance-subnets), not ${flag}`,
      );
  }
  return options;
}

function hostNumber(args: readonly string[]): number {
  if (args.length !== 1 || !/^[1-9]\d*$/.test(args[0]!)) throw new Usage('give the host number N');
  return Number(args[0]);
}

function needState(folder: StateFolder): ClusterState {
  const state = folder.read();
  if (!state) throw new Error(`no local cluster is up in ${folder.dir}: scripts/local-cluster up`);
  return state;
}

async function down(folder: StateFolder): Promise<number> {
  const state = folder.read();
  if (!state) {
    folder.remove();
    say(`no local cluster is up in ${folder.dir}`);
    return 0;
  }
  const report = await teardown(state, say);
  if (report.errors.length > 0) {
    for (const e of report.errors) process.stderr.write(`local-cluster: ${e}\n`);
    process.stderr.write(`what is left is still recorded in ${folder.file}: run down again\n`);
    return 1;
  }
  folder.remove();
  say(`the local cluster is down: nothing of it is left (${folder.dir} removed)`);
  return 0;
}

async function hostCommand(folder: StateFolder, command: string, n: number): Promise<number> {
  const state = needState(folder);
  const bed = testbed(state.bed);
  const host = bed.host(n);
  const agent = state.agents.find((a) => a.n === n);
  if (command === 'cut-host') {
    await bed.cut(n);
    say(
      `h${n}'s cable is pulled (${host.link} down): its lease ends within 10 s; heal-host ${n} plugs it back`,
    );
  } else if (command === 'heal-host') {
    await bed.heal(n);
    say(`h${n}'s cable is back (${host.link} up)`);
  } else if (command === 'kill-host') {
    if (!agent || !running(agent)) throw new Error(`h${n}'s agent is not running`);
    send(agent, 'SIGKILL');
    while (running(agent)) await sleep(50);
    say(
      `h${n}'s agent (pid ${agent.pid}) killed; its instances keep running. Within its 10 s lease \`npx ingot hosts\` shows it lost and its instances are replaced elsewhere; start-host ${n} brings it back`,
    );
  } else {
    if (agent && running(agent)) throw new Error(`h${n}'s agent runs already (pid ${agent.pid})`);
    if (!existsSync(`/run/netns/${host.netns}`)) throw new Error(`h${n}'s namespace is gone`);
    startAgent(folder, state, bed, n);
    say(
      `h${n}'s agent started again: it stops what it ran before it was lost, then takes new work`,
    );
  }
  return 0;
}

class Usage extends Error {}

main(process.argv.slice(2)).then(
  (code) => (process.exitCode = code),
  (err: unknown) => {
    process.stderr.write(`local-cluster: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = err instanceof Usage ? 2 : 1;
  },
);
