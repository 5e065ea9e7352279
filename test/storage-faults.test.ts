import { spawnSync } from 'node:child_process';
import {
  closeSync,
  mkdirSync,
  openSync,
  readFileSync,
  statSync,
  truncateSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import SQLite from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SqliteState } from '../src/adapters/sqlite/state.js';
import { removeNet, requireHost, testNet, upArgs, type TestNet } from './helpers/agent.js';
import { ingot, type CliResult } from './helpers/cli.js';
import { useTempDirs } from './helpers/fs.js';

const HELLO = fileURLToPath(new URL('../examples/hello', import.meta.url));
const tempDir = useTempDirs();

/** Failed with `code`, said in words, and not as a crash: no "bug" and no stack. */
function refusedWith(r: CliResult | string, code: string): void {
  const text = typeof r === 'string' ? r : r.stderr;
  if (typeof r !== 'string') expect(r.code, r.stderr).toBe(1);
  expect(text).toContain(`(${code})`);
  expect(text).not.toMatch(/This is a bug|\n\s+at /);
}

// Builds and servers each: minutes, not seconds, on a busy shared machine.
describe(
  'the machine failing under Ingot: codes and next steps, never "a bug"',
  { timeout: 180_000 },
  () => {
    let net: TestNet;
    beforeAll(() => {
      requireHost();
      net = testNet();
    });
    afterAll(() => removeNet(net));
    /** `up` in the foreground: it refuses before it serves, or runs until the timeout. */
    const upHere = (home: string) =>
      ingot(
        upArgs(net).filter((a) => a !== '--detach'),
        { env: { INGOT_HOME: home } },
      );

    it('a full disk: build and up fail with E_DISK_FULL and what to do', () => {
      const home = join(tempDir(), 'home');
      mkdirSync(home, { mode: 0o700 });
      const mount = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=20m,mode=0700', 'tmpfs', home]);
      expect(mount.status, String(mount.stderr)).toBe(0);
      try {
        const env = { INGOT_HOME: home };
        expect(ingot(['build', HELLO], { env }).code).toBe(0);
        // Fill what is left, to the last byte.
        spawnSync('dd', ['if=/dev/zero', `of=${join(home, 'fill')}`, 'bs=64k']);
        const built = ingot(['build', HELLO], { env });
        refusedWith(built, 'E_DISK_FULL');
        expect(built.stderr).toContain('Free space on that filesystem');
        refusedWith(upHere(home), 'E_DISK_FULL');
      } finally {
        spawnSync('umount', [home]);
      }
    });

    it('a truncated state.db: E_STATE_CORRUPT with the file and the next step, not a raw SQLite error', () => {
      const home = join(tempDir(), 'home');
      const env = { INGOT_HOME: home };
      expect(ingot(['build', HELLO], { env }).code).toBe(0);
      truncateSync(join(home, 'state.db'), 10_000);
      const built = ingot(['build', HELLO], { env });
      refusedWith(built, 'E_STATE_CORRUPT');
      expect(built.stderr).toContain('restore it from a backup');
      const up = upHere(home);
      refusedWith(up, 'E_STATE_CORRUPT');
      expect(up.stderr).toContain(join(home, 'state.db'));
    });

    it('a corrupt page in the middle of state.db: up refuses after quick_check', async () => {
      const home = join(tempDir(), 'home');
      mkdirSync(home, { mode: 0o700 });
      const file = join(home, 'state.db');
      // A ledger of many pages, most of which a start does not read.
      const state = await SqliteState.open(file);
      for (let batch = 0; batch < 20; batch++)
        await state.append(
          Array.from({ length: 50 }, (_, i) => ({
            time: batch * 100 + i,
            actor: 'test',
            kind: 'note',
            subjects: [],
            detail: { pad: 'x'.repeat(300) },
          })),
        );
      await state.close();
      const size = statSync(file).size;
      expect(size).toBeGreaterThan(40 * 4096);
      const fd = openSync(file, 'r+');
      writeSync(fd, Buffer.alloc(4096, 0xa5), 0, 4096, Math.floor(size / 2 / 4096) * 4096);
      closeSync(fd);
      const env = { INGOT_HOME: home };
      try {
        const up = ingot(upArgs(net), { env });
        expect(up.code).toBe(1);
        const out = readFileSync(join(home, 'server.out'), 'utf8');
        refusedWith(out, 'E_STATE_CORRUPT');
        expect(out).toContain('quick_check');
      } finally {
        ingot(['down'], { env });
      }
    });

    it('checkpoints that cannot be signed are said loudly: server log, /metrics, ingot status', async () => {
      const home = join(tempDir(), 'home');
      const env = { INGOT_HOME: home };
      try {
        const up = ingot(upArgs(net), { env });
        expect(up.code, up.stderr).toBe(0);
        expect(ingot(['ledger', 'checkpoint'], { env }).code).toBe(0);
        expect(ingot(['status'], { env }).stderr).not.toContain('WARNING');
        // History rewritten under the running server: the next checkpoint must be refused.
        const db = new SQLite(join(home, 'state.db'));
        db.pragma('busy_timeout = 10000');
        db.exec('drop trigger ledger_entries_no_delete');
        db.exec('delete from ledger_entries where seq = (select max(seq) from ledger_entries)');
        db.close();
        const signed = ingot(['ledger', 'checkpoint'], { env });
        expect(signed.code).toBe(1);
        const status = ingot(['status'], { env });
        expect(status.code, status.stderr).toBe(0);
        expect(status.stderr).toMatch(
          /WARNING: ledger checkpoints cannot be signed since .* \(E_LEDGER_/,
        );
        const log = readFileSync(join(home, 'server.log'), 'utf8');
        expect(log).toContain('LEDGER CHECKPOINTS CANNOT BE SIGNED');
        const info = JSON.parse(readFileSync(join(home, 'server.json'), 'utf8')) as {
          host: string;
          port: number;
        };
        const token = readFileSync(join(home, 'token'), 'utf8').trim();
        const metrics = await fetch(`http://${info.host}:${info.port}/metrics`, {
          headers: { authorization: `Bearer ${token}` },
        }).then((r) => r.text());
        expect(metrics).toMatch(/^ingot_ledger_checkpoint_failing 1$/m);
        expect(metrics).toMatch(/^ingot_ledger_checkpoint_failures_total [1-9]/m);
      } finally {
        ingot(['down'], { env });
      }
    });
  },
);
