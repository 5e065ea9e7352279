import { spawnSync } from 'node:child_process';
import {
  chmodSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { removeNet, requireHost, sleep, testNet, upArgs, type TestNet } from './helpers/agent.js';
import { ingot, type CliResult } from './helpers/cli.js';
import { useTempDirs } from './helpers/fs.js';

const HELLO = fileURLToPath(new URL('../examples/hello', import.meta.url));
const BIN = fileURLToPath(new URL('../dist/bin/ingot.js', import.meta.url));
const SECRET = 'hunter2-do-not-leak';
const tempDir = useTempDirs();

/** `ingot ARGS` under umask 000: modes must come from Ingot, not from the caller's umask. */
function ingotUmask0(args: readonly string[], env: Record<string, string>): CliResult {
  const r = spawnSync('sh', ['-c', 'umask 000 && exec "$0" "$@"', process.execPath, BIN, ...args], {
    env: { ...process.env, ...env },
    encoding: 'utf8',
    timeout: 120_000,
  });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

/**
 * Search (x, never r or w) for others on the folders runc passes through into an instance's
 * user namespace (rootfs/id-gate.ts): nothing can be listed or read through them.
 */
const searchOnly = (name: string, dir: boolean): number =>
  dir && ['.', 'rootfs', 'volumes'].includes(name) ? 0o011 : 0;

/** Every path in the home others can reach: modes with group or other bits set. */
function openToOthers(home: string): string[] {
  const found: string[] = [];
  const walk = (dir: string, rel: string): void => {
    for (const entry of readdirSync(dir)) {
      const path = join(dir, entry);
      const name = rel ? `${rel}/${entry}` : entry;
      const st = lstatSync(path);
      if (st.isSymbolicLink()) continue;
      if ((st.mode & 0o077 & ~searchOnly(name, st.isDirectory())) !== 0)
        found.push(`${name} ${(st.mode & 0o777).toString(8)}`);
      // Artifact content keeps its modes (measured): it sits behind private folders.
      if (st.isDirectory() && !['store', 'rootfs', 'volumes'].includes(name)) walk(path, name);
    }
  };
  if ((statSync(home).mode & 0o077 & ~searchOnly('.', true)) !== 0) found.push('.');
  walk(home, '');
  return found;
}

async function waitFor(done: () => boolean, timeoutMs = 45_000): Promise<void> {
  for (const until = Date.now() + timeoutMs; Date.now() < until; await sleep(250))
    if (done()) return;
  throw new Error('timed out');
}

/** What the user `nobody` gets when reading `file`: exit code and output. */
const readAsNobody = (file: string) =>
  spawnSync('runuser', ['-u', 'nobody', '--', 'cat', file], { encoding: 'utf8' });

/** A folder anyone can traverse: only the home's own modes stand between nobody and it. */
function openRoot(): string {
  const root = tempDir();
  chmodSync(root, 0o755);
  return root;
}

// Builds, a server and a container each: minutes, not seconds, on a busy shared machine.
describe(
  'the home and its files are private, whichever command made them',
  { timeout: 180_000 },
  () => {
    let net: TestNet;

    beforeAll(() => {
      requireHost();
      net = testNet();
    });
    afterAll(() => removeNet(net));

    it('ingot build, then up and a deploy, under umask 000: home 0700, files 0600, nobody reads nothing', async () => {
      const root = openRoot();
      const home = join(root, 'built');
      const env = { INGOT_HOME: home };
      const built = ingotUmask0(['build', HELLO], env);
      expect(built.code, built.stderr).toBe(0);
      expect(statSync(home).mode & 0o777).toBe(0o700);
      expect(openToOthers(home)).toEqual([]);
      const fleet = join(root, 'fleet.yaml');
      writeFileSync(
        fleet,
        readFileSync(join(HELLO, 'fleet.yaml'), 'utf8')
          .replace(/^replicas: \d+$/m, 'replicas: 1')
          .replace('GREETING: hello', `GREETING: hello\n  DB_PASSWORD: ${SECRET}`),
      );
      try {
        const up = ingotUmask0(upArgs(net), env);
        expect(up.code, up.stderr).toBe(0);
        // Again, signed now with the key the first start made: what the server admits.
        const signed = ingotUmask0(['build', HELLO], env);
        expect(signed.code, signed.stderr).toBe(0);
        const deployed = ingotUmask0(['deploy', fleet], env);
        expect(deployed.code, deployed.stderr).toBe(0);
        // Healthy: the instance's unprivileged user reaches its rootfs (made under umask 077).
        await waitFor(() => {
          const r = ingot(['status', '-o', 'json'], { env });
          return r.code === 0 && r.stdout.includes('"state": "healthy"');
        });
        for (const f of ['state.db', 'state.db-wal', 'server.log', 'token', 'keys/local.key'])
          expect(statSync(join(home, f)).mode & 0o777, f).toBe(0o600);
        expect(openToOthers(home)).toEqual([]);
        expect(readFileSync(join(home, 'state.db-wal')).includes(SECRET)).toBe(true);
        for (const f of ['state.db', 'state.db-wal', 'token', 'server.log']) {
          const r = readAsNobody(join(home, f));
          expect(r.status, f).not.toBe(0);
          expect(r.stderr).toMatch(/Permission denied/);
          expect(r.stdout).not.toContain(SECRET);
        }
      } finally {
        ingot(['down', '--stop-instances'], { env });
      }
    });

    it('up repairs a 0755 home with 0644 files, says what it repaired, and nobody is refused after', () => {
      const home = join(openRoot(), 'loose');
      const env = { INGOT_HOME: home };
      try {
        const first = ingot(upArgs(net), { env });
        expect(first.code, first.stderr + readFileSync(join(home, 'server.out'), 'utf8')).toBe(0);
        const down = ingot(['down'], { env });
        expect(down.code, down.stderr).toBe(0);
        // As an older Ingot, or a home made by hand, left it.
        chmodSync(home, 0o755);
        mkdirSync(join(home, 'cache'), { mode: 0o755 });
        const loose = ['state.db', 'server.log', 'token', 'keys/ledger.key', 'keys/local.pub'];
        for (const f of loose) chmodSync(join(home, f), 0o644);
        chmodSync(join(home, 'keys'), 0o755);
        const before = readAsNobody(join(home, 'state.db'));
        expect(before.status, before.stderr).toBe(0);
        const up = ingot(upArgs(net), { env });
        expect(up.code, up.stderr).toBe(0);
        const said = readFileSync(join(home, 'server.out'), 'utf8');
        expect(said).toContain('made private in');
        for (const f of [
          '. 755→700',
          'state.db 644→600',
          'keys 755→700',
          'keys/ledger.key 644→600',
        ])
          expect(said).toContain(f);
        expect(readFileSync(join(home, 'server.log'), 'utf8')).toContain(
          'file modes in the home repaired',
        );
        expect(openToOthers(home)).toEqual([]);
        expect(readAsNobody(join(home, 'state.db')).status).not.toBe(0);
      } finally {
        ingot(['down'], { env });
      }
    });
  },
);
