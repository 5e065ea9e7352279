/**
 * JSON Schema for what the zod schemas of ingot.yaml and fleet.yaml check in code: a
 * transform's parser (durations, sizes, modes, image paths) or a refinement. Attached with
 * `.meta()` beside each check, so that `z.toJSONSchema` (json-schema/specs.ts) gives editors
 * the same rule as far as a pattern can say it, and names the rest in a description.
 *
 * One rule for all of them: a hint may be looser than the code, never stricter. An editor
 * that underlines a file `ingot build` accepts would teach people to ignore it; a file it
 * lets through is still refused, with the reason, by the command. hints.test.ts checks the
 * patterns against the parsers they stand for.
 */

/** JSON Schema keywords, as plain data (zod's `.meta()` copies them into the output). */
export type JsonSchemaHint = Readonly<Record<string, unknown>>;

/**
 * core/duration.ts `parseDuration` (it trims; units largest first, each once; a bare number
 * is seconds; the bound is checked in code).
 */
export const DURATION_PATTERN =
  '^\\s*(\\d{1,12}|(\\d{1,12}d)?(\\d{1,12}h)?(\\d{1,12}m)?(\\d{1,12}s)?(\\d{1,12}ms)?)\\s*$';
/** core/baseline/units.ts `parseSize`. */
export const SIZE_PATTERN = '^\\s*\\d{1,12}(Ki|Mi|Gi|k|M|G)?\\s*$';
/** core/baseline/units.ts `parseOctalMode`. */
export const MODE_PATTERN = '^\\s*(0o)?[0-7]{3,4}\\s*$';

/** A duration as units.ts reads it: "500ms", "5s", "2m", "1h", "7d", or seconds. */
export function durationHint(most: string): JsonSchemaHint {
  return {
    description: `A duration such as "500ms", "5s", "2m", "1h" or "7d", or a number of seconds; at most ${most} (checked by ingot).`,
    anyOf: [
      { type: 'string', pattern: DURATION_PATTERN },
      { type: 'number', minimum: 0 },
    ],
  };
}

export const sizeHint: JsonSchemaHint = {
  description: 'A size in bytes: a number, or "64Mi", "1Gi", "512k", "1G".',
  anyOf: [
    { type: 'string', pattern: SIZE_PATTERN },
    { type: 'integer', minimum: 1, maximum: Number.MAX_SAFE_INTEGER },
  ],
};

export const modeHint: JsonSchemaHint = {
  description: 'An octal mode as a quoted string, from "0000" to "7777".',
  type: 'string',
  pattern: MODE_PATTERN,
};

/**
 * core/paths.ts `parseImagePath`: absolute, no ".." segment, no ".wh." (OCI whiteouts), no
 * NUL. Its byte limits are checked by ingot.
 */
export const imagePathHint: JsonSchemaHint = {
  description:
    'An absolute path in the image, such as "/etc/app"; no ".." segments and no segment starting with ".wh.".',
  type: 'string',
  pattern: '^/[^\\u0000]*$',
  not: { pattern: '(^|/)(\\.\\.(/|$)|\\.wh\\.)' },
};

/** A relative path on the building machine: any text but NUL. */
export const sourcePathHint: JsonSchemaHint = { pattern: '^[^\\u0000]*$' };

/** domain/digest.ts `isDigest`. */
export const digestHint: JsonSchemaHint = {
  description: 'A digest: sha256:<64 lowercase hex digits>.',
  type: 'string',
  pattern: '^sha256:[0-9a-f]{64}$',
};

/** core/traffic/address.ts `parseHostPort`: an IPv4 literal and a port, as text. */
export const listenHint: JsonSchemaHint = {
  description:
    'IPv4 address and port, such as "127.0.0.1:18080": a loopback or local address, never 0.0.0.0 or a broadcast address (checked by ingot).',
  type: 'string',
  pattern: '^\\d{1,3}\\.\\d{1,3}\\.\\d{1,3}\\.\\d{1,3}:\\d{1,5}$',
};
