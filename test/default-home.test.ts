import { spawnSync } from 'node:child_process';
import { chownSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { INGOT_BIN } from './helpers/cli.js';
import { useTempDirs } from './helpers/fs.js';

const tmp = useTempDirs();
/** `nobody`: the default home of a user who is not root. */
const NOBODY = 65534;

/** The built CLI as `nobody`, standing in `cwd`, with only the environment given. */
function asUser(cwd: string, env: Record<string, string>, ...args: string[]) {
  const r = spawnSync(
    'setpriv',
    [
      `--reuid=${NOBODY}`,
      `--regid=${NOBODY}`,
      '--clear-groups',
      process.execPath,
      INGOT_BIN,
      ...args,
    ],
    { cwd, env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', ...env }, encoding: 'utf8' },
  );
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

/** A folder `nobody` owns. */
function userDir(): string {
  const d = tmp();
  chownSync(d, NOBODY, NOBODY);
  return d;
}

describe('the default home', () => {
  it('is the same from every folder: ~/.local/state/ingot for a user, keys made in it', () => {
    const home = userDir();
    const [here, there] = [userDir(), userDir()];
    const made = asUser(here, { HOME: home }, 'key', 'generate', '--name', 'ci');
    expect(made.code, made.stderr).toBe(0);
    const keys = join(home, '.local', 'state', 'ingot', 'keys');
    // Not into the folder one stands in (a git work tree, perhaps), and said where.
    expect(made.stderr).toContain(join(keys, 'ci.key'));
    expect(statSync(keys).mode & 0o777).toBe(0o700);
    expect(statSync(join(home, '.local', 'state', 'ingot')).mode & 0o777).toBe(0o700);
    expect(statSync(join(keys, 'ci.key')).mode & 0o777).toBe(0o600);
    expect(readFileSync(join(keys, 'ci.pub'), 'utf8')).toMatch(/^-----BEGIN PUBLIC KEY-----/);

    // From another folder, the same home: the same name is taken there.
    const again = asUser(there, { HOME: home }, 'key', 'generate', '--name', 'ci', '-o', 'json');
    expect(again.code).toBe(1);
    expect(JSON.parse(again.stdout)).toMatchObject({
      error: { code: 'E_KEY_EXISTS', path: join(keys, 'ci.key') },
    });
  });

  it('follows XDG_STATE_HOME, and INGOT_HOME and --home win over it', () => {
    const home = userDir();
    const state = userDir();
    const named = userDir();
    const env = { HOME: home, XDG_STATE_HOME: state };
    expect(asUser(userDir(), env, 'key', 'generate', '--name', 'a').code).toBe(0);
    expect(statSync(join(state, 'ingot', 'keys', 'a.pub')).isFile()).toBe(true);
    const byVariable = asUser(
      userDir(),
      { ...env, INGOT_HOME: join(named, 'v') },
      'key',
      'generate',
      '--name',
      'b',
    );
    expect(byVariable.code, byVariable.stderr).toBe(0);
    expect(statSync(join(named, 'v', 'keys', 'b.pub')).isFile()).toBe(true);
    const byFlag = asUser(
      userDir(),
      { ...env, INGOT_HOME: join(named, 'v') },
      '--home',
      join(named, 'f'),
      'key',
      'generate',
      '--name',
      'c',
    );
    expect(byFlag.code, byFlag.stderr).toBe(0);
    expect(statSync(join(named, 'f', 'keys', 'c.pub')).isFile()).toBe(true);
  });

  it('is refused, with what to do, where there is no HOME to put it under', () => {
    const r = asUser(userDir(), {}, 'key', 'generate', '--name', 'x');
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('E_NO_HOME');
    expect(r.stderr).toContain('--home');
    // What never touches a home still runs.
    const version = asUser(userDir(), {}, 'version', '-o', 'json');
    expect(version.code, version.stderr).toBe(0);
    expect(asUser(userDir(), {}, 'completion', 'bash').code).toBe(0);
  });
});
