/**
 * An instance's environment: the image's (`NAME=value` entries; a malformed one without a
 * name is dropped), then the fleet's over it by name. An overridden variable keeps the place
 * it had in the image's list. Pure.
 */
export function instanceEnv(
  image: readonly string[] | null | undefined,
  fleet: readonly (readonly [string, string])[] | undefined,
): string[] {
  const env = new Map<string, string>();
  for (const kv of image ?? []) {
    const i = kv.indexOf('=');
    if (i > 0) env.set(kv.slice(0, i), kv.slice(i + 1));
  }
  for (const [k, v] of fleet ?? []) env.set(k, v);
  return [...env].map(([k, v]) => `${k}=${v}`);
}
