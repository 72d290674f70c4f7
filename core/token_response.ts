/**
 * Reading a token endpoint's answer: every field the library uses is checked for type and range where
 * it is read, with one rule per field, and only those fields go on (into the cache and the result).
 *
 * | field | rule |
 * |---|---|
 * | `access_token` | a non-empty string; else the answer is not a token response |
 * | `token_type` | `Bearer` in any case (RFC 6749 §5.1, §7.1: the only type this client asks for); absent: `Bearer`, as MSAL Python; anything else is refused |
 * | `expires_in` | seconds: a number or decimal string (Entra v1 sends strings), finite, `>= 0`; absent: `expires_on - now`, else 600 (MSAL Python's cache default) |
 * | `expires_on` | epoch seconds, same rule; read only to derive a missing `expires_in` |
 * | `ext_expires_in` | seconds, same rule; absent: `expires_in` |
 * | `refresh_in` | seconds, same rule; absent: no proactive refresh |
 * | `scope`, `refresh_token`, `id_token`, `client_info`, `foci` | a string, or absent (`""` counts as absent) |
 *
 * A value present but breaking its rule makes the whole answer an `invalid_response`: nothing of it is
 * cached or returned. Other fields are dropped.
 *
 * @module
 */

import { InvalidInputError } from "./errors.ts";

/** A token response after {@linkcode readTokenResponse}: only checked fields, normalized. */
export interface CheckedTokenResponse {
  /** The access token. */
  access_token: string;
  /** Always `"Bearer"` from the token endpoint. */
  token_type: "Bearer";
  /** Seconds until the access token expires (an integer). */
  expires_in: number;
  /** Seconds the token stays usable during an outage. */
  ext_expires_in?: number;
  /** Seconds after which the token should be refreshed proactively. */
  refresh_in?: number;
  /** Granted scopes, space-separated. */
  scope?: string;
  /** The refresh token. */
  refresh_token?: string;
  /** The raw ID token. */
  id_token?: string;
  /** The base64url `client_info`. */
  client_info?: string;
  /** The FOCI family id. */
  foci?: string;
}

/** MSAL Python's `expires_in` when a response names no expiry. */
const DEFAULT_EXPIRES_IN_SECONDS = 600;
// 2^31 - 1 seconds (68 years): a lifetime past this is a broken server, not a long-lived token.
const MAX_SECONDS = 2 ** 31 - 1;
const MAX_EPOCH_SECONDS = Number.MAX_SAFE_INTEGER;
const STRING_FIELDS = ["scope", "refresh_token", "id_token", "client_info", "foci"] as const;

/**
 * Reads a number of seconds from a server: a finite, non-negative number or decimal string, at most
 * `max`, truncated to an integer; `undefined` when absent.
 *
 * @throws {InvalidInputError} naming `field` when present but not such a number.
 */
export function readSeconds(value: unknown, field: string, max = MAX_SECONDS): number | undefined {
  if (value === undefined || value === null) return undefined;
  const n = typeof value === "number"
    ? value
    : typeof value === "string" && /^\s*\d+(\.\d+)?\s*$/.test(value)
    ? Number(value)
    : NaN;
  if (!Number.isFinite(n) || n < 0 || n > max) {
    throw new InvalidInputError(`"${field}" is not a number of seconds (${describe(value)})`);
  }
  return Math.trunc(n);
}

/**
 * Checks a token endpoint's JSON field by field (see the module's table) and keeps only those fields.
 *
 * @param now epoch seconds, to turn `expires_on` into `expires_in`.
 * @throws {InvalidInputError} naming the first field that breaks its rule.
 */
export function readTokenResponse(body: Record<string, unknown>, now: number): CheckedTokenResponse {
  if (typeof body.access_token !== "string" || body.access_token === "") {
    throw new InvalidInputError("The token endpoint's answer has no access_token");
  }
  const tokenType = body.token_type;
  if (tokenType !== undefined && (typeof tokenType !== "string" || tokenType.toLowerCase() !== "bearer")) {
    throw new InvalidInputError(
      `The token endpoint returned a token of type ${describe(tokenType)}; this client asked for Bearer`,
    );
  }
  const expiresOn = readSeconds(body.expires_on, "expires_on", MAX_EPOCH_SECONDS);
  const expiresIn = readSeconds(body.expires_in, "expires_in") ??
    (expiresOn !== undefined ? Math.max(0, expiresOn - now) : DEFAULT_EXPIRES_IN_SECONDS);
  const checked: CheckedTokenResponse = {
    access_token: body.access_token,
    token_type: "Bearer",
    expires_in: expiresIn,
  };
  const extExpiresIn = readSeconds(body.ext_expires_in, "ext_expires_in");
  if (extExpiresIn !== undefined) checked.ext_expires_in = extExpiresIn;
  const refreshIn = readSeconds(body.refresh_in, "refresh_in");
  if (refreshIn !== undefined) checked.refresh_in = refreshIn;
  for (const field of STRING_FIELDS) {
    const value = body[field];
    if (value === undefined || value === null || value === "") continue;
    if (typeof value !== "string") {
      throw new InvalidInputError(`"${field}" is not a string (${describe(value)})`);
    }
    checked[field] = value;
  }
  return checked;
}

/** A short, secret-free description of a bad value: its type, and the value itself only if short. */
function describe(value: unknown): string {
  if (typeof value === "string") return value.length <= 16 ? JSON.stringify(value) : "a long string";
  if (typeof value === "number" || typeof value === "boolean") return String(value);
  return value === null ? "null" : Array.isArray(value) ? "an array" : `a ${typeof value}`;
}
