import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { makeProgram } from '../main.js';
import { completionScript } from './completion.js';
import { commandTree } from './tree.js';

const silent = { out: () => {}, err: () => {}, errIsTty: false, columns: 80, env: {} };
const tree = commandTree(
  await makeProgram(silent, () => Promise.resolve(), { version: '0', commit: null, dirty: null }),
);
const dir = mkdtempSync(join(tmpdir(), 'ingot-completion-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const bashFile = join(dir, 'ingot.bash');
writeFileSync(bashFile, completionScript('bash', tree));

/** What bash completes for `line` (the cursor at its end), driven as readline would. */
function complete(line: string): string[] {
  const words = line.split(' ');
  const script = `source "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=$((\${#COMP_WORDS[@]} - 1)); _ingot; printf '%s\\n' "\${COMPREPLY[@]}"`;
  const out = execFileSync('bash', ['--norc', '-c', script, 'bash', bashFile, ...words], {
    encoding: 'utf8',
    cwd: dir,
  });
  return out.split('\n').filter((w) => w !== '');
}

describe('bash completion', () => {
  it('completes a command from its first letters', () => {
    expect(complete('ingot de').sort()).toEqual(['debug', 'deploy', 'describe']);
    expect(complete('ingot ver').sort()).toEqual(['verify', 'verify-instances', 'version']);
  });

  it('completes subcommands, past global options and their values', () => {
    expect(complete('ingot ledger ').sort()).toEqual(
      ['checkpoint', 'export', 'log', 'prove', 'verify'].sort(),
    );
    expect(complete('ingot --home /tmp/h ledger v')).toEqual(['verify']);
  });

  it("completes a command's options, with the global ones", () => {
    expect(complete('ingot deploy --w')).toEqual(['--wait']);
    expect(complete('ingot key generate --o').sort()).toEqual(['--out', '--output']);
    expect(complete('ingot status --ho')).toEqual(['--home']);
  });

  it("completes an option's choices, and files for other values", () => {
    // A table takes wide; a command without one is not offered a format it would ignore.
    expect(complete('ingot images -o ').sort()).toEqual(['json', 'text', 'wide', 'yaml']);
    expect(complete('ingot version -o ').sort()).toEqual(['json', 'text', 'yaml']);
    writeFileSync(join(dir, 'fleet.yaml'), '');
    expect(complete('ingot deploy fle')).toEqual(['fleet.yaml']);
  });
});

describe('zsh and fish completion', () => {
  // Neither shell is installed here: the scripts' structure is checked instead.
  it('zsh: a #compdef script with every command and its description', () => {
    const zsh = completionScript('zsh', tree);
    expect(zsh.startsWith('#compdef ingot\n')).toBe(true);
    for (const c of tree.commands) expect(zsh).toContain(`${c.name}:`);
    expect(zsh).toContain('compdef _ingot ingot');
    // Single quotes balance: every table value is one quoted word.
    expect((zsh.replace(/'\\''/g, '').match(/'/g) ?? []).length % 2).toBe(0);
  });

  it('fish: a complete line per command, and every block closed', () => {
    const fish = completionScript('fish', tree);
    for (const c of tree.commands)
      expect(fish).toContain(`-n '__ingot_is \\'ingot\\'' -a '${c.name}'`);
    expect(fish).toContain(`-n '__ingot_is \\'ingot ledger\\'' -a 'verify'`);
    const lines = fish.split('\n').map((l) => l.trim());
    const opened = lines.filter((l) => /^(function|switch|for|if) /.test(l)).length;
    expect(lines.filter((l) => l === 'end').length).toBe(opened);
  });
});
