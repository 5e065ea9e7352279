import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';

/**
 * A real Debian root, as a new user would bring one: `mmdebstrap --variant=minbase` with
 * python3-minimal (~190 MB, ~9,000 paths, device nodes in /dev), put into an OCI layout by
 * umoci. Made once and cached, since it takes a minute and fetches packages:
 *
 *   $INGOT_TEST_CACHE (default /var/cache/ingot-test)/debian-<key>/layout   tag "bookworm"
 *
 * The key hashes the mmdebstrap arguments, the machine's apt sources and the month, so a
 * changed source or a new month's security updates make a fresh one (older ones are
 * removed). Built into a staging folder and renamed: a run that is stopped halfway leaves
 * nothing a later run would take for a finished base.
 */
export const DEBIAN_ARGS = [
  '--variant=minbase',
  '--include=python3-minimal',
  '--format=tar',
  'bookworm',
] as const;

export function debianBaseLayout(): { layout: string; tag: string } {
  const cache = process.env['INGOT_TEST_CACHE'] || '/var/cache/ingot-test';
  const key = createHash('sha256')
    .update(JSON.stringify(DEBIAN_ARGS))
    .update(aptSources())
    .update(new Date().toISOString().slice(0, 7))
    .digest('hex')
    .slice(0, 16);
  const final = join(cache, `debian-${key}`);
  const layout = join(final, 'layout');
  if (existsSync(join(final, 'ready'))) return { layout, tag: 'bookworm' };

  mkdirSync(cache, { recursive: true, mode: 0o755 });
  const staging = join(cache, `.staging-${key}-${process.pid}`);
  rmSync(staging, { recursive: true, force: true });
  mkdirSync(staging);
  try {
    const tar = join(staging, 'root.tar');
    // A fixed epoch keeps the archive's timestamps (and so the base's digest) independent
    // of when the cache was made.
    execFileSync('mmdebstrap', ['--quiet', ...DEBIAN_ARGS, tar], {
      stdio: ['ignore', 'ignore', 'pipe'],
      env: { ...process.env, SOURCE_DATE_EPOCH: '1700000000' },
      timeout: 15 * 60_000,
    });
    const at = join(staging, 'layout');
    const umoci = (...args: string[]) =>
      execFileSync('umoci', args, { stdio: ['ignore', 'ignore', 'pipe'], timeout: 5 * 60_000 });
    umoci('init', '--layout', at);
    umoci('new', '--image', `${at}:bookworm`);
    umoci('raw', 'add-layer', '--image', `${at}:bookworm`, tar);
    rmSync(tar);
    execFileSync('touch', [join(staging, 'ready')]);
    for (const old of readdirSync(cache))
      if (old.startsWith('debian-') && old !== `debian-${key}`)
        rmSync(join(cache, old), { recursive: true, force: true });
    try {
      renameSync(staging, final);
    } catch (err) {
      // Another run made it meanwhile: theirs is as good as ours.
      if (!existsSync(join(final, 'ready'))) throw err;
      rmSync(staging, { recursive: true, force: true });
    }
  } catch (err) {
    rmSync(staging, { recursive: true, force: true });
    throw err;
  }
  return { layout, tag: 'bookworm' };
}

function aptSources(): string {
  const files = ['/etc/apt/sources.list'];
  const dir = '/etc/apt/sources.list.d';
  if (existsSync(dir)) files.push(...readdirSync(dir).map((f) => join(dir, f)));
  return files
    .filter((f) => existsSync(f))
    .sort()
    .map((f) => readFileSync(f, 'utf8'))
    .join('\n');
}
