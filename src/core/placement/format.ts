const EXACT: readonly (readonly [string, number])[] = [
  ['Gi', 2 ** 30],
  ['Mi', 2 ** 20],
  ['Ki', 2 ** 10],
  ['G', 1e9],
  ['M', 1e6],
  ['k', 1e3],
];

/**
 * A size as fleet.yaml writes one: exact in the largest unit that divides it ("64Mi",
 * "1536Mi", "100M"), otherwise to a tenth in binary units ("95.4Mi"), and bytes below 1 Ki
 * ("512B"). Pure.
 */
export function formatSize(bytes: number): string {
  for (const [unit, size] of EXACT)
    if (bytes >= size && bytes % size === 0) return `${bytes / size}${unit}`;
  for (const [unit, size] of EXACT.slice(0, 3))
    if (bytes >= size) return `${Math.round((bytes / size) * 10) / 10}${unit}`;
  return `${bytes}B`;
}

/** "0.5 CPUs", "1 CPU": as the fleet asked, without a float's tail (0.30000000000000004). */
export function formatCpus(cpus: number): string {
  const n = Number(cpus.toPrecision(6));
  return `${n} ${n === 1 ? 'CPU' : 'CPUs'}`;
}

/** "1 pid", "100 pids". */
export function formatPids(pids: number): string {
  return `${pids} ${pids === 1 ? 'pid' : 'pids'}`;
}
