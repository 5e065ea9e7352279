import { execFileSync } from 'node:child_process';
import type { GitSource } from '../../core/attest/provenance.js';

export interface GitWorkTree extends GitSource {
  /** Absolute path of the work tree's top folder. */
  readonly root: string;
}

/**
 * Hooks, fsmonitor and custom diff drivers are programs a repository can name in its own
 * config: a repository handed to the builder must not get to run code through `git status`.
 */
const SAFE = [
  '-c',
  'core.fsmonitor=false',
  '-c',
  'core.hooksPath=/dev/null',
  '-c',
  'diff.external=',
  '--no-pager',
];

function git(dir: string, args: readonly string[]): string | null {
  try {
    return execFileSync('git', [...SAFE, '-C', dir, ...args], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
      timeout: 30_000,
      maxBuffer: 16 * 1024 * 1024,
      env: { ...process.env, GIT_OPTIONAL_LOCKS: '0', GIT_TERMINAL_PROMPT: '0', LC_ALL: 'C' },
    }).trimEnd();
  } catch {
    return null;
  }
}

/**
 * The git work tree holding `dir`, if any: HEAD's commit, the origin remote, and whether
 * anything under `dir` differs from HEAD (tracked changes or untracked, unignored files).
 * Returns null outside a work tree, or when git is missing or the repository has no commit.
 */
export function describeGit(dir: string): GitWorkTree | null {
  const root = git(dir, ['rev-parse', '--show-toplevel']);
  if (root === null || root === '') return null;
  const commit = git(dir, ['rev-parse', '--verify', 'HEAD^{commit}']);
  if (commit === null || !/^[0-9a-f]{40,64}$/.test(commit)) return null;
  const status = git(dir, ['status', '--porcelain=v1', '--untracked-files=normal', '--', '.']);
  const remote = git(dir, ['config', '--get', 'remote.origin.url']);
  return {
    root,
    commit,
    remote: remote ? withoutCredentials(remote) : null,
    // If status cannot be read, the tree cannot be vouched for: call it dirty.
    dirty: status === null || status !== '',
  };
}

/** `https://user:token@host/x` → `https://host/x`: provenance is public, tokens are not. */
export function withoutCredentials(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.username || parsed.password) {
      parsed.username = '';
      parsed.password = '';
      return parsed.toString();
    }
    return url;
  } catch {
    return url; // scp-like `git@host:org/repo.git` carries no secret
  }
}
