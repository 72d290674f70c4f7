/**
 * Serving a token from the cache: the first step of every silent call, and its hot path. MSAL
 * Python's rules: the token must cover the scopes and live more than five minutes longer.
 *
 * @module
 */

import { cacheRealms } from "../core/authority.ts";
import type { AccessTokenEntry } from "../core/cache.ts";
import { decodeIdToken } from "../core/jwt.ts";
import { scopesToMatch } from "../core/scopes.ts";
import type { Account, IdTokenClaims, TokenResult } from "../core/results.ts";
import type { AppContext } from "./context.ts";

/** Cached access tokens expiring sooner than this (seconds) are not served. */
const EXPIRY_MARGIN_SECONDS = 300;

const MAX_MEMOIZED_ID_TOKENS = 10_000;
// Decoded claims by raw ID token, so the hot path does not decode the same JWT on every call.
const claimsByIdToken = new Map<string, IdTokenClaims | null>();

function idTokenClaims(idToken: string): IdTokenClaims | undefined {
  let claims = claimsByIdToken.get(idToken);
  if (claims === undefined) {
    try {
      claims = decodeIdToken(idToken);
    } catch {
      claims = null;
    }
    if (claimsByIdToken.size >= MAX_MEMOIZED_ID_TOKENS) claimsByIdToken.clear();
    claimsByIdToken.set(idToken, claims);
  }
  return claims ?? undefined;
}

function toResult(
  entry: AccessTokenEntry,
  idToken: string | undefined,
  account: Account,
  now: number,
): TokenResult {
  const result: TokenResult = {
    access_token: entry.secret,
    token_type: entry.token_type ?? "Bearer",
    expires_in: Math.floor(Number(entry.expires_on) - now),
    token_source: "cache",
    account,
  };
  if (entry.refresh_on !== undefined) result.refresh_on = Number(entry.refresh_on);
  const claims = idToken === undefined ? undefined : idTokenClaims(idToken);
  if (claims) result.id_token_claims = claims;
  return result;
}

/**
 * A cached access token of `account` covering `scopes` (identity scopes such as `email` aside:
 * {@linkcode scopesToMatch}) that lives more than five minutes longer, as a
 * result with `token_source: "cache"`, or `undefined`. The realms searched are {@linkcode cacheRealms}',
 * so that caches MSAL Python and msal-node wrote for the same authority are served too.
 */
export async function findCachedToken(
  context: AppContext,
  account: Account,
  scopes: readonly string[],
  options: { keyId?: string } = {},
): Promise<TokenResult | undefined> {
  const { authority, cache, clientId } = context;
  const realms = cacheRealms(authority, account.realm);
  const wanted = scopesToMatch(scopes);
  const environments = [...authority.environments];
  const homeAccountId = account.home_account_id;
  const now = Date.now() / 1000;
  const found = await cache.access(() => {
    for (const realm of realms) {
      const entry = cache.findAccessToken({
        clientId,
        homeAccountId,
        environments,
        realm,
        scopes: wanted,
        ...(options.keyId !== undefined && { keyId: options.keyId }),
      });
      if (entry && Number(entry.expires_on) - now > EXPIRY_MARGIN_SECONDS) {
        const idToken = cache.findIdToken({ clientId, homeAccountId, environments, realm: entry.realm });
        return { entry, idToken: idToken?.secret };
      }
    }
    return undefined;
  }, { readOnly: true });
  return found && toResult(found.entry, found.idToken, account, now);
}
