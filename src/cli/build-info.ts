/** What this `ingot` was built from, stamped by scripts/build.ts (bin/build-info.ts). */
export interface BuildInfo {
  readonly version: string;
  /** The git commit of the build, or null where it was not built from a git tree (or not built). */
  readonly commit: string | null;
  /** Whether the build's inputs differed from that commit; null where the commit is unknown. */
  readonly dirty: boolean | null;
}

/** `ingot --version`: the version first, so that `cut -d' ' -f1` gives it alone. */
export function versionLine(build: BuildInfo): string {
  if (build.commit === null) return `${build.version} (commit unknown)`;
  return `${build.version} (${build.commit.slice(0, 12)}${build.dirty === true ? ', dirty' : ''})`;
}
