/**
 * The meltdown guard: when more than `maxFailedPercent` of a fleet's replicas failed within
 * `windowMs`, replacing more instances only feeds the fire (a bad host, a dependency down):
 * the controller stops replacing until the window holds fewer failures. Pure.
 */
export function inMeltdown(
  failures: readonly number[],
  now: number,
  guard: { readonly maxFailedPercent: number; readonly windowMs: number },
  replicas: number,
): boolean {
  const recent = failures.filter((t) => t <= now && now - t < guard.windowMs).length;
  return recent > 0 && recent * 100 > guard.maxFailedPercent * Math.max(1, replicas);
}
