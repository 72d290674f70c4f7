/**
 * Names an account from the OpenID Connect UserInfo endpoint when the ID token does not: some
 * providers put profile claims only behind userinfo (OpenID Connect Core 1.0 §5.3, §5.4).
 *
 * @module
 */

import type { IdTokenClaims } from "../core/results.ts";
import type { OnlineContext } from "./context.ts";
import { isJsonObject } from "../core/_json.ts";

/** The claims that name an account, in the order the cache takes them. */
const USERNAME_CLAIMS: readonly string[] = ["preferred_username", "upn", "email", "unique_name"];

function nameIn(claims: Record<string, unknown>): string | undefined {
  for (const claim of USERNAME_CLAIMS) {
    const value = claims[claim];
    if (typeof value === "string" && value) return value;
  }
  return undefined;
}

/**
 * For a generic OIDC authority whose ID token names no user (`preferred_username`, `upn`, `email`,
 * `unique_name`), asks its UserInfo endpoint once with the new access token and returns the
 * `preferred_username` or `email` there. The answer counts only if its `sub` is the ID token's
 * (§5.3.2). Best effort: any failure is logged and yields `undefined`; the sign-in goes on.
 */
export async function usernameFromUserinfo(
  context: OnlineContext,
  claims: IdTokenClaims,
  accessToken: string,
  signal?: AbortSignal,
): Promise<string | undefined> {
  const endpoint = context.authority.userinfoEndpoint;
  if (context.authority.type !== "OIDC" || !endpoint || nameIn(claims) !== undefined) return undefined;
  try {
    const { status, body } = await context.http.getJson(endpoint, {
      signal,
      headers: { Authorization: `Bearer ${accessToken}` },
    });
    const info = isJsonObject(body) ? body : {};
    if (status !== 200 || info.sub !== claims.sub) {
      context.logger.warning(
        `The UserInfo endpoint answered HTTP ${status}${
          status === 200 ? " for another subject" : ""
        }; the account has no username`,
      );
      return undefined;
    }
    return nameIn(info);
  } catch (error) {
    if (signal?.aborted) throw error;
    context.logger.warning(
      `The UserInfo endpoint could not be read (${String(error)}); the account has no username`,
    );
    return undefined;
  }
}
