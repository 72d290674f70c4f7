/**
 * Waiting that the caller can cut short: a cancellable sleep, and a way for one caller to stop
 * waiting for work that others share.
 *
 * @module
 */

import { AbortError } from "./errors.ts";

/**
 * Waits `ms` milliseconds, or rejects with {@linkcode AbortError} as soon as `signal` aborts.
 * The timer never keeps a process alive past an abort.
 */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  if (signal?.aborted) return Promise.reject(new AbortError(undefined, { cause: signal.reason }));
  return new Promise((resolve, reject) => {
    const onAbort = () => {
      clearTimeout(timer);
      reject(new AbortError(undefined, { cause: signal?.reason }));
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

/**
 * Follows `promise`, but rejects with {@linkcode AbortError} as soon as `signal` aborts; `promise`
 * itself goes on (others may be waiting for it). `onAbort` runs once if this caller gives up.
 */
export function abortable<T>(promise: Promise<T>, signal?: AbortSignal, onAbort?: () => void): Promise<T> {
  if (!signal) return promise;
  if (signal.aborted) {
    onAbort?.();
    return Promise.reject(new AbortError(undefined, { cause: signal.reason }));
  }
  return new Promise<T>((resolve, reject) => {
    const giveUp = () => {
      onAbort?.();
      reject(new AbortError(undefined, { cause: signal.reason }));
    };
    signal.addEventListener("abort", giveUp, { once: true });
    promise.then(resolve, reject).finally(() => signal.removeEventListener("abort", giveUp));
  });
}

/**
 * Shares one run of identical work among concurrent callers. The work gets its own signal, which
 * aborts only when every caller waiting for it has aborted; each caller can stop waiting on its own.
 */
export class SharedWork<T> {
  readonly #running = new Map<
    string,
    { promise: Promise<T>; controller: AbortController; waiting: number }
  >();

  /** Joins the run for `key`, starting it with `work` if none is under way. */
  run(key: string, work: (signal: AbortSignal) => Promise<T>, signal?: AbortSignal): Promise<T> {
    let entry = this.#running.get(key);
    if (!entry) {
      const controller = new AbortController();
      const promise = work(controller.signal).finally(() => this.#running.delete(key));
      entry = { promise, controller, waiting: 0 };
      this.#running.set(key, entry);
    }
    const joined = entry;
    joined.waiting++;
    return abortable(joined.promise, signal, () => {
      if (--joined.waiting === 0) joined.controller.abort(signal?.reason);
    });
  }
}
