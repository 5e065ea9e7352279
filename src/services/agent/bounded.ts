/**
 * `fn` over every item, at most `limit` at a time, each settled whatever the others do (as
 * Promise.allSettled, in the items' order). For stops and clean-ups of many instances: each
 * spawns runc and CNI plugins, and thousands at once starve everything else on the host.
 */
export async function settleBounded<T>(
  items: readonly T[],
  limit: number,
  fn: (item: T) => Promise<void>,
): Promise<PromiseSettledResult<void>[]> {
  const results: PromiseSettledResult<void>[] = [];
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const at = next++;
      try {
        await fn(items[at]!);
        results[at] = { status: 'fulfilled', value: undefined };
      } catch (reason) {
        results[at] = { status: 'rejected', reason };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}
