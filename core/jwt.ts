/**
 * Decoding of the two opaque-looking strings a token response carries about the user: the ID token
 * (a JWT, of which only the payload is read here) and `client_info` (base64url JSON `{uid, utid}`).
 * Nothing here verifies signatures: an ID token received directly from the token endpoint over TLS is
 * authenticated by TLS (OpenID Connect Core 1.0 §3.1.3.7, step 6), as in every MSAL; its claims are
 * checked by {@linkcode checkIdTokenClaims}.
 *
 * Error messages describe what was wrong, never the token itself.
 *
 * @module
 */

import { base64UrlDecode } from "./_base64url.ts";
import { isJsonObject } from "./_json.ts";
import { issuerMatches } from "./authority.ts";
import { IdTokenError, InvalidInputError } from "./errors.ts";
import type { IdTokenClaims } from "./results.ts";

/** The two identifiers Entra ID returns in `client_info`. */
export interface ClientInfo {
  /** The user's object id in the home tenant. */
  uid: string;
  /** The home tenant id. */
  utid: string;
}

const utf8 = new TextDecoder("utf-8", { fatal: true });

/**
 * Decodes base64url (or standard base64, padded or not) into a UTF-8 string.
 *
 * @example
 * ```ts
 * base64UrlDecodeToString("eyJ1aWQiOiJ1In0"); // '{"uid":"u"}'
 * ```
 * @throws {InvalidInputError} if `text` is not base64 or not UTF-8.
 */
export function base64UrlDecodeToString(text: string): string {
  // Lenient like `atob`: the standard alphabet, any `=` padding and ASCII whitespace are accepted too.
  const bytes = base64UrlDecode(
    text.replace(/[\t\n\f\r ]/g, "").replace(/=+$/, "").replace(/\+/g, "-").replace(/\//g, "_"),
  );
  try {
    return utf8.decode(bytes);
  } catch (cause) {
    throw new InvalidInputError("Invalid base64url text: not UTF-8", { cause });
  }
}

function decodeJsonObject(text: string, what: string): Record<string, unknown> {
  let decoded: string;
  try {
    decoded = base64UrlDecodeToString(text);
  } catch (cause) {
    throw new InvalidInputError(`Malformed ${what}: not base64url`, { cause });
  }
  let value: unknown;
  try {
    value = JSON.parse(decoded);
  } catch (cause) {
    throw new InvalidInputError(`Malformed ${what}: not JSON`, { cause });
  }
  if (!isJsonObject(value)) throw new InvalidInputError(`Malformed ${what}: not a JSON object`);
  return value;
}

/**
 * Returns the decoded payload (the middle part) of a JWT, without verifying it.
 *
 * @example
 * ```ts
 * declare const accessToken: string;
 * const { exp } = decodeJwtPayload(accessToken);
 * ```
 * @throws {InvalidInputError} if `token` is not `header.payload.signature` with a base64url JSON
 *   object as payload. The message never contains the token.
 */
export function decodeJwtPayload(token: string): Record<string, unknown> {
  if (typeof token !== "string") throw new InvalidInputError("Malformed JWT: not a string");
  const parts = token.split(".");
  if (parts.length < 3 || !parts[1]) {
    throw new InvalidInputError(`Malformed JWT: expected 3 dot-separated parts, got ${parts.length}`);
  }
  return decodeJsonObject(parts[1], "JWT payload");
}

/**
 * Returns the claims of an ID token (`oid`, `tid`, `sub`, `preferred_username`, ...), without verifying
 * its signature; the caller checks `nonce` and `auth_time` where needed.
 *
 * @example
 * ```ts
 * declare const response: { id_token: string };
 * const claims = decodeIdToken(response.id_token);
 * const username = claims.preferred_username;
 * ```
 * @throws {InvalidInputError} if the ID token is malformed.
 */
export function decodeIdToken(idToken: string): IdTokenClaims {
  return decodeJwtPayload(idToken) as IdTokenClaims;
}

/**
 * Decodes Entra ID's `client_info` (base64url JSON `{"uid": ..., "utid": ...}`); the account's
 * `home_account_id` is `${uid}.${utid}`.
 *
 * @example
 * ```ts
 * declare const response: { client_info: string };
 * const { uid, utid } = decodeClientInfo(response.client_info);
 * ```
 * @throws {InvalidInputError} if it is not base64url JSON with string `uid` and `utid`.
 */
export function decodeClientInfo(clientInfo: string): ClientInfo {
  if (typeof clientInfo !== "string") throw new InvalidInputError("Malformed client_info: not a string");
  const value = decodeJsonObject(clientInfo, "client_info");
  if (typeof value.uid !== "string" || typeof value.utid !== "string") {
    throw new InvalidInputError("Malformed client_info: uid and utid must be strings");
  }
  return { uid: value.uid, utid: value.utid };
}

/** Clock skew allowed on `exp`, `iat`, `nbf` and `auth_time`, in seconds (MSAL Python's `skew = 120`). */
const ID_TOKEN_SKEW_SECONDS = 120;

/** What an ID token must say (OpenID Connect Core 1.0 §3.1.3.7). */
export interface IdTokenExpectations {
  /** The app's client id: `aud` must be it, or an array containing it (case-sensitive). */
  clientId: string;
  /**
   * The issuer from the authority's metadata: `iss` must equal it. Entra's multi-tenant template
   * `https://login.microsoftonline.com/{tenantid}/v2.0` takes the token's `tid`. Unchecked when absent.
   */
  issuer?: string;
  /** The nonce the app sent (authorization code flows). */
  nonce?: string;
  /** With `maxAge` (seconds), `auth_time` must be at most this old. */
  maxAge?: number;
  /** Epoch seconds; defaults to now. */
  now?: number;
}

function epochClaim(claims: IdTokenClaims, name: string, required: boolean): number | undefined {
  const value = claims[name];
  if (value === undefined && !required) return undefined;
  if (typeof value !== "number" || !Number.isFinite(value)) {
    throw new IdTokenError(
      name,
      `The ID token's ${name} claim is ${value === undefined ? "missing" : "not a number"}`,
    );
  }
  return value;
}

/**
 * Checks an ID token's claims as MSAL Python's OIDC layer does (OpenID Connect Core 1.0 §3.1.3.7):
 * `aud` contains the client id, `iss` is the authority's issuer, `exp` is not past and `iat`/`nbf` not
 * ahead (each with {@linkcode ID_TOKEN_SKEW_SECONDS}), `nonce` is the one sent, and `auth_time` is
 * recent enough for `maxAge`. The signature is not checked: the token came from the token endpoint
 * over TLS.
 *
 * @example
 * ```ts
 * declare const response: { id_token: string };
 * checkIdTokenClaims(decodeIdToken(response.id_token), {
 *   clientId: "my-client-id",
 *   issuer: "https://login.microsoftonline.com/{tenantid}/v2.0",
 * });
 * ```
 * @throws {IdTokenError} naming the first claim that fails.
 */
export function checkIdTokenClaims(claims: IdTokenClaims, expected: IdTokenExpectations): void {
  const now = expected.now ?? Math.floor(Date.now() / 1000);
  const skew = ID_TOKEN_SKEW_SECONDS;
  const audiences = Array.isArray(claims.aud) ? claims.aud : [claims.aud];
  if (!audiences.includes(expected.clientId)) {
    throw new IdTokenError(
      "aud",
      `The ID token's audience (aud) must contain this app's client id "${expected.clientId}", ` +
        "case-sensitively: the token was issued to another app. Was your client id in wrong casing?",
    );
  }
  const tid = typeof claims.tid === "string" ? claims.tid : undefined;
  const iss = typeof claims.iss === "string" ? claims.iss : undefined;
  if (expected.issuer !== undefined && !issuerMatches(expected.issuer, iss, tid)) {
    throw new IdTokenError(
      "iss",
      `The ID token's issuer (iss) must be the authority's issuer "${expected.issuer}"` +
        (typeof claims.iss === "string" ? `, not "${claims.iss}"` : ", and the token names none"),
    );
  }
  const exp = epochClaim(claims, "exp", true)!;
  if (now - skew > exp) {
    throw new IdTokenError("exp", `The ID token expired ${now - exp} seconds ago (exp)`);
  }
  for (const name of ["iat", "nbf"]) {
    const at = epochClaim(claims, name, false);
    if (at !== undefined && at > now + skew) {
      throw new IdTokenError(
        name,
        `The ID token is not valid until ${at - now} seconds from now (${name}); check the system clock`,
      );
    }
  }
  if (expected.nonce !== undefined && claims.nonce !== expected.nonce) {
    throw new IdTokenError(
      "nonce",
      `The ID token's nonce does not match the one this app sent (expected a nonce, got ${
        claims.nonce === undefined ? "none" : "another"
      }). The response may have been replayed.`,
    );
  }
  if (expected.maxAge !== undefined) {
    const authTime = claims.auth_time;
    if (typeof authTime !== "number") {
      throw new IdTokenError("auth_time", "maxAge was requested but the ID token has no auth_time claim");
    }
    if (now > authTime + expected.maxAge + skew) {
      throw new IdTokenError(
        "auth_time",
        `The user last signed in ${now - authTime} seconds ago, longer than maxAge=${expected.maxAge}`,
      );
    }
  }
}
