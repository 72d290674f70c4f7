/**
 * The refresh-token grant: redeeming one refresh token, and MSAL Python's order of attempts for a
 * silent refresh (family refresh tokens first when the app may be in a family, then the app's own).
 *
 * @module
 */

import type { RefreshTokenEntry } from "../core/cache.ts";
import type { Account, AuthResult, ErrorResult } from "../core/results.ts";
import type { CallOptions, OnlineContext } from "./context.ts";
import { anchorMailbox, redeem } from "./grant.ts";

/** Options of a refresh. */
export interface RefreshOptions extends CallOptions {
  /** Claims to send (a merged claims challenge and client capabilities). */
  claims?: string;
}

/** Redeems one refresh token for `scopes`. New tokens are cached; removed accounts stay removed. */
export function redeemRefreshToken(
  context: OnlineContext,
  refreshToken: string,
  scopes: readonly string[],
  options: RefreshOptions & { homeAccountId?: string; skipAccountCreation?: boolean } = {},
): Promise<AuthResult> {
  const form: Record<string, string> = { grant_type: "refresh_token", refresh_token: refreshToken };
  if (options.claims) form.claims = options.claims;
  return redeem(context, form, {
    scopes,
    skipAccountCreation: options.skipAccountCreation,
    correlationId: options.correlationId,
    signal: options.signal,
    headers: options.homeAccountId ? anchorMailbox(options.homeAccountId) : undefined,
  });
}

const FAMILY_ID = "1";
/** Lookups only: persistence plugins read without their write lock. */
const READ = { readOnly: true } as const;

/**
 * Tries the cached refresh tokens of `account` for `scopes`, in MSAL Python's order. Returns the first
 * success, the last error, or `null` when there was no refresh token to try.
 */
export async function refreshSilently(
  context: OnlineContext,
  account: Account,
  scopes: readonly string[],
  options: RefreshOptions = {},
): Promise<AuthResult | null> {
  const environments = [...context.authority.environments];
  const homeAccountId = account.home_account_id;
  const { cache, clientId } = context;
  const appMetadata = await cache.access(() => cache.findAppMetadata({ clientId, environments }), READ);
  let lastError: ErrorResult | null = null;

  const attempt = async (tokens: RefreshTokenEntry[]): Promise<AuthResult | null> => {
    for (const token of tokens) {
      const result = await redeemRefreshToken(context, token.secret, scopes, {
        ...options,
        homeAccountId,
        skipAccountCreation: true,
      });
      if ("access_token" in result) return result;
      lastError = result as ErrorResult;
      if (lastError.suberror === "client_mismatch") return null;
    }
    return null;
  };

  if (!appMetadata || appMetadata.family_id) {
    const familyTokens = await cache.access(
      () =>
        cache.findRefreshTokens({
          homeAccountId,
          environments,
          familyId: appMetadata?.family_id ?? FAMILY_ID,
        }),
      READ,
    );
    const result = await attempt(familyTokens);
    if (result) return result;
  }
  const ownTokens = await cache.access(
    () =>
      cache.findRefreshTokens({ homeAccountId, environments, clientId }).filter((token) => !token.family_id),
    READ,
  );
  const result = await attempt(ownTokens);
  return result ?? lastError;
}
