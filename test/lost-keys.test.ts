import { mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { LastCheckpointFile } from '../src/adapters/keys/ledger-last.js';
import { ledgerKey } from '../src/adapters/keys/ledger-key.js';
import { Checkpointer } from '../src/adapters/sql/checkpointer.js';
import { SqliteState } from '../src/adapters/sqlite/state.js';
import { ingot } from './helpers/cli.js';
import { useTempDirs } from './helpers/fs.js';

const tempDir = useTempDirs();

/** A home whose ledger was signed: entries, a checkpoint in state.db and beside the key. */
async function signedHome(): Promise<string> {
  const home = join(tempDir(), 'home');
  mkdirSync(home, { mode: 0o700 });
  const state = await SqliteState.open(join(home, 'state.db'));
  const key = ledgerKey(home);
  const ledger = state.ledger(new Checkpointer(key.privateKey, key.origin));
  await ledger.append([{ time: 1, actor: 'test', kind: 'key', subjects: [], detail: {} }]);
  new LastCheckpointFile(home).keep((await ledger.checkpoint(2)).note);
  await state.close();
  return home;
}

const files = (dir: string): Record<string, string> =>
  Object.fromEntries(readdirSync(dir).map((f) => [f, readFileSync(join(dir, f), 'base64')]));

describe('a lost key is refused, never replaced', () => {
  it('up without ledger.key refuses with E_LEDGER_KEY_LOST, writes nothing, and the ledger still verifies', async () => {
    const home = await signedHome();
    rmSync(join(home, 'keys', 'ledger.key'));
    const keysBefore = files(join(home, 'keys'));
    const homeBefore = readdirSync(home).sort();
    const env = { INGOT_HOME: home };
    const up = ingot(['up'], { env });
    expect(up.code).toBe(1);
    expect(up.stderr).toContain('(E_LEDGER_KEY_LOST)');
    expect(up.stderr).toContain('Restore ledger.key from your backup');
    expect(up.stderr).not.toMatch(/This is a bug|\n\s+at /);
    expect(files(join(home, 'keys'))).toEqual(keysBefore);
    // Not even a token or a signing key: only the server's log of why it refused.
    expect(readdirSync(home).filter((f) => !homeBefore.includes(f))).toEqual(['server.log']);
    const verify = ingot(['ledger', 'verify'], { env });
    expect(verify.code, verify.stderr).toBe(0);
  });

  it('up with the whole keys folder gone refuses too: the database holds signed checkpoints', async () => {
    const home = await signedHome();
    rmSync(join(home, 'keys'), { recursive: true });
    const up = ingot(['up'], { env: { INGOT_HOME: home } });
    expect(up.code).toBe(1);
    expect(up.stderr).toContain('(E_LEDGER_KEY_LOST)');
    expect(readdirSync(home)).not.toContain('keys');
  });

  it('build with local.key gone (local.pub kept) refuses with E_KEY_LOST instead of building unsigned', () => {
    const home = join(tempDir(), 'home');
    mkdirSync(join(home, 'keys'), { recursive: true, mode: 0o700 });
    expect(ingot(['key', 'generate', '--out', join(home, 'keys'), '--name', 'local']).code).toBe(0);
    rmSync(join(home, 'keys', 'local.key'));
    const r = ingot(['build', join(process.cwd(), 'examples', 'hello')], {
      env: { INGOT_HOME: home },
    });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('(E_KEY_LOST)');
    expect(readdirSync(join(home, 'keys'))).not.toContain('local.key');
  });
});
