/**
 * What the app gets from a broker answer: a token result, after caching the access token, ID token and
 * account locally (never a refresh token: the broker keeps it), or a `broker_error` result in MSAL
 * Python's shape (rule 4). An unregistered redirect URI is a developer error and throws instead.
 *
 * @module
 */

import { RedirectUriError } from "../core/errors.ts";
import { decodeIdToken } from "../core/jwt.ts";
import type { Account, AuthResult, ErrorResult, IdTokenClaims, TokenResult } from "../core/results.ts";
import { toAccount } from "../core/results.ts";
import type { TokenBinding } from "../core/token_binding.ts";
import type {
  BrokerAccount,
  BrokerError,
  BrokerErrorKind,
  BrokerTokenResponse,
  BrokerTokenResult,
} from "../brokers/broker.ts";
import type { BrokerContext } from "./context.ts";
import { describeBrokerError, isTimedOut, type TimedOut, timeoutDescription } from "./_broker_call.ts";
import { isJsonObject } from "../core/_json.ts";

const REDIRECT_URI_NOT_REGISTERED = /AADSTS50011|AADSTS7000218/;

/**
 * The result of a token call: a timeout, a broker error or a malformed answer (an SSH-certificate
 * request answered with another kind of token too) becomes a `broker_error` result; a token is cached
 * and returned.
 *
 * @throws {RedirectUriError} when the broker says the app has not registered its redirect URI.
 */
export async function finish(
  ctx: BrokerContext,
  scopes: string[],
  response: BrokerTokenResult | TimedOut,
  correlationId: string,
  binding: TokenBinding | undefined,
): Promise<AuthResult> {
  if (isTimedOut(response)) return timeoutResult(response, correlationId);
  if (!response.ok) return errorResult(ctx, response, correlationId);
  const invalid = invalidField(response);
  const malformed = invalid
    ? `The broker's answer is malformed: ${invalid}`
    : notTheBoundToken(response, binding);
  if (malformed) {
    return {
      error: "broker_error",
      error_description: malformed,
      broker_status: "InvalidResponse",
      correlation_id: correlationId,
    };
  }
  return await cacheAndReturn(ctx, scopes, response, binding);
}

// What a broker may issue; the result carries the type the request asked for (the binding's, else Bearer).
const TOKEN_TYPES = new Set(["bearer", "pop", "ssh-cert"]);
const optionalString = (value: unknown): boolean => value === undefined || typeof value === "string";
// No token lives for ten years: an `expiresOn` further ahead is a broker fault, not a lifetime to cache.
const MAX_LIFETIME_S = 10 * 365 * 24 * 3600;

/**
 * What is wrong with a broker's token, if anything. A plugin hands over what its broker sent, so each
 * field the core reads is checked: `accessToken` a non-empty string; `expiresOn` epoch seconds `>= 0`
 * and at most ten years ahead; `tokenType` absent or `Bearer`, `pop`, `ssh-cert` (any case);
 * `idToken`, `clientInfo` strings, the `idToken` a readable JWT; `idTokenClaims` an object; `grantedScopes` strings; `account.id` a
 * string.
 */
function invalidField(response: BrokerTokenResponse): string | undefined {
  if (typeof response.accessToken !== "string" || response.accessToken === "") return "no accessToken";
  const { expiresOn } = response;
  if (typeof expiresOn !== "number" || !Number.isFinite(expiresOn) || expiresOn < 0) {
    return "expiresOn is not a time in epoch seconds";
  }
  if (expiresOn > Date.now() / 1000 + MAX_LIFETIME_S) return "expiresOn is more than ten years ahead";
  const { tokenType } = response;
  if (
    tokenType !== undefined && (typeof tokenType !== "string" || !TOKEN_TYPES.has(tokenType.toLowerCase()))
  ) {
    return "tokenType is not Bearer, pop or ssh-cert";
  }
  if (!optionalString(response.idToken) || !optionalString(response.clientInfo)) {
    return "idToken or clientInfo is not a string";
  }
  const claims = response.idTokenClaims;
  if (claims !== undefined && !isJsonObject(claims)) {
    return "idTokenClaims is not an object";
  }
  // The cache decodes the ID token to name the account: one it cannot read would throw there.
  if (claims === undefined && response.idToken && claimsOf(response) === undefined) {
    return "idToken is not a JWT with a JSON object payload";
  }
  const granted = response.grantedScopes;
  if (granted !== undefined && (!Array.isArray(granted) || !granted.every((s) => typeof s === "string"))) {
    return "grantedScopes is not a list of strings";
  }
  if (!readBrokerAccount(response.account)) return "the account has no id";
  return undefined;
}

/**
 * What is wrong with a token answering a bound request: an SSH certificate starts with `AAAA` (a base64
 * length prefix). MSAL Python raises `TokenTypeError` with this message; here, as every malformed
 * broker answer, it is a `broker_error` result and nothing is cached.
 */
function notTheBoundToken(
  response: BrokerTokenResponse,
  binding: TokenBinding | undefined,
): string | undefined {
  if (binding?.type !== "ssh-cert" || response.accessToken.startsWith("AAAA")) return undefined;
  return `Broker could not get an SSH Cert: ${response.accessToken.slice(0, 8)}...`;
}

/**
 * A broker account with every field the core reads of the right type: `undefined` without a string
 * `id`; optional fields that are not strings are dropped.
 */
export function readBrokerAccount(account: unknown): BrokerAccount | undefined {
  if (!isJsonObject(account)) return undefined;
  const { id, username, homeAccountId, environment, realm } = account;
  if (typeof id !== "string" || id === "") return undefined;
  return {
    ...account,
    id,
    username: typeof username === "string" ? username : undefined,
    homeAccountId: typeof homeAccountId === "string" ? homeAccountId : undefined,
    environment: typeof environment === "string" ? environment : undefined,
    realm: typeof realm === "string" ? realm : undefined,
  };
}

/** The `broker_error` result of a call cancelled at its deadline. */
export function timeoutResult(timedOut: TimedOut, correlationId: string): ErrorResult {
  return {
    error: "broker_error",
    error_description: timeoutDescription(timedOut.timedOutMs),
    broker_status: "Timeout",
    correlation_id: correlationId,
  };
}

/**
 * The claims of a broker token's ID token: as the broker gave them, else decoded; `undefined` when
 * there is none or it cannot be decoded.
 */
export function claimsOf(response: BrokerTokenResponse): IdTokenClaims | undefined {
  const claims = response.idTokenClaims;
  if (isJsonObject(claims)) return claims;
  if (typeof response.idToken !== "string" || !response.idToken) return undefined;
  try {
    return decodeIdToken(response.idToken);
  } catch {
    return undefined;
  }
}

/** A broker account as the app sees accounts (`local_account_id` is the broker's id). */
export function accountFromBroker(
  ctx: Pick<BrokerContext, "authority">,
  account: BrokerAccount,
  claims?: IdTokenClaims,
): Account {
  const claim = (name: string): string | undefined =>
    typeof claims?.[name] === "string" ? claims[name] as string : undefined;
  return toAccount({
    home_account_id: account.homeAccountId ?? "",
    environment: account.environment ?? ctx.authority.environment,
    username: account.username ?? claim("preferred_username") ?? "",
    realm: account.realm ?? claim("tid") ?? ctx.authority.realm,
    local_account_id: account.id,
    authority_type: "MSSTS",
    account_source: "broker",
    name: claim("name"),
  });
}

function errorResult(ctx: BrokerContext, error: BrokerError, correlationId: string): ErrorResult {
  if (typeof error.context === "string" && REDIRECT_URI_NOT_REGISTERED.test(error.context)) {
    throw new RedirectUriError(ctx.broker.redirectUri(ctx.clientId), error.context);
  }
  const result: ErrorResult = {
    error: ERROR_OF_KIND[error.kind ?? "broker_error"] ?? "broker_error",
    error_description: describeBrokerError(undefined, error),
    correlation_id: correlationId,
  };
  if (typeof error.status === "string") result.broker_status = error.status;
  if (Number.isFinite(error.errorCode)) result.broker_error_code = error.errorCode;
  if (typeof error.tag === "string" || Number.isFinite(error.tag)) result.broker_tag = error.tag;
  if (Number.isFinite(error.subStatus)) result.broker_sub_status = error.subStatus;
  return result;
}

/** The `error` of a broker failure a plugin classified (rule 4; MSAL.NET's mapping of broker statuses). */
const ERROR_OF_KIND: Record<BrokerErrorKind, string> = {
  interaction_required: "interaction_required",
  user_canceled: "user_canceled",
  network: "network_error",
  broker_error: "broker_error",
};

/**
 * Caches the access token, ID token and account. An SSH certificate is cached under its key id; a
 * proof-of-possession token, bound to one request, is not.
 */
async function cacheAndReturn(
  ctx: BrokerContext,
  requestedScopes: string[],
  response: BrokerTokenResponse,
  binding: TokenBinding | undefined,
): Promise<TokenResult> {
  const now = Math.floor(Date.now() / 1000);
  const tokenType = binding?.type ?? "Bearer";
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
      realm: ctx.authority.realm,
      scopes: response.grantedScopes?.length ? response.grantedScopes : requestedScopes,
      response: wire,
      accountSource: "broker",
      brokerAccountId: response.account.id,
      ...(binding?.type === "ssh-cert" && { keyId: binding.keyId }),
      now,
    })
  );
  const claims = response.idTokenClaims ?? added.idTokenClaims;
  // The cache wrote the account with the broker's id as `local_account_id` and `account_source: "broker"`.
  const account = added.account
    ? toAccount(added.account)
    : accountFromBroker(ctx, readBrokerAccount(response.account)!, claims);
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
