/**
 * Decoding of the two opaque-looking strings a token response carries about the user: the ID token
 * (a JWT, of which only the payload is read here) and `client_info` (base64url JSON `{uid, utid}`).
 * Nothing here verifies signatures: tokens come straight from the token endpoint over TLS, as in MSAL.
 *
 * Error messages describe what was wrong, never the token itself.
 *
 * @module
 */

import { InvalidInputError } from "./errors.ts";
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
  let base64 = text.replace(/-/g, "+").replace(/_/g, "/").replace(/=+$/, "");
  if (base64.length % 4 === 1) throw new InvalidInputError("Invalid base64url text: bad length");
  base64 += "=".repeat((4 - (base64.length % 4)) % 4);
  let binary: string;
  try {
    binary = atob(base64);
  } catch (cause) {
    throw new InvalidInputError("Invalid base64url text: unexpected characters", { cause });
  }
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
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
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new InvalidInputError(`Malformed ${what}: not a JSON object`);
  }
  return value as Record<string, unknown>;
}

/**
 * Returns the decoded payload (the middle part) of a JWT, without verifying it.
 *
 * @example
 * ```ts
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
