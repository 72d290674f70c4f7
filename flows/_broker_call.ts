/**
 * Running one broker call under a deadline: the caller's `AbortSignal` and a timeout, combined, so a
 * broker that hangs (or ignores the signal) never holds the app up. A caller's abort rejects with
 * `AbortError`; a timeout is a value, which token calls turn into a `broker_error` result.
 *
 * @module
 */

import { onAbort } from "../core/abort.ts";
import { AbortError, messageOf } from "../core/errors.ts";
import type { PluginLogger } from "../core/log.ts";
import { type BrokerError, type BrokerTokenResult, isBrokerError } from "../brokers/broker.ts";

/**
 * "The broker did not answer in time": the one shape of it, from the deadline to the app's
 * `broker_error` result (`timeoutResult` in `_broker_result.ts`).
 */
export interface TimedOut {
  /** Always `false`: no answer. */
  readonly ok: false;
  /** The deadline that passed, in milliseconds; tells it apart from a {@linkcode BrokerError}. */
  readonly timedOutMs: number;
}

/** Whether `value` is a {@linkcode TimedOut}. */
export function isTimedOut(value: unknown): value is TimedOut {
  return typeof value === "object" && value !== null && typeof (value as TimedOut).timedOutMs === "number";
}

/** The outcome of a call whose failures are reported, not thrown: its value, why there is none, or a timeout. */
export type Outcome<T> =
  | { ok: true; value: Exclude<T, BrokerError> }
  | { ok: false; reason: string }
  | TimedOut;

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
): Promise<T | TimedOut> {
  const abortError = () => new AbortError(undefined, { cause: callerSignal?.reason });
  if (callerSignal?.aborted) throw abortError();
  const controller = new AbortController();
  let timer: ReturnType<typeof setTimeout> | undefined;
  let unsubscribe = (): void => {};
  // Settle the race before aborting the plugin, so a plugin rejecting on abort cannot win it.
  const stopped = new Promise<TimedOut>((resolve, reject) => {
    timer = setTimeout(() => {
      resolve({ ok: false, timedOutMs: timeoutMs });
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
 * A token call under {@linkcode withDeadline}: a timeout resolves {@linkcode TimedOut}. What the
 * plugin throws propagates (a plugin returns token failures; it throws only for bugs).
 *
 * @throws {AbortError} when `signal` aborts.
 */
export async function callBroker(
  timeoutMs: number,
  signal: AbortSignal | undefined,
  call: (signal: AbortSignal) => Promise<BrokerTokenResult>,
): Promise<BrokerTokenResult | TimedOut> {
  return await withDeadline(timeoutMs, signal, call);
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
  let value: T | TimedOut;
  try {
    value = await withDeadline(timeoutMs, signal, call);
  } catch (error) {
    if (error instanceof AbortError) throw error;
    return { ok: false, reason: messageOf(error) };
  }
  if (isTimedOut(value)) return value;
  if (isBrokerError(value)) return { ok: false, reason: describeBrokerError(logger, value) };
  return { ok: true, value: value as Exclude<T, BrokerError> };
}

/** Why a failed {@linkcode Outcome} has no value, for a log line. */
export function reasonOf(outcome: { ok: false; reason: string } | TimedOut): string {
  return isTimedOut(outcome) ? timeoutDescription(outcome.timedOutMs) : outcome.reason;
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
