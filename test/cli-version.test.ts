import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { ingot } from './helpers/cli.js';

/** The built `ingot` names the commit it was built from (scripts/build.ts stamps it). */
describe('ingot version', () => {
  const head = execFileSync('git', ['rev-parse', 'HEAD'], { encoding: 'utf8' }).trim();

  it('-o json gives the version, the commit, whether the tree was dirty, and Node', () => {
    const r = ingot(['version', '-o', 'json']);
    expect(r.code).toBe(0);
    const report = JSON.parse(r.stdout) as Record<string, unknown>;
    expect(Object.keys(report).sort()).toEqual(['commit', 'dirty', 'node', 'version']);
    expect(report['version']).toMatch(/^\d+\.\d+\.\d+/);
    // Built from this tree at its HEAD (npm test builds first).
    expect(report['commit']).toMatch(/^[0-9a-f]{40}$/);
    expect(report['commit']).toBe(head);
    expect(typeof report['dirty']).toBe('boolean');
    expect(report['node']).toBe(process.version);
  });

  it('--version says the same in one line, and so does it after a global option', () => {
    const fast = ingot(['--version']);
    expect(fast.code).toBe(0);
    const json = JSON.parse(ingot(['version', '-o', 'json']).stdout) as { version: string };
    expect(fast.stdout).toMatch(
      new RegExp(`^${json.version} \\(${head.slice(0, 12)}(, dirty)?\\)\\n$`),
    );
    const slow = ingot(['--home', '/nonexistent', '--version']);
    expect(slow.stdout).toBe(fast.stdout);
  });
});
