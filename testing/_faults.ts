// Fault injection: queues of faults per endpoint and per grant type, the responses they produce,
// and delays that close() can cut short so no timer outlives the server.

import type { FakeEndpoint, FakeFault, FakeGrantType } from "./_types.ts";
import { type Ctx, status } from "./_context.ts";
import { type EntraError, entraError } from "./_errors.ts";
import { serverErrorPage } from "./_pages.ts";
import { checkTimes } from "./_times.ts";

interface Queued {
  fault: FakeFault;
  remaining: number;
}

const GRANT_TYPES: Record<string, FakeGrantType> = {
  refresh_token: "refresh_token",
  authorization_code: "authorization_code",
  password: "password",
  "urn:ietf:params:oauth:grant-type:device_code": "device_code",
  device_code: "device_code",
};

/** Faults waiting for their next requests, first queued first served. */
export class FaultQueue {
  readonly #queues: Map<string, Queued[]> = new Map();

  /** Queues `fault` for the next `times` requests matching `key`. */
  add(key: string, fault: FakeFault, times: number): void {
    checkTimes(times);
    const queue = this.#queues.get(key) ?? [];
    queue.push({ fault, remaining: times });
    this.#queues.set(key, queue);
  }

  /** Takes the fault for a request: endpoint faults first, then grant-type faults on the token endpoint. */
  take(endpoint: FakeEndpoint | "other", grantType: string | undefined): FakeFault | undefined {
    const grant = grantType === undefined ? undefined : GRANT_TYPES[grantType];
    return this.#takeFrom(endpoint) ??
      (endpoint === "token" && grant !== undefined ? this.#takeFrom(`grant:${grant}`) : undefined);
  }

  #takeFrom(key: string): FakeFault | undefined {
    const queue = this.#queues.get(key);
    const head = queue?.[0];
    if (!queue || !head) return undefined;
    if (--head.remaining <= 0) queue.shift();
    return head.fault;
  }
}

/** Timers for `{delayMs}` faults; `releaseAll` ends them early so close() never waits on one. */
export class Delays {
  readonly #pending: Set<() => void> = new Set();

  /** Resolves after `ms`, or as soon as `releaseAll` is called. */
  wait(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.#pending.delete(done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.#pending.add(done);
    });
  }

  /** Ends every pending delay now. */
  releaseAll(): void {
    for (const done of [...this.#pending]) done();
  }
}

/**
 * The response a fault produces. `{delayMs}` faults are not handled here (the caller delays and then
 * answers normally); OAuth errors go through `oauthError` so the authorize endpoint can redirect them.
 */
export function faultResponse(
  c: Ctx,
  fault: Exclude<FakeFault, { delayMs: number }>,
  oauthError: (c: Ctx, error: EntraError) => Response = entraError,
): Response {
  if ("rawBody" in fault) {
    return c.body(fault.rawBody, status(fault.status ?? 200), {
      "content-type": fault.contentType ?? "application/json; charset=utf-8",
    });
  }
  if ("error" in fault) {
    return oauthError(c, {
      error: fault.error,
      description: fault.errorDescription ?? defaultDescription(fault.error),
      suberror: fault.suberror,
      claims: fault.claims,
      status: fault.status,
    });
  }
  if (fault.status === 429) {
    if (fault.retryAfter !== undefined) c.header("retry-after", String(fault.retryAfter));
    return entraError(c, {
      error: "temporarily_unavailable",
      description: "AADSTS90055: There are too many incoming requests. Please try again later.",
      status: 429,
    });
  }
  return c.html(fault.body ?? serverErrorPage(fault.status), status(fault.status));
}

function defaultDescription(error: string): string {
  switch (error) {
    case "invalid_grant":
      return "AADSTS70000: Provided grant is invalid or malformed.";
    case "interaction_required":
      return "AADSTS50076: Due to a configuration change made by your administrator, or because you moved to a new location, you must use multi-factor authentication to access the resource.";
    case "login_required":
      return "AADSTS50058: A silent sign-in request was sent but no user is signed in.";
    case "consent_required":
      return "AADSTS65001: The user or administrator has not consented to use the application.";
    case "access_denied":
      return "AADSTS65004: User declined to consent to access the app.";
    case "temporarily_unavailable":
      return "AADSTS90033: A transient error has occurred. Please try again.";
    default:
      return `AADSTS90000: The request failed with error '${error}'.`;
  }
}
