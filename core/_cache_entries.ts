/**
 * MSAL Python's `TokenCache.__add` derivations: turns one token response into the cache entries it
 * adds. Pure (no cache access), so a malformed response throws before anything is written.
 * Private to `core/cache.ts`.
 *
 * @module
 */

import type {
  AccessTokenEntry,
  AccountEntry,
  AppMetadataEntry,
  IdTokenEntry,
  RefreshTokenEntry,
} from "./_cache_schema.ts";
import { decodeClientInfo, decodeIdToken } from "./jwt.ts";
import type { IdTokenClaims } from "./results.ts";
import { isJsonObject } from "./_json.ts";

/** What a token response adds (MSAL Python's `TokenCache.add` event). */
export interface TokenResponseEvent {
  /** The app the tokens were issued to. */
  clientId: string;
  /** Cache environment: the authority host, e.g. `login.microsoftonline.com` or `127.0.0.1:8080`. */
  environment: string;
  /**
   * The authority's cache realm (`common`, `organizations`, a GUID, `adfs`, a B2C tenant domain...);
   * replaced by the ID token's `tid` unless `fixedRealm`.
   */
  realm: string;
  /**
   * Write `realm` even when the ID token names a `tid`: B2C, ADFS and generic OIDC authorities, as MSAL
   * Python writes them.
   */
  fixedRealm?: boolean;
  /** Requested scopes; used when the response has no `scope`. */
  scopes: string[];
  /**
   * The raw token response: `access_token`, `token_type`, `expires_in`, `ext_expires_in`, `refresh_in`,
   * `refresh_token`, `id_token`, `client_info`, `foci`, `scope`, and `id_token_claims` when a broker
   * already decoded them.
   */
  response: Record<string, unknown>;
  /** Written as `account_source` on the Account entry (`"broker"`, `"authorization_code"`...). */
  accountSource?: string;
  /** The broker's account id; becomes `local_account_id` (MSAL Python's `_account_id`). */
  brokerAccountId?: string;
  /** Fallback username when the ID token has none (ROPC). */
  username?: string;
  /** Silent refreshes set this so that they do not recreate an account the user removed. */
  skipAccountCreation?: boolean;
  /** `key_id` of a PoP or SSH-certificate access token. */
  keyId?: string;
  /** Epoch seconds; defaults to now. */
  now?: number;
}

/** The entries one token response produces. */
export interface BuiltEntries {
  /** `<uid>.<utid>` from `client_info`, else the ID token's `sub`. */
  homeAccountId?: string;
  /** The tenant the entries are written for: the ID token's `tid` (unless `fixedRealm`), else the event's realm. */
  realm: string;
  /** Decoded (or broker-provided) ID token claims. */
  idTokenClaims?: IdTokenClaims;
  /** The access token, if the response had one. */
  accessToken?: AccessTokenEntry;
  /** The refresh token, if the response had one. */
  refreshToken?: RefreshTokenEntry;
  /** The ID token, if the response had a raw one. */
  idToken?: IdTokenEntry;
  /** The account, unless unknown or `skipAccountCreation`. */
  account?: AccountEntry;
  /** Always written (MSAL Python does; msal-node only on FOCI). */
  appMetadata: AppMetadataEntry;
}

function integer(value: unknown): number | undefined {
  if (value === undefined || value === null || value === "") return undefined;
  const n = Number(value); // AADv1-like endpoints send strings
  return Number.isFinite(n) ? Math.trunc(n) : undefined;
}

function nonEmptyString(value: unknown): string | undefined {
  return typeof value === "string" && value !== "" ? value : undefined;
}

function homeAccountIdOf(response: Record<string, unknown>, claims?: IdTokenClaims): string | undefined {
  const clientInfo = nonEmptyString(response.client_info);
  if (clientInfo) {
    try {
      const { uid, utid } = decodeClientInfo(clientInfo);
      return `${uid}.${utid}`;
    } catch {
      // MSAL Python falls back to `sub` when client_info lacks uid/utid (its issue #387).
    }
  }
  return nonEmptyString(claims?.sub);
}

/** Derives the cache entries of a token response the way MSAL Python's `TokenCache.add` does. */
export function buildEntries(event: TokenResponseEvent): BuiltEntries {
  const response = event.response ?? {};
  const now = Math.trunc(event.now ?? Date.now() / 1000);
  const rawIdToken = nonEmptyString(response.id_token);
  const idTokenClaims: IdTokenClaims | undefined = isJsonObject(response.id_token_claims)
    ? response.id_token_claims as IdTokenClaims
    : rawIdToken
    ? decodeIdToken(rawIdToken)
    : undefined;
  const homeAccountId = homeAccountIdOf(response, idTokenClaims);
  const hid = homeAccountId ?? "";
  const environment = event.environment;
  const clientId = event.clientId;
  const realm = (event.fixedRealm ? undefined : nonEmptyString(idTokenClaims?.tid)) ?? event.realm;
  const scope = typeof response.scope === "string" ? response.scope.split(/\s+/).filter(Boolean) : [];
  const target = [...new Set(scope.length ? scope : event.scopes)].sort().join(" ");
  const foci = response.foci === undefined || response.foci === null ? undefined : String(response.foci);
  const built: BuiltEntries = {
    homeAccountId,
    realm,
    idTokenClaims,
    appMetadata: { client_id: clientId, environment, ...(foci !== undefined && { family_id: foci }) },
  };

  const accessToken = nonEmptyString(response.access_token);
  if (accessToken) {
    const expiresOn = integer(response.expires_on);
    const expiresIn = integer(response.expires_in) ?? (expiresOn !== undefined ? expiresOn - now : 600);
    const extExpiresIn = integer(response.ext_expires_in) ?? expiresIn;
    const refreshIn = integer(response.refresh_in);
    built.accessToken = {
      credential_type: "AccessToken",
      secret: accessToken,
      home_account_id: hid,
      environment,
      client_id: clientId,
      target,
      realm,
      token_type: nonEmptyString(response.token_type) ?? "Bearer",
      cached_at: String(now),
      expires_on: String(now + expiresIn),
      extended_expires_on: String(now + extExpiresIn),
      ...(refreshIn !== undefined && { refresh_on: String(now + refreshIn) }),
      ...(event.keyId !== undefined && { key_id: event.keyId }),
    };
  }

  if (homeAccountId && !event.skipAccountCreation) {
    const claims = idTokenClaims ?? {};
    const clientInfo = nonEmptyString(response.client_info);
    const name = nonEmptyString(claims.name);
    built.account = {
      home_account_id: homeAccountId,
      environment,
      realm,
      local_account_id: event.brokerAccountId ?? nonEmptyString(claims.oid) ?? nonEmptyString(claims.sub) ??
        "",
      // MSAL Python: preferred_username, then upn (ADFS); then what generic OIDC providers send.
      username: nonEmptyString(claims.preferred_username) ?? nonEmptyString(claims.upn) ??
        nonEmptyString(claims.email) ?? nonEmptyString(claims.unique_name) ??
        nonEmptyString(event.username) ??
        "",
      authority_type: realm.toLowerCase() === "adfs" || event.realm.toLowerCase() === "adfs"
        ? "ADFS"
        : "MSSTS",
      ...(event.accountSource !== undefined && { account_source: event.accountSource }),
      // Extras msal-node reads (Python ignores unknown fields).
      ...(name !== undefined && { name }),
      ...(clientInfo !== undefined && { client_info: clientInfo }),
    };
  }

  if (rawIdToken) {
    built.idToken = {
      credential_type: "IdToken",
      secret: rawIdToken,
      home_account_id: hid,
      environment,
      realm,
      client_id: clientId,
    };
  }

  const refreshToken = nonEmptyString(response.refresh_token);
  if (refreshToken) {
    built.refreshToken = {
      credential_type: "RefreshToken",
      secret: refreshToken,
      home_account_id: hid,
      environment,
      client_id: clientId,
      target,
      last_modification_time: String(now),
      ...(foci !== undefined && { family_id: foci }),
    };
  }
  return built;
}
