import { spawn, execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isAlive } from '../src/adapters/shared/process-alive.js';
import { requireHost } from './helpers/agent.js';
import { ingot } from './helpers/cli.js';
import { etcdProcessesLeft } from './helpers/etcd.js';
import { passableTempDir } from './helpers/fs.js';

/**
 * `scripts/local-cluster` as a developer runs it, from another shell each time: `up` starts a
 * cluster of two hosts (each a network namespace running `ingot agent`) and makes it the CLI's
 * current context, so that a plain `ingot hosts` reaches it; `kill-host` makes a host lost
 * within its lease; `down` leaves nothing behind and the previous context current again.
 */

const SCRIPT = fileURLToPath(new URL('../scripts/local-cluster', import.meta.url));
// A bed of this run's own (names and subnets), beside a developer's local cluster or a test's.
const prefix = `lc${process.pid.toString(36).slice(-6)}`;
const octet = Math.floor(Math.random() * 256);
const linkSubnet = `10.83.${octet}.0/24`;
const instanceSubnets = `10.${100 + Math.floor(Math.random() * 40)}.0.0/16`;

let root = '';
let dir = '';
let config = '';
let env: Record<string, string> = {};

interface Run {
  readonly code: number | null;
  readonly out: string;
  readonly stdout: string;
}

/**
 * The script, as another shell runs it. Its processes outlive it with their output in log
 * files: none holds its pipes, so `close` comes when the script itself ends.
 */
function script(...args: string[]): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(SCRIPT, args, { env: { ...process.env, ...env }, stdio: 'pipe' });
    let stdout = '';
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (t: string) => ((stdout += t), (out += t)));
    child.stderr.setEncoding('utf8').on('data', (t: string) => (out += t));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, out, stdout }));
  });
}

/** The hosts through the current context: no --server, no INGOT_SERVER, another home. */
function hosts() {
  const r = ingot(['hosts', '-o', 'json'], { env });
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as {
    hosts: { name: string; state: string; labels: Record<string, string> }[];
    leader: { name: string } | null;
  };
}

function contexts() {
  const r = ingot(['context', 'list', '-o', 'json'], { env });
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as { current: string | null; contexts: { name: string }[] };
}

beforeAll(() => {
  requireHost();
  root = passableTempDir('ingot-local-cluster-');
  dir = join(root, 'cluster');
  config = join(root, 'config');
  mkdirSync(join(root, 'elsewhere'));
  env = {
    INGOT_LOCAL_CLUSTER_DIR: dir,
    XDG_CONFIG_HOME: config,
    INGOT_HOME: join(root, 'elsewhere'),
  };
  // A context of the developer's own, current before `up`: `down` makes it current again.
  for (const args of [
    ['context', 'add', 'mine', '--server', 'http://127.0.0.1:9', '--token-file', '/none'],
    ['context', 'use', 'mine'],
  ])
    expect(ingot(args, { env }).code).toBe(0);
});

afterAll(async () => {
  // Only if a test failed before `down` ran: nothing may stay behind.
  if (existsSync(join(dir, 'state.json'))) await script('down');
  if (root) rmSync(root, { recursive: true, force: true });
}, 120_000);

describe('scripts/local-cluster', () => {
  let pids: number[] = [];

  it('up starts a cluster of two hosts that a plain `ingot hosts` reaches through the context', async () => {
    const started = Date.now();
    const r = await script(
      'up',
      '--hosts',
      '2',
      '--prefix',
      prefix,
      '--link-subnet',
      linkSubnet,
      '--instance-subnets',
      instanceSubnets,
    );
    expect(r.code, r.out).toBe(0);
    console.log(`local-cluster up --hosts 2: ${((Date.now() - started) / 1000).toFixed(1)} s`);
    const state = JSON.parse(readFileSync(join(dir, 'state.json'), 'utf8')) as {
      registry: { authority: string; pid: number };
      servers: { pid: number }[];
      agents: { pid: number }[];
      etcd: { members: { pid: number }[] };
      postgres: { pid: number };
    };
    pids = [
      state.registry.pid,
      state.postgres.pid,
      ...state.etcd.members.map((m) => m.pid),
      ...state.servers.map((s) => s.pid),
      ...state.agents.map((a) => a.pid),
    ];
    expect(pids.every(isAlive)).toBe(true);
    // What to push to, and how to try it.
    expect(r.stdout).toContain(`${state.registry.authority}/hello:1.0.0 --plain-http`);
    expect(r.stdout).toContain('npx ingot hosts');
    expect(contexts().current).toBe('local-cluster');

    const listed = hosts();
    expect(listed.hosts.map((h) => [h.name, h.state, h.labels['zone']])).toEqual([
      ['h1', 'live', 'a'],
      ['h2', 'live', 'b'],
    ]);
    expect(['s1', 's2']).toContain(listed.leader?.name);
  }, 120_000);

  it('kill-host 1 makes h1 lost within its lease', async () => {
    const r = await script('kill-host', '1');
    expect(r.code, r.out).toBe(0);
    // The agent is gone once kill-host returns. Polled on s1 itself, every 100 ms: a CLI per
    // poll would add its own start to the time measured.
    const killed = Date.now();
    const state = JSON.parse(readFileSync(join(dir, 'state.json'), 'utf8')) as {
      servers: { url: string; home: string }[];
    };
    const s1 = state.servers[0]!;
    const token = readFileSync(join(s1.home, 'token'), 'utf8').trim();
    const h1 = async () => {
      const res = await fetch(`${s1.url}/v1/hosts`, {
        headers: { authorization: `Bearer ${token}` },
      });
      const answer = (await res.json()) as { hosts: { name: string; state: string }[] };
      return answer.hosts.find((h) => h.name === 'h1')?.state;
    };
    while ((await h1()) !== 'lost' && Date.now() - killed < 30_000)
      await new Promise((done) => setTimeout(done, 100));
    const took = Date.now() - killed;
    console.log(
      `h1 lost ${(took / 1000).toFixed(1)} s after its agent was killed (lease TTL 10 s)`,
    );
    expect(took).toBeLessThan(15_000);
    // And so the CLI says, through the context.
    const listed = hosts().hosts;
    expect(listed.find((h) => h.name === 'h1')?.state).toBe('lost');
    expect(listed.find((h) => h.name === 'h2')?.state).toBe('live');
  }, 60_000);

  it('down leaves nothing behind, and the previous context is current again', async () => {
    const started = Date.now();
    const r = await script('down');
    expect(r.code, r.out).toBe(0);
    console.log(`local-cluster down: ${((Date.now() - started) / 1000).toFixed(1)} s`);
    expect(pids.filter(isAlive)).toEqual([]);
    expect(etcdProcessesLeft(dir)).toEqual([]);
    // Nor any other process that names the folder (a server's flags, a host's join token…).
    expect(processesNaming(dir)).toEqual([]);
    expect(execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' })).not.toContain(`${prefix}-`);
    expect(execFileSync('ip', ['-o', 'link', 'show'], { encoding: 'utf8' })).not.toMatch(
      new RegExp(`: ${prefix}[-0]`),
    );
    expect(execFileSync('ip', ['route', 'show'], { encoding: 'utf8' })).not.toContain(linkSubnet);
    expect(readFileSync('/proc/self/mountinfo', 'utf8')).not.toMatch(
      new RegExp(`${dir}|/run/ingot-testbed/${prefix}`),
    );
    // The hosts' cgroup parents: cgroup v2's, or under each v1 hierarchy.
    const cgroups = ['', ...readdirSync('/sys/fs/cgroup')].flatMap((c) =>
      [1, 2].map((n) => join('/sys/fs/cgroup', c, `${prefix}-h${n}`)).filter((p) => existsSync(p)),
    );
    expect(cgroups).toEqual([]);
    expect(existsSync(dir)).toBe(false);
    const after = contexts();
    expect(after.current).toBe('mine');
    expect(after.contexts.map((c) => c.name)).toEqual(['mine']);
    // Twice: nothing to do, no error.
    expect((await script('down')).code).toBe(0);
  }, 120_000);
});

/** Live processes whose command line names `text`. */
function processesNaming(text: string): string[] {
  return readdirSync('/proc')
    .filter((e) => /^\d+$/.test(e) && isAlive(Number(e)))
    .flatMap((pid) => {
      try {
        const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ');
        return argv.includes(text) ? [`${pid}: ${argv}`] : [];
      } catch {
        return []; // gone meanwhile
      }
    });
}
