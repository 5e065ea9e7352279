/**
 * A promise its holder awaits only later (a build awaits staged blobs just before its
 * commit): marked handled now, so that failing before then is not an unhandled rejection,
 * which would end the process; awaiting it still throws.
 */
export function awaitedLater<T>(promise: Promise<T>): Promise<T> {
  promise.catch(() => undefined);
  return promise;
}
