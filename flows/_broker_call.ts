/**
 * Running one broker call under a deadline: the caller's `AbortSignal` and a timeout, combined, so a
 * broker that hangs (or ignores the signal) never holds the app up. A caller's abort rejects with
 * `AbortError`; a timeout is a value, which token calls turn into a `broker_error` result.
 *
 * @module
 */

import { onAbort } from "../core/abort.ts";
import { AbortError } from "../core/errors.ts";
import type { PluginLogger } from "../core/log.ts";
import type { BrokerError, BrokerTokenResult } from "../brokers/broker.ts";

/** What {@linkcode withDeadline} resolves to when the broker did not answer in time. */
export const TIMED_OUT: unique symbol = Symbol("timed out");

/** A token call that ran out of time. */
export interface TimeoutResult {
  /** Always `false`: no token. */
  ok: false;
  /** Tells it apart from a {@linkcode BrokerError}. */
  timeout: true;
  /** The deadline that passed. */
  timeoutMs: number;
}

/** The outcome of a call whose failures are reported, not thrown: its value, or why there is none. */
export type Outcome<T> =
  | { ok: true; value: Exclude<T, BrokerError> }
  | { ok: false; reason: string; timedOut: boolean };

/**
 * Runs `call` under a signal that aborts when the caller's does or after `timeoutMs`. Does not rely on
 * the plugin honouring the signal: the race settles on the deadline regardless.
 *
 * @throws {AbortError} when `callerSignal` aborts (also before the call starts).
 */
async function withDeadline<T>(
  timeoutMs: number,
  callerSignal: AbortSignal | undefined,
  call: (signal: AbortSignal) => Promise<T>,
): Promise<T | typeof TIMED_OUT> {
  const abortError = () => new AbortError(undefined, { cause: callerSignal?.reason });
  if (callerSignal?.aborted) throw abortError();
  const controller = new AbortController();
  let timer: ReturnType<typeof setTimeout> | undefined;
  let unsubscribe = (): void => {};
  // Settle the race before aborting the plugin, so a plugin rejecting on abort cannot win it.
  const stopped = new Promise<typeof TIMED_OUT>((resolve, reject) => {
    timer = setTimeout(() => {
      resolve(TIMED_OUT);
      controller.abort(new Error(timeoutDescription(timeoutMs)));
    }, timeoutMs);
    if (callerSignal) {
      unsubscribe = onAbort(callerSignal, () => {
        reject(abortError());
        controller.abort(callerSignal.reason);
      });
    }
  });
  const pending = Promise.resolve().then(() => call(controller.signal));
  pending.catch(() => {}); // A plugin settling after the deadline must not become an unhandled rejection.
  try {
    return await Promise.race([pending, stopped]);
  } finally {
    clearTimeout(timer);
    unsubscribe();
  }
}

/**
 * A token call under {@linkcode withDeadline}: a timeout becomes a {@linkcode TimeoutResult}. What the
 * plugin throws propagates (a plugin returns token failures; it throws only for bugs).
 *
 * @throws {AbortError} when `signal` aborts.
 */
export async function callBroker(
  timeoutMs: number,
  signal: AbortSignal | undefined,
  call: (signal: AbortSignal) => Promise<BrokerTokenResult>,
): Promise<BrokerTokenResult | TimeoutResult> {
  const result = await withDeadline(timeoutMs, signal, call);
  return result === TIMED_OUT ? { ok: false, timeout: true, timeoutMs } : result;
}

/**
 * A call under {@linkcode withDeadline} whose failure is only logged by the caller (account lookups,
 * sign-out): a timeout, a {@linkcode BrokerError} it returned or an exception it threw becomes the
 * reason, described for `logger`.
 *
 * @throws {AbortError} when `signal` aborts.
 */
export async function attempt<T>(
  logger: PluginLogger,
  timeoutMs: number,
  signal: AbortSignal | undefined,
  call: (signal: AbortSignal) => Promise<T>,
): Promise<Outcome<T>> {
  let value: T | typeof TIMED_OUT;
  try {
    value = await withDeadline(timeoutMs, signal, call);
  } catch (error) {
    if (error instanceof AbortError) throw error;
    return { ok: false, reason: error instanceof Error ? error.message : String(error), timedOut: false };
  }
  if (value === TIMED_OUT) return { ok: false, reason: timeoutDescription(timeoutMs), timedOut: true };
  if (isBrokerError(value)) return { ok: false, reason: describeBrokerError(logger, value), timedOut: false };
  return { ok: true, value: value as Exclude<T, BrokerError> };
}

/** Why a call was cancelled at its deadline. */
export function timeoutDescription(timeoutMs: number): string {
  return `The broker did not answer within ${timeoutMs} ms; the request was cancelled.`;
}

/**
 * MSAL Python's wording of a broker error. With a logger, the context (which may name the user) is
 * scrubbed unless PII logging is on; without one it is kept, for the error result the app receives.
 */
export function describeBrokerError(logger: PluginLogger | undefined, error: BrokerError): string {
  const context = logger ? logger.pii(error.context) : error.context;
  return `${context}. Status: ${error.status}, Error code: ${error.errorCode}, Tag: ${error.tag}`;
}

function isBrokerError(value: unknown): value is BrokerError {
  return typeof value === "object" && value !== null && "ok" in value && value.ok === false &&
    "status" in value;
}
