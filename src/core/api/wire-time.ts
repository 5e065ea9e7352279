import * as z from 'zod';

/**
 * A time on the wire: an RFC 3339 string (the server writes UTC, `toISOString()`), so that
 * what `-o json` prints and what /openapi.json declares (`format: date-time`) is read the
 * same by people, `jq` and other tools. Storage keeps milliseconds since the epoch; the
 * handlers turn them into this on the way out (onWire), and a client reads them back with
 * Date.parse. An offset other than Z is accepted from a server that writes one.
 */
export const wireTime = z.iso.datetime({ offset: true });

/** Milliseconds since the epoch as RFC 3339 (UTC). */
export const timeOnWire = (ms: number): string => new Date(ms).toISOString();

/** The same for a time that may be absent (null stays null). */
export const maybeTimeOnWire = (ms: number | null): string | null =>
  ms === null ? null : timeOnWire(ms);

/** A wire time back into milliseconds since the epoch (NaN when it is not a time). */
export const timeFromWire = (s: string): number => Date.parse(s);
