/**
 * The resource-owner password credentials grant (RFC 6749 §4.3; deprecated by Microsoft, no MFA) as
 * MSAL Python runs it: through the broker on Windows and macOS when one is in use, never through it on
 * Linux or WSL, else a `grant_type=password` request to the token endpoint.
 *
 * @module
 */

import type { Platform } from "../core/platform.ts";
import type { AuthResult } from "../core/results.ts";
import { acquireTokenByUsernamePasswordViaBroker } from "./brokered.ts";
import { type CallOptions, claimsFor, hasBroker, type OnlineContext } from "./context.ts";
import { redeem } from "./grant.ts";

/** The account source MSAL Python records for password sign-ins. */
const PASSWORD_ACCOUNT_SOURCE = "password";

// MSAL Python: through the broker on Windows and macOS only; never on Linux or WSL.
const PASSWORD_VIA_BROKER: ReadonlySet<Platform> = new Set(["windows", "mac"]);

/** Options of {@linkcode acquireTokenByUsernamePassword}. */
export interface UsernamePasswordOptions extends CallOptions {
  /** A claims challenge from a resource, as JSON; merged with the app's client capabilities. */
  claimsChallenge?: string;
}

/**
 * Signs a user in with a username and password: through the broker on Windows and macOS when the app
 * uses one, else at the token endpoint. The account is recorded with `account_source: "password"`
 * (`"broker"` through the broker).
 *
 * @param context the app context, its authority discovered
 * @param username the sign-in name
 * @param password the password
 * @param scopes the scopes to ask for, validated and undecorated
 * @param options a claims challenge, a correlation id, a signal
 * @returns the token, or the server's (or broker's) error
 * @throws {ConfigurationError} for a claims challenge that is not a JSON object while `clientCapabilities`
 * are set (as MSAL Python).
 * @throws {NetworkError} when the server cannot be reached.
 * @throws {IdTokenError} when the ID token fails its checks.
 * @throws {RedirectUriError} when the broker says the app has not registered its redirect URI.
 * @throws {AbortError} when `options.signal` aborts.
 * @example
 * ```ts
 * import { acquireTokenByUsernamePassword } from "./password.ts";
 * import type { OnlineContext } from "./context.ts";
 *
 * declare const context: OnlineContext;
 * declare const password: string;
 * const result = await acquireTokenByUsernamePassword(context, "ada@contoso.com", password, ["User.Read"]);
 * ```
 */
export async function acquireTokenByUsernamePassword(
  context: OnlineContext,
  username: string,
  password: string,
  scopes: string[],
  options: UsernamePasswordOptions = {},
): Promise<AuthResult> {
  if (hasBroker(context) && PASSWORD_VIA_BROKER.has(context.platform)) {
    return await acquireTokenByUsernamePasswordViaBroker(context, scopes, username, password, options);
  }
  const form: Record<string, string> = { grant_type: "password", username, password };
  const claims = claimsFor(context, options.claimsChallenge);
  if (claims) form.claims = claims;
  return await redeem(context, form, {
    scopes,
    accountSource: PASSWORD_ACCOUNT_SOURCE,
    username,
    correlationId: options.correlationId,
    signal: options.signal,
  });
}
