/**
 * Waiting that the caller can cut short: a cancellable sleep, and a way for one caller to stop
 * waiting for work that others share.
 *
 * Every wait here listens to a caller's signal through {@linkcode onAbort}, which adds one listener
 * per signal however many waits share it: Node prints `MaxListenersExceededWarning` past ten, and the
 * library never causes output.
 *
 * @module
 */

import { AbortError } from "./errors.ts";

interface Subscribers {
  callbacks: Set<() => void>;
  fire: () => void;
}

/**
 * How long an interactive sign-in waits for the user by default, in milliseconds: 10 minutes. The
 * browser flow, the brokered sign-in and the Linux broker client all use it.
 */
export const DEFAULT_INTERACTIVE_TIMEOUT_MS = 600_000;

const subscribers = new WeakMap<AbortSignal, Subscribers>();

/**
 * Runs `callback` once when `signal` aborts (at once if it already has); returns the function that
 * unsubscribes it. All callbacks of one signal share a single `abort` listener, removed with the last
 * callback.
 */
export function onAbort(signal: AbortSignal, callback: () => void): () => void {
  if (signal.aborted) {
    callback();
    return () => {};
  }
  let entry = subscribers.get(signal);
  if (!entry) {
    const callbacks = new Set<() => void>();
    const fire = (): void => {
      subscribers.delete(signal);
      for (const fn of callbacks) fn();
      callbacks.clear();
    };
    entry = { callbacks, fire };
    subscribers.set(signal, entry);
    signal.addEventListener("abort", fire, { once: true });
  }
  const { callbacks, fire } = entry;
  // A fresh function per subscription, so the same callback can be subscribed twice independently.
  const once = (): void => callback();
  callbacks.add(once);
  return () => {
    if (!callbacks.delete(once) || callbacks.size > 0 || subscribers.get(signal) !== entry) return;
    subscribers.delete(signal);
    signal.removeEventListener("abort", fire);
  };
}

function abortError(signal: AbortSignal | undefined): AbortError {
  return new AbortError(undefined, { cause: signal?.reason });
}

/**
 * Waits `ms` milliseconds, or rejects with {@linkcode AbortError} as soon as `signal` aborts.
 * The timer never keeps a process alive past an abort.
 */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  if (signal?.aborted) return Promise.reject(abortError(signal));
  return new Promise((resolve, reject) => {
    const unsubscribe = signal
      ? onAbort(signal, () => {
        clearTimeout(timer);
        reject(abortError(signal));
      })
      : undefined;
    const timer = setTimeout(() => {
      unsubscribe?.();
      resolve();
    }, ms);
  });
}

/**
 * Follows `promise`, but rejects with {@linkcode AbortError} as soon as `signal` aborts; `promise`
 * itself goes on (others may be waiting for it). `giveUp` runs once if this caller gives up.
 */
export function abortable<T>(promise: Promise<T>, signal?: AbortSignal, giveUp?: () => void): Promise<T> {
  if (!signal) return promise;
  if (signal.aborted) {
    giveUp?.();
    return Promise.reject(abortError(signal));
  }
  return new Promise<T>((resolve, reject) => {
    const unsubscribe = onAbort(signal, () => {
      giveUp?.();
      reject(abortError(signal));
    });
    promise.then(resolve, reject).finally(unsubscribe);
  });
}

interface Attempt<T> {
  promise: Promise<T>;
  controller: AbortController;
  waiting: number;
}

/**
 * Shares one run of identical work among concurrent callers. The work gets its own signal, which
 * aborts only when every caller waiting for it has aborted; each caller can stop waiting on its own.
 * An attempt every caller has left is abandoned at once: a caller arriving later, even in the same
 * tick, starts a fresh attempt rather than joining one that is being cancelled.
 */
export class SharedWork<T> {
  readonly #running = new Map<string, Attempt<T>>();

  /** Joins the run for `key`, starting it with `work` if none is under way. */
  run(key: string, work: (signal: AbortSignal) => Promise<T>, signal?: AbortSignal): Promise<T> {
    if (signal?.aborted) return Promise.reject(abortError(signal));
    let attempt = this.#running.get(key);
    if (!attempt) {
      const controller = new AbortController();
      const started: Attempt<T> = { promise: undefined as unknown as Promise<T>, controller, waiting: 0 };
      started.promise = work(controller.signal).finally(() => this.#forget(key, started));
      this.#running.set(key, started);
      attempt = started;
    }
    const joined = attempt;
    joined.waiting++;
    return abortable(joined.promise, signal, () => {
      if (--joined.waiting > 0) return;
      this.#forget(key, joined);
      joined.controller.abort(signal?.reason);
    });
  }

  #forget(key: string, attempt: Attempt<T>): void {
    if (this.#running.get(key) === attempt) this.#running.delete(key);
  }
}
