import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { exitFileOf, oomKills, prctlNumber, readShimExit, SHIM_SCRIPT } from './shim.js';

/**
 * The shim for real (perl, prctl), with a stand-in for `runc create` that does what matters
 * here: it leaves a process behind, writes its pid and exits, so that the orphan is
 * re-parented to the shim, which must reap it and record how it ended.
 */
function runShim(
  bundle: string,
  create: string,
): Promise<{ said: string; shimExit: number | null }> {
  const pidFile = join(bundle, 'pid');
  return new Promise((resolve) => {
    const child = spawn(
      'perl',
      [
        '-e',
        SHIM_SCRIPT,
        String(prctlNumber()),
        exitFileOf(bundle),
        pidFile,
        'sh',
        '-c',
        create,
        'sh',
        pidFile,
      ],
      { stdio: ['ignore', 'ignore', 'ignore', 'pipe'] },
    );
    let said = '';
    (child.stdio[3] as NodeJS.ReadableStream).on('data', (c: Buffer) => (said += c.toString()));
    child.on('exit', (code) => resolve({ said, shimExit: code }));
  });
}

describe('the runc shim', () => {
  let bundle: string;
  beforeEach(() => {
    bundle = mkdtempSync(join(tmpdir(), 'ingot-shim-'));
  });
  afterEach(() => rmSync(bundle, { recursive: true, force: true }));

  it('reaps the orphaned init and records its exit code', async () => {
    const r = await runShim(bundle, '(sleep 0.2; exit 7) & echo $! > "$1"; exit 0');
    expect(r.said).toBe('0\n');
    expect(readShimExit(bundle)).toEqual({ code: 7 });
    expect(existsSync(`${exitFileOf(bundle)}.tmp`)).toBe(false);
  });

  it('records the signal that killed it', async () => {
    // The orphan reads its own pid from the pid file and kills itself, as the OOM killer would.
    await runShim(bundle, '(sleep 0.2; kill -KILL "$(cat "$1")"; sleep 5) & echo $! > "$1"');
    expect(readShimExit(bundle)).toEqual({ signal: 9 });
  });

  it('reports a failed create and records nothing', async () => {
    const r = await runShim(bundle, 'exit 3');
    expect(r.said).toBe('3\n');
    expect(readShimExit(bundle)).toBeNull();
  });

  it('reads only small integers from the record', () => {
    for (const bad of ['{"code":-1}', '{"code":1.5}', '{"signal":99}', '[]', 'null', '{']) {
      writeFileSync(exitFileOf(bundle), bad);
      expect(readShimExit(bundle)).toBeNull();
    }
    writeFileSync(exitFileOf(bundle), '{"signal":9}');
    expect(readShimExit(bundle)).toEqual({ signal: 9 });
  });

  it('counts OOM kills from cgroup v2 or v1, and never leaves the cgroup root', () => {
    const root = mkdtempSync(join(tmpdir(), 'ingot-cg-'));
    try {
      writeFileSync(join(root, 'memory.events'), 'low 0\noom 2\noom_kill 2\n');
      expect(oomKills('/', root)).toBe(2);
      expect(oomKills('/../x', root)).toBe(0);
      expect(oomKills('/nope', root)).toBe(0);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});
