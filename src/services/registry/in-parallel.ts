/**
 * Blobs a push or a pull moves at once: one stream at a time leaves the link idle between
 * blobs and while the registry hashes what it received (skopeo moves several too).
 */
export const TRANSFERS = 4;

/**
 * Small requests made at once: a pull's referrer manifests and signature bundles, a push's
 * referrers' manifests. Each is a round trip of little data, and an index may list up to
 * MAX_REFERRERS referrers.
 */
export const DOCUMENTS = 8;

/**
 * A push's HEAD of each blob at once: the first thing a re-push waits for, 34 of them for
 * the 300 MB bench image in parts (10 layers, 21 parts of its measurement and SBOM). With
 * 8 at a time they took 58 ms on loopback (median of 6), with 16 47 ms and with all at
 * once no less: the registry's own latency is left. Registries keep a connection per request
 * in flight, hence a bound.
 */
export const PROBES = 16;

/**
 * Run `work` on every item, at most `limit` at a time, and wait for all of them. The first
 * failure is thrown once every started task has settled: nothing is left running behind a
 * caller that aborts its transaction and removes the files those tasks write.
 */
export async function inParallel<T>(
  items: readonly T[],
  limit: number,
  work: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  let failure: { error: unknown } | null = null;
  const worker = async () => {
    while (failure === null && next < items.length) {
      const item = items[next++]!;
      try {
        await work(item);
      } catch (error) {
        failure ??= { error };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  if (failure !== null) throw (failure as { error: unknown }).error;
}

/**
 * Promise.all that waits for every promise to settle before it throws the first failure, as
 * inParallel does: a pull that fails must not leave a request running behind it (one still
 * adding to what it holds, or reaching a registry after the command has closed its client).
 */
export async function allOrNothing<T extends readonly unknown[]>(promises: {
  readonly [K in keyof T]: Promise<T[K]>;
}): Promise<T> {
  const settled = await Promise.allSettled(promises);
  for (const s of settled) if (s.status === 'rejected') throw s.reason;
  return settled.map((s) => (s as PromiseFulfilledResult<unknown>).value) as unknown as T;
}
