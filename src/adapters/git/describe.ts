import { execFileSync } from 'node:child_process';
import { isAbsolute, relative, resolve, sep } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { GitSource } from '../../core/attest/provenance.js';

export interface GitWorkTree extends GitSource {
  /** Absolute path of the work tree's top folder. */
  readonly root: string;
}

/**
 * A repository names programs in its own config — hooks, fsmonitor, diff drivers, and the
 * clean/smudge/process filters that `.gitattributes` attaches to paths — and `git status`
 * would run them. The repository is handed to the builder by whoever wrote it: it must not
 * get to run code. Hooks, fsmonitor and external diff are switched off here; filters are
 * switched off by name (see filterOverrides); submodules, whose config we do not read, are
 * not descended into.
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
      maxBuffer: 64 * 1024 * 1024,
      env: { ...process.env, GIT_OPTIONAL_LOCKS: '0', GIT_TERMINAL_PROMPT: '0', LC_ALL: 'C' },
    }).trimEnd();
  } catch {
    return null;
  }
}

/** `-c filter.<name>.clean= …` for every filter the repository's config defines. */
function filterOverrides(dir: string): string[] {
  // Reading config runs nothing; an empty driver makes git pass content through as is.
  const listed = git(dir, ['config', '--null', '--get-regexp', '^filter\\.']) ?? '';
  const names = new Set<string>();
  for (const record of listed.split('\0')) {
    const key = record.split('\n', 1)[0] ?? '';
    const name = /^filter\.(.+)\.[^.]+$/.exec(key)?.[1];
    if (name) names.add(name);
  }
  return [...names].flatMap((name) =>
    ['clean', 'smudge', 'process'].flatMap((kind) => ['-c', `filter.${name}.${kind}=`]),
  );
}

/**
 * The git work tree holding `dir`, if any: HEAD's commit, the origin remote, whether anything
 * under `dir` differs from HEAD (tracked changes or untracked, unignored files), and how many
 * of `inputs` (absolute paths of files the build read) git ignores: those are sources that
 * no commit holds. Null outside a work tree, when git is missing, or with no commit yet.
 */
export function describeGit(dir: string, inputs: readonly string[] = []): GitWorkTree | null {
  const root = git(dir, ['rev-parse', '--show-toplevel']);
  if (root === null || root === '') return null;
  const commit = git(dir, ['rev-parse', '--verify', 'HEAD^{commit}']);
  if (commit === null || !/^[0-9a-f]{40,64}$/.test(commit)) return null;
  const status = git(dir, [
    ...filterOverrides(dir),
    'status',
    '--porcelain=v1',
    '--untracked-files=normal',
    '--ignore-submodules=all',
    '--',
    '.',
  ]);
  const remote = git(dir, ['config', '--get', 'remote.origin.url']);
  let ignoredInputs = 0;
  if (inputs.length > 0) {
    const ignored = git(dir, [
      'ls-files',
      '-z',
      '--others',
      '--ignored',
      '--exclude-standard',
      '--',
      '.',
    ]);
    const set = new Set((ignored ?? '').split('\0').filter(Boolean));
    // ls-files prints paths relative to the folder it runs in, `dir`.
    for (const input of inputs)
      if (set.has(relative(dir, input).split(sep).join('/'))) ignoredInputs++;
  }
  return {
    root,
    commit,
    remote: remote ? remoteUri(remote, root) : null,
    // If status cannot be read, the tree cannot be vouched for: call it dirty.
    dirty: status === null || status !== '',
    ignoredInputs,
  };
}

/**
 * The origin as a URI, as SLSA's ResourceDescriptor asks: a URL or scp-like address without
 * its credentials, and a remote that is a folder on this machine (`/srv/repo.git`, or a path
 * relative to the work tree, as git reads it) as a `file://` URL.
 */
export function remoteUri(remote: string, root: string): string {
  const uri = withoutCredentials(remote);
  if (/^[A-Za-z][A-Za-z0-9+.-]*:\/\//.test(uri)) return uri;
  return pathToFileURL(isAbsolute(uri) ? uri : resolve(root, uri)).href;
}

/**
 * `https://user:token@host/x` → `https://host/x`: provenance is public, tokens are not.
 * scp-like `git@host:org/repo.git` becomes `ssh://git@host/org/repo.git`, a URI.
 */
export function withoutCredentials(url: string): string {
  const scp = /^([A-Za-z0-9._-]+@)?([A-Za-z0-9.-]+):(?!\/\/)(.+)$/.exec(url);
  if (scp) return `ssh://${scp[1] ?? ''}${scp[2]}/${scp[3]!.replace(/^\//, '')}`;
  try {
    const parsed = new URL(url);
    if (parsed.username || parsed.password) {
      parsed.username = parsed.protocol === 'ssh:' ? parsed.username : '';
      parsed.password = '';
      return parsed.toString();
    }
    return url;
  } catch {
    return url;
  }
}
