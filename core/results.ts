/**
 * The result objects every token API returns: a {@linkcode TokenResult} on success or an
 * {@linkcode ErrorResult} when the identity provider or the broker said no. They use the OAuth wire
 * names MSAL Python returns, as a discriminated union: test with `"access_token" in result`.
 *
 * @module
 */

import type { AccountEntry } from "./_cache_schema.ts";

/** Where a token came from. */
export type TokenSource = "identity_provider" | "cache" | "broker";

/** Claims of a decoded ID token; `oid`, `tid`, `preferred_username` are the ones MSAL relies on. */
export interface IdTokenClaims {
  /** Issuer. */
  iss?: string;
  /** Subject. */
  sub?: string;
  /** Audience: the client id, alone or in an array. */
  aud?: string | string[];
  /** Expiry, epoch seconds. */
  exp?: number;
  /** Issued at, epoch seconds. */
  iat?: number;
  /** Time of the user's authentication, epoch seconds. */
  auth_time?: number;
  /** Nonce echoed from the authorization request. */
  nonce?: string;
  /** Object id of the user. */
  oid?: string;
  /** Tenant id. */
  tid?: string;
  /** Sign-in name. */
  preferred_username?: string;
  /** Display name. */
  name?: string;
  /** Any other claim. */
  [claim: string]: unknown;
}

/** A successful token acquisition. */
export interface TokenResult {
  /** The access token. */
  access_token: string;
  /** `"Bearer"` (or `"pop"`, `"ssh-cert"` from a broker). */
  token_type: string;
  /** Seconds until the access token expires. */
  expires_in: number;
  /** Where the token came from. */
  token_source: TokenSource;
  /** Granted scopes, space-separated, when the server said. */
  scope?: string;
  /** Epoch seconds after which MSAL refreshes proactively, when the server asked for that. */
  refresh_on?: number;
  /** The raw ID token, when one came with this response. */
  id_token?: string;
  /** The decoded claims of the ID token (from this response, or the cached one). */
  id_token_claims?: IdTokenClaims;
  /** The refresh token, when the identity provider returned one. */
  refresh_token?: string;
  /** The base64url `client_info` from the server. */
  client_info?: string;
  /** The account the token belongs to, as {@linkcode Account}. */
  account?: Account;
  /** Seconds the token stays usable when the identity provider is down. */
  ext_expires_in?: number;
  /** `"1"` when the app belongs to the family of Microsoft first-party clients. */
  foci?: string;
}

/** A protocol failure: what the identity provider or the broker returned instead of a token. */
export interface ErrorResult {
  /**
   * The OAuth error code, e.g. `"invalid_grant"`, `"interaction_required"`, `"broker_error"`; from a broker
   * that classifies its failures also `"user_canceled"` or `"network_error"` (retry later).
   */
  error: string;
  /** Human-readable detail. */
  error_description?: string;
  /** The AADSTS numbers of the error, e.g. `[50076]`. */
  error_codes?: number[];
  /** Entra's sub-error, e.g. `"bad_token"`. */
  suberror?: string;
  /** MSAL Python's classification of `suberror`. */
  classification?: string;
  /** The correlation id of the failing request. */
  correlation_id?: string;
  /** A claims challenge to pass back as `claimsChallenge`. */
  claims?: string;
  /** When the server failed the request, as it wrote it (e.g. `"2024-05-01 12:00:00Z"`). */
  timestamp?: string;
  /** Server trace id. */
  trace_id?: string;
  /** The HTTP status, when the failure was an HTTP error page rather than an OAuth error. */
  http_status?: number;
  /** A page that explains the error. */
  error_uri?: string;
  /** Machine-readable broker status, for `broker_error`, e.g. `"AccountUnusable"`. */
  broker_status?: string;
  /** The broker's numeric error code, for `broker_error`. */
  broker_error_code?: number;
  /** The broker's tag (where in the broker the error arose), for `broker_error`. */
  broker_tag?: number | string;
  /** The broker's numeric sub-status, when it sent one. */
  broker_sub_status?: number;
}

/** Either outcome of a token request. */
export type AuthResult = TokenResult | ErrorResult;

/** An account as `getAccounts` lists it: one entry per home account, MSAL Python's field names. */
export interface Account {
  /** `<uid>.<utid>` from `client_info`, or the `sub` for ADFS. */
  home_account_id: string;
  /** The authority host the account signed in at (its cache environment). */
  environment: string;
  /** The user's sign-in name. */
  username: string;
  /** The tenant of the most recent sign-in. */
  realm: string;
  /** The user's object id in that tenant (or the broker's account id for broker accounts). */
  local_account_id: string;
  /** `"MSSTS"` for Entra ID, `"ADFS"` for ADFS. */
  authority_type: string;
  /** How the account was established: `"broker"`, `"authorization_code"`, the device-code URN, ... */
  account_source?: string;
  /** Display name, when known. */
  name?: string;
}

/**
 * The public {@linkcode Account} of a cache Account entry: the one place an account is shaped for the
 * app (a broker account is one with the broker's id as `local_account_id`).
 *
 * @param entry the cache's Account entry (as MSAL Python or msal-node wrote it)
 * @returns the account, every required field a string
 */
export function toAccount(entry: AccountEntry): Account {
  const account: Account = {
    home_account_id: entry.home_account_id,
    environment: entry.environment,
    // A cache file may hold `null` where MSAL Python had no value; the app always gets strings.
    username: entry.username ?? "",
    realm: entry.realm ?? "",
    local_account_id: entry.local_account_id ?? "",
    authority_type: entry.authority_type ?? "",
  };
  if (typeof entry.account_source === "string") account.account_source = entry.account_source;
  if (typeof entry.name === "string") account.name = entry.name;
  return account;
}

/**
 * Whether `result` is a {@linkcode TokenResult}: it carries an `access_token` string.
 *
 * @param result what an `acquireToken*` call resolved to; `null` and `undefined` are allowed
 * @returns `true` for a token result, narrowing `result` to {@linkcode TokenResult}
 */
export function isTokenResult(result: AuthResult | null | undefined): result is TokenResult {
  return !!result && typeof (result as TokenResult).access_token === "string";
}

/**
 * Whether `result` is an {@linkcode ErrorResult}: it carries an `error` string.
 *
 * @param result what an `acquireToken*` call resolved to; `null` and `undefined` are allowed
 * @returns `true` for an error result, narrowing `result` to {@linkcode ErrorResult}
 */
export function isErrorResult(result: AuthResult | null | undefined): result is ErrorResult {
  return !!result && typeof (result as ErrorResult).error === "string";
}

const SUBERROR_WITHOUT_CLASSIFICATION = new Set([
  "bad_token",
  "token_expired",
  "protection_policy_required",
  "client_mismatch",
  "device_authentication_failed",
]);

/** Adds MSAL Python's `classification` to an error that has a `suberror`. */
export function classifyError(result: ErrorResult): ErrorResult {
  if (!result.suberror) return result;
  return {
    ...result,
    classification: SUBERROR_WITHOUT_CLASSIFICATION.has(result.suberror) ? "" : result.suberror,
  };
}
