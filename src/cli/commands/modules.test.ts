import { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { makeProgram } from '../main.js';
import { COMMAND_MODULES, moduleOf } from './modules.js';

const silent = { out: () => {}, err: () => {}, errIsTty: false, columns: 80, env: {} };
const build = { version: '0', commit: null, dirty: null };
const names = (program: Command) => program.commands.map((c) => c.name());

describe('the command modules', () => {
  it('each adds exactly the commands it names, and together every command, in order', async () => {
    const whole = names(await makeProgram(silent, () => Promise.resolve(), build));
    expect(whole).toEqual(COMMAND_MODULES.flatMap((m) => m.names));
    for (const m of COMMAND_MODULES) {
      const program = new Command('ingot');
      (await m.load())(program, () => Promise.resolve(), build);
      expect(names(program)).toEqual(m.names);
    }
  });
});

describe('moduleOf', () => {
  const of = (...argv: string[]) => moduleOf(argv)?.names[0] ?? null;

  it('finds the command after the global options and their values', () => {
    expect(of('pull', 'r/x:1', '--plain-http')).toBe('pull');
    expect(of('--home', '/h', 'push', 'a', 'b')).toBe('push');
    expect(of('--home=/h', '--server', 'https://x', 'status')).toBe('plan');
    expect(of('--token-file', 'push', 'build')).toBe('build');
    expect(of('what-ran', 'x')).toBe('ledger');
  });

  it('loads everything when the command is not certain', () => {
    expect(of()).toBeNull();
    expect(of('--help')).toBeNull();
    expect(of('-V', 'push')).toBeNull();
    expect(of('--verbose', 'push')).toBeNull();
    expect(of('--homes=/h', 'push')).toBeNull();
    expect(of('help', 'push')).toBeNull();
    expect(of('psh')).toBeNull();
    expect(of('completion', 'bash')).toBeNull();
    expect(of('--home')).toBeNull();
  });
});

describe('a program of one module', () => {
  it('parses its command as the whole program does', async () => {
    const seen: string[][] = [];
    const argv = ['--home', '/h', 'push', 'app:1', 'r.example/app:2', '--plain-http', '-o', 'json'];
    for (const modules of [COMMAND_MODULES, [moduleOf(argv)!]]) {
      let opts: unknown = null;
      const program = await makeProgram(
        silent,
        (_fn, format) => {
          opts = [program.opts(), format()];
          return Promise.resolve();
        },
        build,
        modules,
      );
      await program.parseAsync(argv, { from: 'user' });
      seen.push([JSON.stringify(opts)]);
    }
    expect(seen[0]).toEqual(seen[1]);
    expect(seen[0]![0]).toContain('"home":"/h"');
    expect(seen[0]![0]).toContain('json');
  });
});
