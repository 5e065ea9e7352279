import { execFile, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { IngotError } from '../../domain/errors.js';
import type { ContainerState, Runtime, RuntimeExit } from '../../ports/runtime.js';
import { exitFileOf, oomKills, prctlNumber, readShimExit, SHIM_SCRIPT } from './shim.js';

const run = promisify(execFile);

/**
 * runc from Debian, with its own state root so that Ingot's containers are told apart from
 * anybody else's, and orphans are found by listing that root alone.
 */
export class RuncRuntime implements Runtime {
  constructor(
    private readonly root: string,
    private readonly binary = 'runc',
  ) {}

  private async runc(args: readonly string[]): Promise<string> {
    try {
      const { stdout } = await run(this.binary, ['--root', this.root, ...args], {
        timeout: 60_000,
        maxBuffer: 16 * 1024 * 1024,
      });
      return stdout;
    } catch (err) {
      const e = err as { stderr?: string; message: string; code?: string };
      if (e.code === 'ENOENT')
        throw new IngotError(
          'E_RUNTIME_MISSING',
          `${this.binary} is not installed: run ./scripts/setup`,
        );
      throw new IngotError(
        'E_RUNTIME',
        `runc ${args[0]} failed: ${(e.stderr ?? e.message).trim()}`,
        {
          cause: err,
        },
      );
    }
  }

  create(id: string, bundle: string, stdio: { stdout: number; stderr: number }): Promise<number> {
    // runc hands its stdio to the container: files, never pipes, or this would wait for the
    // container to exit (FIELD-NOTES). The pid comes from --pid-file, which saves a second
    // runc call (`state`) on every start.
    const pidFile = join(bundle, 'pid');
    // runc's own account of a refusal, kept apart from the instance's output, so that the
    // reason the rollout fails with says what runc refused (the log goes with the instance).
    const logFile = join(bundle, 'runc.log');
    const runc = [
      ...[this.binary, '--root', this.root, '--log', logFile, '--log-format', 'json'],
      ...['create', '--pid-file', pidFile, '--bundle', bundle, id],
    ];
    return new Promise((resolve, reject) => {
      // The shim (shim.ts) runs runc create and stays, detached, as the parent that learns
      // how the container ends; fd 3 tells us how runc create went.
      const child = spawn(
        'perl',
        ['-e', SHIM_SCRIPT, String(prctlNumber()), exitFileOf(bundle), pidFile, ...runc],
        { stdio: ['ignore', stdio.stdout, stdio.stderr, 'pipe'], detached: true, cwd: '/' },
      );
      child.unref();
      let said = '';
      const pipe = child.stdio[3] as NodeJS.ReadableStream | null;
      pipe?.setEncoding('utf8');
      pipe?.on('data', (chunk: string) => {
        said = (said + chunk).slice(0, 64);
      });
      pipe?.on('error', () => undefined);
      child.on('error', (err) =>
        reject(new IngotError('E_RUNTIME_MISSING', `perl (the runc shim): ${err.message}`)),
      );
      const done = () => {
        const code = /^\d+\n/.test(said) ? Number(said.trim()) : null;
        if (code !== 0) {
          reject(
            new IngotError(
              'E_RUNTIME',
              `runc create ${id} exited with ${code ?? 'an unknown status'}: ${lastError(logFile) ?? 'see the instance log'}`,
            ),
          );
          return;
        }
        try {
          resolve(Number(readFileSync(pidFile, 'utf8').trim()) || 0);
        } catch {
          resolve(0);
        }
      };
      // Ends when the shim closed it (runc create is done) or died.
      if (pipe) pipe.on('end', done);
      else child.on('exit', done);
    });
  }

  exitOf(bundle: string): RuntimeExit | null {
    const exit = readShimExit(bundle);
    if (!exit) return null;
    let cgroupsPath = '';
    try {
      const spec = JSON.parse(readFileSync(join(bundle, 'config.json'), 'utf8')) as {
        linux?: { cgroupsPath?: unknown };
      };
      if (typeof spec.linux?.cgroupsPath === 'string') cgroupsPath = spec.linux.cgroupsPath;
    } catch {
      // no config: no cgroup to read
    }
    return { ...exit, oomKills: cgroupsPath ? oomKills(cgroupsPath) : 0 };
  }

  async start(id: string): Promise<void> {
    await this.runc(['start', id]);
  }

  async kill(id: string, signal: 'TERM' | 'KILL'): Promise<void> {
    await this.runc(['kill', id, signal]);
  }

  async delete(id: string, force = false): Promise<void> {
    await this.runc(['delete', ...(force ? ['--force'] : []), id]);
  }

  async state(id: string): Promise<ContainerState | null> {
    try {
      return toState(JSON.parse(await this.runc(['state', id])) as RawState);
    } catch (err) {
      if (err instanceof IngotError && /does not exist|not exist/.test(err.message)) return null;
      throw err;
    }
  }

  async list(): Promise<ContainerState[]> {
    // `runc list` walks its state folders; one removed by a concurrent `runc delete` makes
    // it fail with ENOENT. Listing again sees the folder gone.
    for (let attempt = 0; ; attempt++) {
      try {
        const raw = (JSON.parse((await this.runc(['list', '--format', 'json'])) || 'null') ??
          []) as RawState[];
        return raw.map(toState);
      } catch (err) {
        if (
          attempt >= 5 ||
          !(err instanceof IngotError) ||
          !/no such file or directory/.test(err.message)
        )
          throw err;
        await new Promise((r) => setTimeout(r, 10 * (attempt + 1)));
      }
    }
  }
}

interface RawState {
  id: string;
  status: string;
  pid?: number;
  bundle: string;
}

function toState(raw: RawState): ContainerState {
  const status =
    raw.status === 'created' || raw.status === 'running' || raw.status === 'paused'
      ? raw.status
      : 'stopped';
  return { id: raw.id, status, pid: raw.pid ?? 0, bundle: raw.bundle };
}

/**
 * The last error runc logged (JSON lines), bounded and printable, or null. What it says can
 * quote the image's config (a signed artifact, but not one to trust with a terminal).
 */
function lastError(logFile: string): string | null {
  let text: string;
  try {
    text = readFileSync(logFile, 'utf8').slice(-65_536);
  } catch {
    return null;
  }
  for (const line of text.split('\n').reverse()) {
    try {
      const entry = JSON.parse(line) as { level?: unknown; msg?: unknown };
      if (entry.level === 'error' && typeof entry.msg === 'string')
        // eslint-disable-next-line no-control-regex
        return entry.msg.replace(/[\u0000-\u001f\u007f]/g, '?').slice(0, 1000);
    } catch {
      // a partial or foreign line: look further back
    }
  }
  return null;
}
