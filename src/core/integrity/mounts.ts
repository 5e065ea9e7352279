/**
 * The mount table of a running instance, checked against the runtime config the agent
 * wrote for it. The threat: a privileged actor who enters the container's mount namespace
 * (nsenter, setns) and remounts the root read-write, lifts noexec from a tmpfs, or
 * bind-mounts other content over a measured path. None of that touches a file of the
 * rootfs, so only the mount table shows it.
 */

/** One line of /proc/<pid>/mountinfo, as far as the check needs it. */
export interface MountEntry {
  /** Where it is mounted, as the instance sees it. */
  readonly mountPoint: string;
  /** Per-mount flags: ro or rw, nosuid, nodev, noexec, … */
  readonly options: ReadonlySet<string>;
  readonly fsType: string;
}

/** The part of an OCI runtime config that says what is mounted where. */
export interface ExpectedMounts {
  readonly root: { readonly readonly: boolean };
  readonly mounts: readonly {
    readonly destination: string;
    readonly options?: readonly string[];
  }[];
  readonly linux: {
    readonly maskedPaths?: readonly string[];
    readonly readonlyPaths?: readonly string[];
    /** Present when the instance has a user namespace (see USERNS_DEVICES). */
    readonly uidMappings?: readonly unknown[];
  };
}

/**
 * runc's default devices. In a user namespace the kernel lets no one make a device node, so
 * runc bind-mounts the host's instead: each is then a mount of its own in the instance.
 */
export const USERNS_DEVICES = [
  '/dev/null',
  '/dev/zero',
  '/dev/full',
  '/dev/random',
  '/dev/urandom',
  '/dev/tty',
] as const;

export interface MountDrift {
  readonly path: string;
  readonly expected: string;
  readonly actual: string;
}

/** Octal escapes the kernel writes in mountinfo paths (space, tab, newline, backslash). */
function unescape(field: string): string {
  return field.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
}

/** proc(5): "36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root rw,errors=continue". */
export function parseMountinfo(text: string): MountEntry[] {
  const out: MountEntry[] = [];
  for (const line of text.split('\n')) {
    if (line === '') continue;
    const fields = line.split(' ');
    const dash = fields.indexOf('-', 6);
    if (fields.length < 10 || dash < 0 || fields[4] === undefined || fields[5] === undefined)
      throw new Error(`unreadable mountinfo line: ${JSON.stringify(line.slice(0, 200))}`);
    out.push({
      mountPoint: unescape(fields[4]),
      options: new Set(fields[5].split(',')),
      fsType: fields[dash + 1] ?? '',
    });
  }
  return out;
}

/** Flags a mount must keep: they are what make its content inert or immutable. */
const ENFORCED = ['ro', 'nosuid', 'nodev', 'noexec'] as const;

/**
 * Every difference that matters between what is mounted and what the config says: a mount
 * the config does not name, a mount point mounted twice (something stacked over it), a
 * configured mount that is gone, and a mount that lost ro, nosuid, nodev or noexec.
 * Masked and read-only kernel paths are allowed once each (runc skips those that do not
 * exist). Pure.
 */
export function checkMounts(expected: ExpectedMounts, table: readonly MountEntry[]): MountDrift[] {
  const drifts: MountDrift[] = [];
  const wanted = new Map<string, readonly string[]>();
  wanted.set('/', expected.root.readonly ? ['ro'] : []);
  for (const m of expected.mounts) wanted.set(m.destination, m.options ?? []);
  const optional = new Set([
    ...(expected.linux.maskedPaths ?? []),
    ...(expected.linux.readonlyPaths ?? []),
    ...((expected.linux.uidMappings ?? []).length > 0 ? USERNS_DEVICES : []),
  ]);
  const seen = new Map<string, number>();
  for (const m of table) {
    const n = (seen.get(m.mountPoint) ?? 0) + 1;
    seen.set(m.mountPoint, n);
    const options = wanted.get(m.mountPoint);
    if (options === undefined && !optional.has(m.mountPoint)) {
      drifts.push({ path: m.mountPoint, expected: 'no mount', actual: `${m.fsType} mounted` });
      continue;
    }
    if (n > 1) {
      drifts.push({ path: m.mountPoint, expected: 'mounted once', actual: `mounted ${n} times` });
      continue;
    }
    for (const flag of ENFORCED)
      if (options?.includes(flag) && !m.options.has(flag))
        drifts.push({
          path: m.mountPoint,
          expected: flag,
          actual: flag === 'ro' ? 'rw' : `without ${flag}`,
        });
    // A read-only kernel path must stay read-only.
    if (expected.linux.readonlyPaths?.includes(m.mountPoint) && !m.options.has('ro'))
      drifts.push({ path: m.mountPoint, expected: 'ro', actual: 'rw' });
  }
  for (const path of wanted.keys())
    if (!seen.has(path)) drifts.push({ path, expected: 'mounted', actual: 'not mounted' });
  return drifts;
}

/** A mount as compared with the baseline: where, and with which per-mount flags. */
function key(m: MountEntry): string {
  return `${m.mountPoint}\u0000${[...m.options].sort().join(',')}\u0000${m.fsType}`;
}

/**
 * The table against the one taken when the instance started (checked then against its
 * config): any mount gone, added, or whose flags changed. This catches what the config
 * check allows for, such as a masked or read-only kernel path unmounted later. Pure.
 */
export function compareMounts(
  baseline: readonly MountEntry[],
  table: readonly MountEntry[],
): MountDrift[] {
  const count = (list: readonly MountEntry[]) => {
    const m = new Map<string, { entry: MountEntry; n: number }>();
    for (const e of list) {
      const k = key(e);
      const c = m.get(k);
      if (c) c.n++;
      else m.set(k, { entry: e, n: 1 });
    }
    return m;
  };
  const before = count(baseline);
  const now = count(table);
  const drifts: MountDrift[] = [];
  const show = (e: MountEntry) => `${e.fsType} ${[...e.options].sort().join(',')}`;
  for (const [k, { entry, n }] of before)
    if ((now.get(k)?.n ?? 0) < n)
      drifts.push({ path: entry.mountPoint, expected: show(entry), actual: 'changed or gone' });
  for (const [k, { entry, n }] of now)
    if ((before.get(k)?.n ?? 0) < n)
      drifts.push({ path: entry.mountPoint, expected: 'as at start', actual: show(entry) });
  return drifts;
}
