import { isAbsolute, join } from 'node:path';

/** Root's home, whatever folder it stands in: a system's state lives under /var/lib. */
export const ROOT_HOME = '/var/lib/ingot';

/**
 * The home (`$INGOT_HOME`) when neither `--home` nor `INGOT_HOME` names one. Fixed, so that
 * every folder a user stands in reaches the same server and store (a default relative to the
 * working folder made `ingot status` from another folder say "not running"):
 * `/var/lib/ingot` for root; otherwise `$XDG_STATE_HOME/ingot`, else
 * `$HOME/.local/state/ingot` (the XDG base directory spec's state folder: data that outlives
 * a restart but is not worth backing up as configuration). Relative values are ignored, as
 * the spec says: a relative one would bring the working folder back in. Null when there is
 * none (no absolute HOME: a service without a home must name one). Pure.
 */
export function defaultHome(
  uid: number | undefined,
  env: Readonly<Record<string, string | undefined>>,
): string | null {
  if (uid === 0) return ROOT_HOME;
  const state = env['XDG_STATE_HOME'];
  if (state !== undefined && isAbsolute(state)) return join(state, 'ingot');
  const home = env['HOME'];
  if (home !== undefined && isAbsolute(home)) return join(home, '.local', 'state', 'ingot');
  return null;
}

/** How `defaultHome` reads to a user, for `--help`. */
export const DEFAULT_HOME_TEXT = `${ROOT_HOME} as root, else $XDG_STATE_HOME/ingot (~/.local/state/ingot)`;
