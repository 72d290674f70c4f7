/**
 * Redeems a grant at the token endpoint and turns the answer into a result: the shared last step of
 * the device-code, refresh-token, authorization-code and password flows.
 *
 * @module
 */

import { realmFollowsIdToken } from "../core/authority.ts";
import { InvalidInputError } from "../core/errors.ts";
import { checkIdTokenClaims, decodeIdToken } from "../core/jwt.ts";
import type { AuthResult, ErrorResult, IdTokenClaims, TokenResult } from "../core/results.ts";
import { classifyError, toAccount } from "../core/results.ts";
import { decorateScopes } from "../core/scopes.ts";
import { type CheckedTokenResponse, readTokenResponse } from "../core/token_response.ts";
import { usernameFromUserinfo } from "./userinfo.ts";
import type { CallOptions, OnlineContext } from "./context.ts";

/** How to redeem and record a grant. */
export interface RedeemOptions extends CallOptions {
  /** The app's scopes (undecorated); the wire gets `openid profile offline_access` added. */
  scopes: readonly string[];
  /** Written on the cache's Account entry, e.g. `"authorization_code"`. */
  accountSource?: string;
  /** Silent refreshes must not resurrect a removed account. */
  skipAccountCreation?: boolean;
  /** Username to record when the ID token has none (password flow). */
  username?: string;
  /** The nonce the ID token must carry (interactive flows). */
  expectedNonce?: string;
  /** With `maxAge`, the ID token's `auth_time` must be at most this old (seconds). */
  maxAge?: number;
  /** Extra headers, e.g. `X-AnchorMailbox`. */
  headers?: Record<string, string>;
}

/** `X-AnchorMailbox: Oid:<uid>@<utid>` for a home account id, as MSAL sends with refreshes. */
export function anchorMailbox(homeAccountId: string): Record<string, string> {
  const [uid, utid] = homeAccountId.split(".");
  return uid && utid ? { "X-AnchorMailbox": `Oid:${uid}@${utid}` } : {};
}

/**
 * POSTs `form` (plus `client_id` and decorated `scope`) to the token endpoint; on success caches the
 * tokens and returns a {@linkcode TokenResult} with `token_source: "identity_provider"`.
 */
export async function redeem(
  context: OnlineContext,
  form: Record<string, string>,
  options: RedeemOptions,
): Promise<AuthResult> {
  const answer = await context.http.postForm(context.authority.tokenEndpoint, {
    client_id: context.clientId,
    scope: decorateScopes(options.scopes),
    ...form,
  }, { correlationId: options.correlationId, signal: options.signal, headers: options.headers });
  if ("error" in answer) return classifyError(answer as ErrorResult);
  return await recordTokenResponse(context, answer.body, options);
}

/**
 * Caches a successful token response and builds the result the app sees: only the fields
 * {@linkcode readTokenResponse} checked, plus `id_token_claims`, `account`, `refresh_on` and
 * `token_source`. An answer with a field out of type or range is an `invalid_response` and caches nothing.
 */
async function recordTokenResponse(
  context: OnlineContext,
  body: Record<string, unknown>,
  options: RedeemOptions,
): Promise<TokenResult | ErrorResult> {
  const now = Math.floor(Date.now() / 1000);
  // The rule of core/errors.ts: a malformed answer (a field out of type or range, an ID token that is
  // not a JWT) is an `invalid_response` result; a well-formed ID token failing its checks throws.
  let response: CheckedTokenResponse;
  let claims: IdTokenClaims | undefined;
  try {
    response = readTokenResponse(body, now);
    if (response.id_token !== undefined) claims = decodeIdToken(response.id_token);
  } catch (error) {
    if (!(error instanceof InvalidInputError)) throw error;
    return { error: "invalid_response", error_description: error.message };
  }
  let username = options.username;
  if (claims) {
    checkIdTokenClaims(claims, {
      clientId: context.clientId,
      issuer: context.authority.issuer,
      nonce: options.expectedNonce,
      maxAge: options.maxAge,
      now,
    });
    if (!options.skipAccountCreation && username === undefined) {
      username = await usernameFromUserinfo(context, claims, response.access_token, options.signal);
    }
  }
  const added = await context.cache.access(() =>
    context.cache.addTokenResponse({
      clientId: context.clientId,
      environment: context.authority.environment,
      realm: context.authority.realm,
      fixedRealm: !realmFollowsIdToken(context.authority),
      scopes: [...options.scopes],
      response: { ...response },
      accountSource: options.accountSource,
      username,
      skipAccountCreation: options.skipAccountCreation,
      now,
    })
  );
  const { refresh_in: refreshIn, ...fields } = response;
  const result: TokenResult = { ...fields, token_source: "identity_provider" };
  if (refreshIn !== undefined) result.refresh_on = now + refreshIn;
  if (added.idTokenClaims) result.id_token_claims = added.idTokenClaims;
  if (added.account) result.account = toAccount(added.account);
  return result;
}
