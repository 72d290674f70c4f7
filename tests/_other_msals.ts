// What the other MSALs bring to the interop tests: msal-node's network module over a fake identity
// provider's fetch, and token caches as MSAL Python 1.x writes them.
import type * as msal from "@azure/msal-node";
import { CLIENT_ID } from "./_helpers.ts";

/** msal-node's network module, sending every request through `fetch` (a fake identity provider's). */
export function msalNodeNetwork(fetch: typeof globalThis.fetch): msal.INetworkModule {
  const send = async <T>(
    url: string,
    method: string,
    options?: { headers?: Record<string, string>; body?: string },
  ) => {
    const response = await fetch(url, { method, headers: options?.headers, body: options?.body });
    const text = await response.text();
    return {
      status: response.status,
      headers: Object.fromEntries(response.headers.entries()),
      body: (text ? JSON.parse(text) : {}) as T,
    };
  };
  return {
    sendGetRequestAsync: (url, options) => send(url, "GET", options),
    sendPostRequestAsync: (url, options) => send(url, "POST", options),
  };
}

/** One user's sign-in for {@linkcode CLIENT_ID}, as MSAL Python records it. */
export interface MsalPythonSignIn {
  /** `home_account_id`: `<uid>.<utid>` from client_info, else the ID token's `sub`. */
  homeAccountId: string;
  /** The authority's host. */
  environment: string;
  /** MSAL Python's realm: the first path segment of the token endpoint. */
  realm: string;
  /** The scopes, space-separated. */
  target: string;
  /** The access token's secret. */
  accessToken: string;
  /** The refresh token's secret; no refresh token without it. */
  refreshToken?: string;
  /** The raw ID token; no ID token entry without it. */
  idToken?: string;
  /** `cached_at` (and the refresh token's `last_modification_time`), in epoch seconds. */
  cachedAt: number;
  /** The access token's `expires_on` (and `extended_expires_on`), in epoch seconds. */
  expiresOn: number;
  /** The account's `local_account_id`. */
  localAccountId: string;
  /** The account's `username`. */
  username: string;
  /** The account's `authority_type`; `MSSTS` by default. */
  authorityType?: "MSSTS" | "ADFS";
  /** The account's `account_source` (the grant that signed the user in), when recorded. */
  accountSource?: string;
}

/**
 * A serialized cache as MSAL Python 1.x's `TokenCache.add` writes it (token_cache.py's key makers, keys
 * lower-cased, `indent=4` as its SerializableTokenCache does, AppMetadata always present).
 */
export function msalPythonCache(signIn: MsalPythonSignIn): string {
  const { homeAccountId: hid, environment: env, realm, target, cachedAt, expiresOn } = signIn;
  const entry = (key: string, value: Record<string, string>) => ({ [key.toLowerCase()]: value });
  const common = { home_account_id: hid, environment: env, client_id: CLIENT_ID };
  return JSON.stringify(
    {
      AccessToken: entry(`${hid}-${env}-accesstoken-${CLIENT_ID}-${realm}-${target}`, {
        credential_type: "AccessToken",
        secret: signIn.accessToken,
        ...common,
        target,
        realm,
        token_type: "Bearer",
        cached_at: String(cachedAt),
        expires_on: String(expiresOn),
        extended_expires_on: String(expiresOn),
      }),
      ...(signIn.refreshToken !== undefined && {
        RefreshToken: entry(`${hid}-${env}-refreshtoken-${CLIENT_ID}--${target}`, {
          credential_type: "RefreshToken",
          secret: signIn.refreshToken,
          ...common,
          target,
          last_modification_time: String(cachedAt),
        }),
      }),
      ...(signIn.idToken !== undefined && {
        IdToken: entry(`${hid}-${env}-idtoken-${CLIENT_ID}-${realm}-`, {
          credential_type: "IdToken",
          secret: signIn.idToken,
          ...common,
          realm,
        }),
      }),
      Account: entry(`${hid}-${env}-${realm}`, {
        home_account_id: hid,
        environment: env,
        realm,
        local_account_id: signIn.localAccountId,
        username: signIn.username,
        authority_type: signIn.authorityType ?? "MSSTS",
        ...(signIn.accountSource !== undefined && { account_source: signIn.accountSource }),
      }),
      AppMetadata: { [`appmetadata-${env}-${CLIENT_ID}`]: { client_id: CLIENT_ID, environment: env } },
    },
    null,
    4,
  );
}
