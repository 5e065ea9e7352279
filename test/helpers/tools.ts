import { execFileSync, spawnSync } from 'node:child_process';

/**
 * Integration tests use real peers. A missing one is a failure with the fix in the message,
 * never a silent skip.
 */
export function requireTool(name: string): void {
  const found = spawnSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' });
  if (found.status !== 0)
    throw new Error(
      `${name} is not installed: run ./scripts/setup (it installs the Debian package)`,
    );
}

export function run(
  cmd: string,
  args: readonly string[],
  options: { cwd?: string; env?: NodeJS.ProcessEnv } = {},
): string {
  return execFileSync(cmd, [...args], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
    ...options,
  });
}
