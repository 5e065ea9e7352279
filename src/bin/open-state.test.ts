import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { SqliteState } from '../adapters/sqlite/state.js';
import { openState } from './open-state.js';

const dir = mkdtempSync(join(tmpdir(), 'ingot-open-state-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const codeOf = (p: Promise<unknown>) =>
  p.then(
    () => undefined,
    (e: { code?: string; message?: string }) => ({ code: e.code, message: e.message }),
  );

describe('openState', () => {
  it('opens a file path as SQLite (the default)', async () => {
    const state = await openState(join(dir, 'state.db'), { check: true });
    try {
      expect(state).toBeInstanceOf(SqliteState);
      expect(await state.append([])).toEqual([]);
    } finally {
      await state.close();
    }
  });

  it('refuses another scheme, without repeating its credentials', async () => {
    const r = await codeOf(openState('mysql://root:hunter2@db/ingot'));
    expect(r?.code).toBe('E_USAGE');
    expect(r?.message).not.toContain('hunter2');
  });

  it('says where PostgreSQL could not be reached, and hides the password', async () => {
    // Port 1 on loopback: nothing listens there, the connection is refused at once.
    const r = await codeOf(openState('postgres://ingot:s3cret@127.0.0.1:1/ingot'));
    expect(r?.code).toBe('E_STATE_UNREACHABLE');
    expect(r?.message).toContain('postgres://ingot:***@127.0.0.1:1/ingot');
    expect(r?.message).not.toContain('s3cret');
  });
});
