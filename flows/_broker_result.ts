/**
 * What the app gets from a broker answer: a token result, after caching the access token, ID token and
 * account locally (never a refresh token: the broker keeps it), or a `broker_error` result in MSAL
 * Python's shape (rule 4). An unregistered redirect URI is a developer error and throws instead.
 *
 * @module
 */

import { InvalidInputError, RedirectUriError } from "../core/errors.ts";
import { decodeIdToken } from "../core/jwt.ts";
import type { TokenCache } from "../core/cache.ts";
import type { Account, AuthResult, ErrorResult, IdTokenClaims, TokenResult } from "../core/results.ts";
import type { TokenBinding } from "../core/token_binding.ts";
import type {
  Broker,
  BrokerAccount,
  BrokerError,
  BrokerTokenResponse,
  BrokerTokenResult,
} from "../brokers/broker.ts";
import { describeBrokerError, timeoutDescription, type TimeoutResult } from "./_broker_call.ts";

/** What mapping broker answers needs from the brokered context. */
export interface ResultContext {
  /** The broker, for the redirect URI an app must register. */
  broker: Pick<Broker, "redirectUri">;
  /** The app's client id. */
  clientId: string;
  /** Where broker tokens are cached. */
  cache: TokenCache;
  /** The app's authority. */
  authority: {
    /** The cache environment (host) tokens are stored under. */
    environment: string;
    /** The tenant tokens are stored under. */
    tenant: string;
  };
}

const REDIRECT_URI_NOT_REGISTERED = /AADSTS50011|AADSTS7000218/;

/**
 * The result of a token call: a timeout or a broker error as a `broker_error` result, a token cached
 * and returned.
 *
 * @throws {RedirectUriError} when the broker says the app has not registered its redirect URI.
 * @throws {InvalidInputError} when an SSH certificate was asked for and the broker returned something else.
 */
export async function finish(
  ctx: ResultContext,
  scopes: string[],
  response: BrokerTokenResult | TimeoutResult,
  correlationId: string,
  binding: TokenBinding | undefined,
): Promise<AuthResult> {
  if ("timeout" in response) return timeoutResult(response.timeoutMs, correlationId);
  if (!response.ok) return errorResult(ctx, response, correlationId);
  return await cacheAndReturn(ctx, scopes, response, binding);
}

/** The `broker_error` result of a call cancelled at its deadline. */
export function timeoutResult(timeoutMs: number, correlationId: string): ErrorResult {
  return {
    error: "broker_error",
    error_description: timeoutDescription(timeoutMs),
    broker_status: "Timeout",
    correlation_id: correlationId,
  };
}

/**
 * The claims of a broker token's ID token: as the broker gave them, else decoded; `undefined` when
 * there is none or it cannot be decoded.
 */
export function claimsOf(response: BrokerTokenResponse): IdTokenClaims | undefined {
  if (response.idTokenClaims) return response.idTokenClaims;
  if (!response.idToken) return undefined;
  try {
    return decodeIdToken(response.idToken);
  } catch {
    return undefined;
  }
}

/** A broker account as the app sees accounts (`local_account_id` is the broker's id). */
export function accountFromBroker(
  ctx: Pick<ResultContext, "authority">,
  account: BrokerAccount,
  claims?: IdTokenClaims,
): Account {
  const result: Account = {
    home_account_id: account.homeAccountId ?? "",
    environment: account.environment ?? ctx.authority.environment,
    username: account.username ?? claims?.preferred_username ?? "",
    realm: account.realm ?? claims?.tid ?? ctx.authority.tenant,
    local_account_id: account.id,
    authority_type: "MSSTS",
    account_source: "broker",
  };
  if (typeof claims?.name === "string") result.name = claims.name;
  return result;
}

function errorResult(ctx: ResultContext, error: BrokerError, correlationId: string): ErrorResult {
  if (REDIRECT_URI_NOT_REGISTERED.test(error.context)) {
    throw new RedirectUriError(ctx.broker.redirectUri(ctx.clientId), error.context);
  }
  return {
    error: "broker_error",
    error_description: describeBrokerError(undefined, error),
    broker_status: error.status,
    broker_error_code: error.errorCode,
    broker_tag: error.tag,
    correlation_id: correlationId,
  };
}

/**
 * Caches the access token, ID token and account. An SSH certificate is cached under its key id; a
 * proof-of-possession token, bound to one request, is not.
 */
async function cacheAndReturn(
  ctx: ResultContext,
  requestedScopes: string[],
  response: BrokerTokenResponse,
  binding: TokenBinding | undefined,
): Promise<TokenResult> {
  const now = Math.floor(Date.now() / 1000);
  const tokenType = binding?.type ?? response.tokenType ?? "Bearer";
  if (binding?.type === "ssh-cert" && !response.accessToken.startsWith("AAAA")) {
    // MSAL Python's TokenTypeError: SSH certificates start with "AAAA" (a base64 length prefix).
    throw new InvalidInputError(`Broker could not get an SSH Cert: ${response.accessToken.slice(0, 8)}...`);
  }
  const expiresIn = Math.max(0, Math.floor(response.expiresOn - now));
  const scope = response.grantedScopes?.length ? response.grantedScopes.join(" ") : undefined;
  const wire: Record<string, unknown> = { token_type: tokenType, expires_in: expiresIn };
  if (binding?.type !== "pop") wire.access_token = response.accessToken;
  if (scope) wire.scope = scope;
  if (response.idToken) wire.id_token = response.idToken;
  if (response.idTokenClaims) wire.id_token_claims = response.idTokenClaims;
  if (response.clientInfo) wire.client_info = response.clientInfo;

  const added = await ctx.cache.access(() =>
    ctx.cache.addTokenResponse({
      clientId: ctx.clientId,
      environment: ctx.authority.environment,
      realm: ctx.authority.tenant,
      scopes: response.grantedScopes?.length ? response.grantedScopes : requestedScopes,
      response: wire,
      accountSource: "broker",
      brokerAccountId: response.account.id,
      ...(binding?.type === "ssh-cert" && { keyId: binding.keyId }),
      now,
    })
  );
  const claims = response.idTokenClaims ?? added.idTokenClaims;
  const account: Account = added.account
    ? {
      home_account_id: added.account.home_account_id,
      environment: added.account.environment,
      username: added.account.username,
      realm: added.account.realm,
      local_account_id: response.account.id,
      authority_type: added.account.authority_type,
      account_source: "broker",
      ...(added.account.name ? { name: added.account.name } : {}),
    }
    : accountFromBroker(ctx, response.account, claims);
  const result: TokenResult = {
    access_token: response.accessToken,
    token_type: tokenType,
    expires_in: expiresIn,
    token_source: "broker",
    account,
  };
  if (scope) result.scope = scope;
  if (response.idToken) result.id_token = response.idToken;
  if (claims) result.id_token_claims = claims;
  if (response.clientInfo) result.client_info = response.clientInfo;
  return result;
}
