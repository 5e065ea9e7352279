import { cpSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, expect } from 'vitest';
import { passableTempDir } from './fs.js';
import { removeNet, requireHost, testNet, upArgs, type TestNet } from './agent.js';
import { ingot, type CliResult } from './cli.js';

export const HELLO = fileURLToPath(new URL('../../examples/hello', import.meta.url));
export const HELLO_FLEET = fileURLToPath(
  new URL('../../examples/hello/fleet.yaml', import.meta.url),
);

/** An instance as `ingot status -o json` prints it (the fields tests read). */
export interface InstanceJson {
  id: string;
  state: string;
  artifact: string;
  release?: string;
  address?: string;
  pid?: number;
  reason?: string;
  integrity: string;
  evidence?: { detector: string; path: string; expected?: string; actual: string }[];
}

/** A fleet as `ingot status -o json` prints it. */
export interface FleetJson {
  name: string;
  artifact: string;
  release: string;
  rollout: string;
  reason: string | null;
  reasons: string[];
  phase: string;
  instances: InstanceJson[];
}

/** A ledger entry as `ingot ledger log -o json` prints it. */
export interface EntryJson {
  kind: string;
  fleet?: string;
  instance?: string;
  detail: Record<string, unknown>;
}

export interface ServerHarness {
  /** The test file's folder (removed afterwards); the home is `home` inside it. */
  readonly root: string;
  readonly home: string;
  readonly net: TestNet;
  /** INGOT_HOME for commands run by hand. */
  readonly env: Record<string, string>;
  readonly cli: (...args: string[]) => CliResult;
  /** `ingot up --detach` on the test's own bridge, subnet and cgroup, checked. */
  readonly up: (...extra: string[]) => void;
  readonly status: () => FleetJson[];
  readonly fleet: (name: string) => FleetJson | undefined;
  /** Every ledger entry, oldest first, of one fleet if named. */
  readonly ledger: (fleet?: string) => EntryJson[];
  /** A fleet file of `name` with these lines, in `root`. */
  readonly writeFleet: (name: string, lines: readonly string[]) => string;
  /** examples/hello's fleet.yaml with another replica count, in `root`. */
  readonly helloFleet: (replicas: number) => string;
  /** A copy of examples/hello whose ingot.yaml `edit` changed, in `root`. */
  readonly helloVariant: (dir: string, edit: (yaml: string) => string) => string;
  /** The pid server.json names. */
  readonly serverPid: () => number;
}

/**
 * A server of the test file's own: a home, a bridge and subnet no parallel test shares, the
 * CLI pointed at them. Registers the file's beforeAll and afterAll: afterwards the server is
 * brought up again if it died (so that its instances are stopped from its record), stopped
 * with its instances, and the bridge and the folder are removed.
 */
export function useServer(prefix: string): ServerHarness {
  let root = '';
  let net: TestNet | null = null;
  const home = () => join(root, 'home');
  const current = (): TestNet => {
    if (!net) throw new Error('useServer: the net exists only once beforeAll ran');
    return net;
  };
  const env = () => ({ INGOT_HOME: home() });
  const cli = (...args: string[]) => ingot(args, { env: env() });
  const status = (): FleetJson[] => {
    const r = cli('status', '-o', 'json');
    expect(r.code, r.stderr).toBe(0);
    return JSON.parse(r.stdout) as FleetJson[];
  };

  beforeAll(() => {
    requireHost();
    root = passableTempDir(`ingot-${prefix}-`);
    net = testNet();
  });

  afterAll(() => {
    if (!net) return;
    cli('down', '--stop-instances');
    removeNet(net);
    rmSync(root, { recursive: true, force: true });
  }, 120_000);

  return {
    get root() {
      return root;
    },
    get home() {
      return home();
    },
    get net() {
      return current();
    },
    get env() {
      return env();
    },
    cli,
    up: (...extra) => {
      const r = cli(...upArgs(current()), ...extra);
      expect(r.code, r.stderr).toBe(0);
    },
    status,
    fleet: (name) => status().find((f) => f.name === name),
    ledger: (fleet) =>
      (
        JSON.parse(cli('ledger', 'log', '--limit', '99999', '-o', 'json').stdout) as EntryJson[]
      ).filter((e) => fleet === undefined || e.fleet === fleet),
    writeFleet: (name, lines) => {
      const file = join(root, `${name}.yaml`);
      writeFileSync(file, [`name: ${name}`, ...lines, ''].join('\n'));
      return file;
    },
    helloFleet: (replicas) => {
      const file = join(root, `hello-${replicas}.yaml`);
      const text = readFileSync(HELLO_FLEET, 'utf8').replace(
        /^replicas: \d+$/m,
        `replicas: ${replicas}`,
      );
      writeFileSync(file, text);
      return file;
    },
    helloVariant: (dir, edit) => {
      const at = join(root, dir);
      cpSync(HELLO, at, { recursive: true, verbatimSymlinks: true });
      writeFileSync(join(at, 'ingot.yaml'), edit(readFileSync(join(at, 'ingot.yaml'), 'utf8')));
      return at;
    },
    serverPid: () =>
      (JSON.parse(readFileSync(join(home(), 'server.json'), 'utf8')) as { pid: number }).pid,
  };
}
