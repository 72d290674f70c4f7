/**
 * Scope validation and decoration as MSAL Python does it: the OIDC scopes are reserved for the
 * library, which adds them on the wire.
 *
 * @module
 */

import { ConfigurationError } from "./errors.ts";
import { isJsonObject } from "./_json.ts";

/** Scopes MSAL adds itself; apps may not ask for them. */
const RESERVED_SCOPES: readonly string[] = ["openid", "profile", "offline_access"];

const pythonList = (items: readonly string[]) => `[${items.map((item) => `'${item}'`).join(", ")}]`;

/**
 * Checks the app's scopes: an array of strings with no reserved scope.
 *
 * @throws {ConfigurationError} with MSAL Python's wording.
 */
export function validateScopes(scopes: unknown): string[] {
  if (!Array.isArray(scopes) || scopes.some((scope) => typeof scope !== "string")) {
    throw new ConfigurationError('The input scopes should be an array of strings, e.g. ["User.Read"]');
  }
  if (scopes.some((scope) => RESERVED_SCOPES.includes(scope))) {
    throw new ConfigurationError(
      "You cannot use any scope value that is reserved.\n" +
        `Your input: ${pythonList(scopes)}\n` +
        `The reserved list: ${pythonList(RESERVED_SCOPES)}`,
    );
  }
  return [...new Set(scopes as string[])];
}

/**
 * OpenID Connect scopes that ask for claims about the user, not for an API permission (OpenID Connect
 * Core 1.0 §5.4 and §11): an access token's granted `scope` may leave them out.
 */
export const IDENTITY_SCOPES: ReadonlySet<string> = new Set([
  "openid",
  "profile",
  "offline_access",
  "email",
  "address",
  "phone",
]);

/**
 * The scopes a cached access token must cover: the requested ones without the identity scopes, so
 * that `["api:read", "email"]` is served by a token granted `api:read`. A request of identity scopes
 * only is matched as it is.
 */
export function scopesToMatch(scopes: readonly string[]): string[] {
  const api = scopes.filter((scope) => !IDENTITY_SCOPES.has(scope.toLowerCase()));
  return api.length ? api : [...scopes];
}

/** The scopes sent on the wire: the app's plus `openid profile offline_access`. */
export function decorateScopes(scopes: readonly string[]): string {
  return [...new Set([...scopes, ...RESERVED_SCOPES])].join(" ");
}

/**
 * MSAL Python's claims merge (`_merge_claims_challenge_and_capabilities`): client capabilities go under
 * `access_token.xms_cc.values`. Without capabilities the challenge passes through unparsed.
 *
 * @param capabilities the app's client capabilities (e.g. `["CP1"]`)
 * @param claimsChallenge a claims challenge from a resource, as JSON
 * @returns the `claims` parameter to send, or `undefined` for none
 * @throws {ConfigurationError} when capabilities are set and `claimsChallenge` is not a JSON object.
 */
export function mergeClaims(capabilities?: readonly string[], claimsChallenge?: string): string | undefined {
  if (!capabilities?.length) return claimsChallenge || undefined;
  let claims: Record<string, unknown> = {};
  if (claimsChallenge) {
    try {
      const parsed = JSON.parse(claimsChallenge);
      if (isJsonObject(parsed)) claims = parsed;
      else throw new Error("not an object");
    } catch (cause) {
      throw new ConfigurationError("claimsChallenge must be a JSON object", { cause });
    }
  }
  const accessToken = isJsonObject(claims.access_token) ? claims.access_token : {};
  return JSON.stringify({
    ...claims,
    access_token: { ...accessToken, xms_cc: { values: [...capabilities] } },
  });
}
