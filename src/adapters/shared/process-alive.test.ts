import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { isAlive, isSameProcess, looksLikeIngotUp, processStart } from './process-alive.js';

describe('process identity', () => {
  it('tells a process from a later one given the same pid', async () => {
    const me = processStart(process.pid);
    expect(me).toMatch(/^[0-9a-f-]{36}:\d+$/);
    expect(isSameProcess(process.pid, me!, () => false)).toBe(true);
    // The same pid recorded with another start: a reused pid, not the process recorded.
    expect(isSameProcess(process.pid, `${me!.split(':')[0]}:1`, () => true)).toBe(false);
    const child = spawn('sleep', ['5'], { stdio: 'ignore' });
    await new Promise((r) => setTimeout(r, 50));
    expect(processStart(child.pid!)).not.toBe(me);
    child.kill('SIGKILL');
    await new Promise((r) => child.on('exit', r));
    expect(isSameProcess(child.pid!, undefined, () => true)).toBe(false);
    expect(isAlive(0)).toBe(false);
  });

  it('without a recorded start, asks the command line', () => {
    expect(isSameProcess(process.pid, undefined, () => false)).toBe(false);
    expect(isSameProcess(process.pid, undefined, () => true)).toBe(true);
    expect(looksLikeIngotUp(['node', '/usr/lib/ingot/dist/bin/ingot.js', 'up'])).toBe(true);
    expect(looksLikeIngotUp(['/usr/local/bin/ingot', '--home', 'h', 'up', '-d'])).toBe(true);
    expect(looksLikeIngotUp(['sleep', '60'])).toBe(false);
    expect(looksLikeIngotUp(['node', 'notingot.js', 'up'])).toBe(false);
  });
});
