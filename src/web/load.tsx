import { useEffect, useState } from 'preact/hooks';
import { ApiError } from './api.js';

export interface Loaded<T> {
  readonly value: T | null;
  readonly error: unknown;
}

/** One read for a view, again whenever `deps` change; the last answer wins. */
export function useLoad<T>(read: () => Promise<T>, deps: readonly unknown[]): Loaded<T> {
  const [state, setState] = useState<Loaded<T>>({ value: null, error: null });
  useEffect(() => {
    let live = true;
    read().then(
      (value) => live && setState({ value, error: null }),
      (error: unknown) => live && setState({ value: null, error }),
    );
    return () => {
      live = false;
    };
  }, deps);
  return state;
}

/** A read that failed, with the server's code when it gave one. */
export function Failure({ error }: { error: unknown }) {
  const text =
    error instanceof ApiError
      ? `${error.message} (${error.code})`
      : error instanceof Error
        ? error.message
        : 'the request failed';
  return (
    <p role="alert" class="error">
      {text}
    </p>
  );
}
