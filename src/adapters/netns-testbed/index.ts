import { spawn, type ChildProcess, type StdioOptions } from 'node:child_process';
import { resolve } from 'node:path';
import { IngotError } from '../../domain/errors.js';
import { runCommand, mustRun, type CommandResult, type RunOptions } from './command.js';
import { createTestbed } from './create.js';
import { removeTestbed } from './destroy.js';
import { mountNsFile, netnsPath } from './host-mounts.js';
import {
  planTestbed,
  type SimulatedHost,
  type TestbedCode,
  type TestbedPlan,
  type TestbedOptions,
} from './plan.js';

/**
 * A test bed of hosts simulated on this machine: each host a network namespace (and a mount
 * namespace for its /sys, host-mounts.ts) with its own link to a bridge in the root
 * namespace, where the servers listen, and its own instance subnet, routed so that
 * instances on different hosts reach each other and the servers. Needs root.
 *
 *   const bed = testbed({ hosts: 2 });
 *   try {
 *     await bed.create();
 *     bed.spawn(1, ['ingot', 'agent', …], { env });
 *     await bed.cut(1); …; await bed.heal(1);
 *   } finally {
 *     await bed.destroy();
 *   }
 *
 * The handle is names only: the same options name the same bed in another process (a
 * script's `cut-host 2`), and `destroy()` removes a bed whatever state a crash left it in.
 */
export interface Testbed extends TestbedPlan {
  /** Host `n` (1-based); E_TESTBED_INPUT if the bed has no such host. */
  host(n: number): SimulatedHost;
  /**
   * Make the bed, after removing whatever a previous bed of the same prefix left. If a step
   * fails, what was made is removed again and the error is thrown.
   */
  create(): Promise<void>;
  /**
   * Start `argv` (a program and its arguments; never a shell string) in host `n`'s network
   * and mount namespaces, through nsenter. The working directory is `cwd` (default: this
   * process's).
   */
  spawn(n: number, argv: readonly string[], options?: HostSpawnOptions): ChildProcess;
  /** Run `argv` in host `n` to its end, whatever its exit code. */
  run(n: number, argv: readonly string[], options?: RunOptions): Promise<CommandResult>;
  /**
   * Pull host `n`'s cable: its link goes down in the root namespace, so that nothing passes
   * either way (servers, other hosts, their instances). The host keeps its address and
   * routes, and its processes run on, as a real host's would.
   */
  cut(n: number): Promise<void>;
  /** Plug host `n`'s cable back in. */
  heal(n: number): Promise<void>;
  /** Remove everything of the bed's prefix (removeTestbed). Safe to call twice. */
  destroy(): Promise<void>;
}

export interface HostSpawnOptions {
  readonly env?: NodeJS.ProcessEnv;
  readonly cwd?: string;
  readonly stdio?: StdioOptions;
  readonly detached?: boolean;
}

/** The handle of the bed these options name (no I/O): E_TESTBED_INPUT if they are bad. */
export function testbed(options: TestbedOptions): Testbed {
  const plan = planTestbed(options);
  const host = (n: number): SimulatedHost => {
    const h = Number.isSafeInteger(n) ? plan.hosts[n - 1] : undefined;
    if (!h)
      throw new IngotError<TestbedCode>(
        'E_TESTBED_INPUT',
        `the test bed ${plan.prefix} has hosts 1 to ${plan.hosts.length}, not ${String(n)}`,
      );
    return h;
  };
  const enter = (n: number, argv: readonly string[], cwd: string | undefined): string[] => {
    const h = host(n);
    checkArgv(argv);
    return [
      `--net=${netnsPath(h.netns)}`,
      `--mount=${mountNsFile(plan.prefix, h.n)}`,
      // Entering a mount namespace moves to its root: come back to the folder asked for.
      `--wd=${resolve(cwd ?? process.cwd())}`,
      '--',
      ...argv,
    ];
  };
  return {
    ...plan,
    host,
    async create() {
      await removeTestbed(plan.prefix);
      try {
        await createTestbed(plan);
      } catch (err) {
        await removeTestbed(plan.prefix).catch(() => undefined);
        throw err;
      }
    },
    spawn: (n, argv, options = {}) =>
      spawn('nsenter', enter(n, argv, options.cwd), {
        env: options.env ?? process.env,
        ...(options.stdio !== undefined && { stdio: options.stdio }),
        ...(options.detached !== undefined && { detached: options.detached }),
      }),
    run: (n, argv, options = {}) =>
      runCommand('nsenter', enter(n, argv, options.cwd), {
        env: options.env ?? process.env,
        ...(options.timeoutMs !== undefined && { timeoutMs: options.timeoutMs }),
      }),
    cut: async (n) => void (await mustRun('ip', ['link', 'set', host(n).link, 'down'])),
    heal: async (n) => void (await mustRun('ip', ['link', 'set', host(n).link, 'up'])),
    destroy: () => removeTestbed(plan.prefix),
  };
}

function checkArgv(argv: readonly string[]): void {
  if (
    argv.length === 0 ||
    argv.some((a) => typeof a !== 'string' || a.includes('\0')) ||
    argv[0] === ''
  )
    throw new IngotError<TestbedCode>(
      'E_TESTBED_INPUT',
      'a command for a host is a program and its arguments: a non-empty array of strings without NUL',
    );
}

export { removeTestbed } from './destroy.js';
export { MAX_HOSTS, planTestbed } from './plan.js';
export type { SimulatedHost, TestbedOptions, TestbedPlan } from './plan.js';
export type { CommandResult, RunOptions } from './command.js';
