/**
 * The JSON spoken with Microsoft's Linux identity broker (`com.microsoft.identity.broker1`): request
 * builders shaped field for field like the requests Microsoft's own MSAL runtime sends, and reply
 * decoders that accept both broker generations (≤ 2.0.1 Java, ≥ 2.0.2 native) and never throw: a
 * malformed or unexpected reply becomes a {@linkcode LinuxBrokerError}. No I/O here.
 *
 * @module
 */

import { isJsonObject } from "../core/_json.ts";
import { BROKER_STATUS_NAMES } from "./broker.ts";

/** The broker's well-known name on the session bus. */
export const BROKER_BUS_NAME = "com.microsoft.identity.broker1";
/** The broker's object path. */
export const BROKER_OBJECT_PATH = "/com/microsoft/identity/broker1";
/** The broker's interface (capital B). */
export const BROKER_INTERFACE = "com.microsoft.identity.Broker1";
/** The first argument of every call; no client or broker negotiates another. */
export const PROTOCOL_VERSION = "0.0";
/** The redirect URI an app registers to use the Linux broker (MSAL Python's Linux broker guide). */
export const NATIVE_CLIENT_REDIRECT_URI = "https://login.microsoftonline.com/common/oauth2/nativeclient";
/** The authority used when a request names none. */
export const DEFAULT_AUTHORITY = "https://login.microsoftonline.com/common";
/** Where a PRT SSO cookie is for, when the caller names no URL. */
export const DEFAULT_SSO_URL = "https://login.microsoftonline.com/";
/** Sent as `msalCppVersion` by `getLinuxBrokerVersion`: the MSAL C++ version Edge reports. */
const MSAL_CPP_VERSION = "1.31.0";
const CLIENT_SKU = "@authbroker/msal";

/** The eight methods of `com.microsoft.identity.Broker1` (in `sss`: version, correlation id, JSON; out `s`). */
export type LinuxBrokerMethod =
  | "getAccounts"
  | "acquireTokenSilently"
  | "acquireTokenInteractively"
  | "removeAccount"
  | "acquirePrtSsoCookie"
  | "generateSignedHttpRequest"
  | "getLinuxBrokerVersion"
  | "cancelInteractiveFlow";

/** `authParameters.authorizationType` values (MSAL runtime's enum). */
const AuthorizationType = {
  /** A cached refresh token: silent calls. */
  CachedRefreshToken: 1,
  /** The broker's UI. */
  Interactive: 6,
  /** A PRT SSO cookie. */
  PrtSsoCookie: 8,
} as const;

/**
 * An account as the broker lists it. Only these fields are read; the object is kept whole and sent
 * back unchanged, because the broker matches on fields a client may not model.
 */
export interface LinuxBrokerAccount {
  /** `<oid>.<home tenant id>`. */
  readonly homeAccountId?: string;
  /** The object id in {@linkcode LinuxBrokerAccount.realm}. */
  readonly localAccountId?: string;
  /** The sign-in name. */
  readonly username?: string;
  /** The authority host, e.g. `login.windows.net`. */
  readonly environment?: string;
  /** The tenant id. */
  readonly realm?: string;
  /** The display name. */
  readonly name?: string;
  /** base64url JSON `{uid, utid}`. */
  readonly clientInfo?: string;
  /** Every other field the broker sent. */
  readonly [field: string]: unknown;
}

/** Proof-of-possession parameters (`popParams`), as the broker names them. */
export interface LinuxPopParameters {
  /** The HTTP method of the resource request, e.g. `"GET"`. */
  httpMethod: string;
  /** The host of the resource request, e.g. `contoso.com`. */
  uriHost: string;
  /** The path of the resource request, e.g. `/api`. */
  uriPath: string;
  /** The nonce from the resource server. */
  nonce: string;
  /** Extra claims to sign, as JSON; `""` for none. */
  clientClaims?: string;
}

/**
 * What an app can do about a failure (MSAL.NET's mapping of the broker status): go interactive
 * (status 2, 13), accept that the user cancelled (7, 8), retry later (network, 3-5), or not much
 * (`broker_error`: anything else, including transport failures and malformed replies).
 */
export type LinuxBrokerErrorKind = "interaction_required" | "user_canceled" | "network" | "broker_error";

/** A failed call: the broker's JSON error, a transport failure, or a reply that made no sense. */
export interface LinuxBrokerError {
  /** Discriminates failure from success. */
  readonly ok: false;
  /** What the app can do about it. */
  readonly kind: LinuxBrokerErrorKind;
  /**
   * The broker's status name (`"InteractionRequired"`, `"UserCanceled"`, ...), or for failures outside
   * the broker's JSON: `"Timeout"`, `"Disconnected"`, `"Unreachable"`, `"TransportError"`, `"MalformedReply"`.
   */
  readonly status: string;
  /** The broker's numeric `status`, when the broker sent one. */
  readonly statusCode?: number;
  /** The broker's `subStatus`. */
  readonly subStatus?: number;
  /** The broker's `errorCode` (a system error); 0 when none. */
  readonly errorCode: number;
  /** The broker's `tag` (the only id Microsoft can look up), or the D-Bus error name of a transport failure. */
  readonly tag: number | string;
  /** Human-readable detail, often with an `AADSTS` code. */
  readonly context: string;
}

/** A token the broker issued. */
export interface LinuxBrokerToken {
  /** Discriminates success from {@linkcode LinuxBrokerError}. */
  readonly ok: true;
  /** The access token. */
  readonly accessToken: string;
  /** `"pop"` when the broker says so (`accessTokenType: 1`), else `"Bearer"`. */
  readonly tokenType: "Bearer" | "pop";
  /** When the access token expires, epoch **milliseconds** (the broker's unit). */
  readonly expiresOn: number;
  /** The raw ID token. */
  readonly idToken?: string;
  /** base64url JSON `{uid, utid}`. */
  readonly clientInfo?: string;
  /** The scopes granted (the broker sends a space-separated string or an array). */
  readonly grantedScopes: string[];
  /** The account, when the broker sends it (brokers ≤ 2.0.1 do, later ones do not). */
  readonly account?: LinuxBrokerAccount;
}

/** The PRT SSO cookie for a web view: set it as a cookie on the login host, or as a request header. */
export interface LinuxPrtSsoCookie {
  /** Discriminates success from {@linkcode LinuxBrokerError}. */
  readonly ok: true;
  /** The cookie's name, `x-ms-RefreshTokenCredential`. */
  readonly cookieName: string;
  /** The cookie's value, a JWT. */
  readonly cookieContent: string;
}

// ---------------------------------------------------------------------------------------------------
// Requests

/** What every token request carries (the `authParameters` of Microsoft's runtime). */
export interface AuthParametersInit {
  /** The app's client id. */
  clientId: string;
  /** `https://<host>/<tenant>`; default `https://login.microsoftonline.com/common`. */
  authority?: string;
  /** The scopes exactly as the app asked for them: nothing added. */
  scopes: readonly string[];
  /** The app's redirect URI; default the native-client URI. */
  redirectUri?: string;
  /** A claims request as JSON, e.g. `{"access_token":{"xms_cc":{"values":["cp1"]}}}`. */
  claims?: string;
  /** Extra query parameters for the authorization request (never `prompt`: the runtime refuses it). */
  extraQueryParameters?: Readonly<Record<string, string>>;
  /** Proof-of-possession parameters. */
  pop?: LinuxPopParameters;
  /** The account, as the broker listed it; sent back unchanged. */
  account?: LinuxBrokerAccount;
  /** The sign-in name when there is no account (a login hint). */
  username?: string;
}

type Json = Record<string, unknown>;

/** `getAccounts`. Microsoft's runtime sends the client id as `redirectUri`; the broker does not check it. */
export function getAccountsRequest(clientId: string, redirectUri: string = clientId): Json {
  return { clientId, redirectUri };
}

function authParameters(init: AuthParametersInit, authorizationType: number): Json {
  const params: Json = {
    accessTokenToRenew: "",
    account: init.account ?? null,
    additionalQueryParametersForAuthorization: {
      "x-client-xtra-sku": CLIENT_SKU,
      ...init.extraQueryParameters,
    },
    authority: init.authority ?? DEFAULT_AUTHORITY,
    authorizationType,
    clientId: init.clientId,
    decodedClaims: init.claims ?? "",
    enrollmentId: "",
    isTestMode: false,
    password: "",
    popParams: init.pop ? popParams(init.pop) : null,
    redirectUri: init.redirectUri ?? NATIVE_CLIENT_REDIRECT_URI,
    requestedScopes: [...init.scopes],
    username: init.account?.username ?? init.username ?? "",
    uxContextHandle: -1,
  };
  // Microsoft's runtime marks a request without an account as a sign-in.
  if (!init.account) params.isSignIn = true;
  return params;
}

function popParams(pop: LinuxPopParameters, homeAccountId = ""): Json {
  return {
    clientClaims: pop.clientClaims ?? "",
    homeAccountId,
    httpMethod: pop.httpMethod,
    nonce: pop.nonce,
    uriHost: pop.uriHost,
    uriPath: pop.uriPath,
  };
}

/** `acquireTokenSilently` (`authorizationType: 1`); without an account: the OS default account. */
export function silentTokenRequest(init: AuthParametersInit): Json {
  return { authParameters: authParameters(init, AuthorizationType.CachedRefreshToken) };
}

/**
 * `acquireTokenInteractively` (`authorizationType: 6`), with the parent window both beside
 * `authParameters` and inside it; with an account, `hsu=1` as Microsoft's runtime adds it.
 */
export function interactiveTokenRequest(init: AuthParametersInit, parentWindowHandle: number): Json {
  const withAccount = init.account
    ? { ...init, extraQueryParameters: { ...init.extraQueryParameters, hsu: "1" } }
    : init;
  const params = authParameters(withAccount, AuthorizationType.Interactive);
  params.parentWindow = { handle: parentWindowHandle };
  return { authParameters: params, parentWindowHandle };
}

/** `acquirePrtSsoCookie` (`authorizationType: 8`), `ssoUrl` at the top and in `authParameters`. */
export function prtSsoCookieRequest(
  init: AuthParametersInit & { account: LinuxBrokerAccount },
  ssoUrl: string,
): Json {
  const params = authParameters(init, AuthorizationType.PrtSsoCookie);
  params.ssoUrl = ssoUrl;
  return { account: init.account, authParameters: params, mamEnrollment: false, ssoUrl };
}

/** `generateSignedHttpRequest`: a Signed HTTP Request for the account's PoP key. */
export function signedHttpRequestRequest(
  clientId: string,
  account: LinuxBrokerAccount,
  pop: LinuxPopParameters,
): Json {
  return { clientId, popParams: popParams(pop, account.homeAccountId ?? "") };
}

/** `removeAccount`. */
export function removeAccountRequest(clientId: string, account: LinuxBrokerAccount): Json {
  return { clientId, account };
}

/** `getLinuxBrokerVersion`. */
export function brokerVersionRequest(msalCppVersion: string = MSAL_CPP_VERSION): Json {
  return { msalCppVersion };
}

// ---------------------------------------------------------------------------------------------------
// Replies

/** The kind of a broker `status` number (MSAL.NET's mapping, `WamAdapters.cs`). */
function kindOfStatus(status: number | undefined): LinuxBrokerErrorKind {
  if (status === 2 || status === 13) return "interaction_required";
  if (status === 7 || status === 8) return "user_canceled";
  if (status !== undefined && status >= 3 && status <= 5) return "network";
  return "broker_error";
}

/** A failure that did not come from the broker's JSON `error` object. */
export function localError(status: string, context: string, tag: number | string = 0): LinuxBrokerError {
  return { ok: false, kind: "broker_error", status, errorCode: 0, tag, context };
}

function malformed(method: string, why: string): LinuxBrokerError {
  return localError("MalformedReply", `The broker's ${method} reply is malformed: ${why}`);
}

function integer(value: unknown): number | undefined {
  if (typeof value === "number" && Number.isFinite(value)) return Math.trunc(value);
  if (typeof value === "string" && /^-?\d+$/.test(value.trim())) return Number(value);
  return undefined;
}

function text(value: unknown): string | undefined {
  return typeof value === "string" ? value : undefined;
}

/** The broker's JSON `error` object as a {@linkcode LinuxBrokerError}. */
function brokerError(error: Json): LinuxBrokerError {
  const statusCode = integer(error.status);
  const subStatus = integer(error.subStatus);
  const tag = integer(error.tag) ?? text(error.tag) ?? 0;
  const result: {
    -readonly [K in keyof LinuxBrokerError]: LinuxBrokerError[K];
  } = {
    ok: false,
    kind: kindOfStatus(statusCode),
    status: statusCode === undefined
      ? "Unexpected"
      : BROKER_STATUS_NAMES[statusCode] ?? `Status${statusCode}`,
    errorCode: integer(error.errorCode) ?? 0,
    tag,
    context: text(error.context) ?? text(error.message) ?? "The broker returned an error without context",
  };
  if (statusCode !== undefined) result.statusCode = statusCode;
  if (subStatus !== undefined) result.subStatus = subStatus;
  return result;
}

/**
 * Parses a reply into a JSON object, or the error it carries: `error` at the top (most methods) or in
 * `brokerTokenResponse` (token methods; `inToken`).
 */
function parse(method: string, reply: unknown, inToken = false): { json: Json } | LinuxBrokerError {
  if (typeof reply !== "string") return malformed(method, "not a string");
  let json: unknown;
  try {
    json = JSON.parse(reply);
  } catch {
    return malformed(method, "not JSON");
  }
  if (!isJsonObject(json)) return malformed(method, "not a JSON object");
  if (isJsonObject(json.error)) return brokerError(json.error);
  if (inToken && isJsonObject(json.brokerTokenResponse) && isJsonObject(json.brokerTokenResponse.error)) {
    return brokerError(json.brokerTokenResponse.error);
  }
  return { json };
}

/** An account the broker listed, or `undefined` when it has no id to send back. */
function account(value: unknown): LinuxBrokerAccount | undefined {
  if (!isJsonObject(value)) return undefined;
  const id = text(value.homeAccountId) || text(value.localAccountId);
  return id ? value as LinuxBrokerAccount : undefined;
}

/**
 * Decodes a `getAccounts` reply: the accounts (entries without an id are skipped), or the error.
 * Never throws.
 */
export function decodeAccounts(reply: unknown): LinuxBrokerAccount[] | LinuxBrokerError {
  const parsed = parse("getAccounts", reply);
  if (!("json" in parsed)) return parsed;
  const value = parsed.json;
  if (!Array.isArray(value.accounts)) return malformed("getAccounts", "no accounts array");
  return value.accounts.map(account).filter((entry): entry is LinuxBrokerAccount => entry !== undefined);
}

/**
 * Decodes an `acquireTokenSilently` / `acquireTokenInteractively` reply of either generation:
 * `account` optional, `grantedScopes` a string or an array, `expiresOn` epoch milliseconds, unknown
 * fields ignored. Never throws.
 */
export function decodeToken(reply: unknown, method = "token"): LinuxBrokerToken | LinuxBrokerError {
  const parsed = parse(method, reply, true);
  if (!("json" in parsed)) return parsed;
  const response = parsed.json.brokerTokenResponse;
  if (!isJsonObject(response)) return malformed(method, "no brokerTokenResponse");
  const accessToken = text(response.accessToken);
  if (!accessToken) return malformed(method, "no access token");
  const sent = integer(response.expiresOn);
  if (sent === undefined || sent <= 0) return malformed(method, "no expiresOn");
  // Milliseconds on every broker seen; a value that would be before 1973 in ms is in seconds.
  const expiresOn = sent < 1e11 ? sent * 1000 : sent;
  const scopes = response.grantedScopes;
  const grantedScopes = typeof scopes === "string"
    ? scopes.split(/\s+/).filter(Boolean)
    : Array.isArray(scopes)
    ? scopes.filter((scope): scope is string => typeof scope === "string" && scope !== "")
    : [];
  const token: { -readonly [K in keyof LinuxBrokerToken]: LinuxBrokerToken[K] } = {
    ok: true,
    accessToken,
    tokenType: integer(response.accessTokenType) === 1 ? "pop" : "Bearer",
    expiresOn,
    grantedScopes,
  };
  const idToken = text(response.idToken);
  if (idToken) token.idToken = idToken;
  const clientInfo = text(response.clientInfo);
  if (clientInfo) token.clientInfo = clientInfo;
  const owner = account(response.account);
  if (owner) token.account = owner;
  return token;
}

/** Decodes an `acquirePrtSsoCookie` reply: flat (≤ 2.0.1) or `cookieItems[0]` (later). Never throws. */
export function decodePrtSsoCookie(reply: unknown): LinuxPrtSsoCookie | LinuxBrokerError {
  const parsed = parse("acquirePrtSsoCookie", reply);
  if (!("json" in parsed)) return parsed;
  const value = parsed.json;
  const item = Array.isArray(value.cookieItems) ? value.cookieItems[0] : value;
  if (!isJsonObject(item)) return malformed("acquirePrtSsoCookie", "no cookie");
  const cookieName = text(item.cookieName);
  const cookieContent = text(item.cookieContent);
  if (!cookieName || !cookieContent) return malformed("acquirePrtSsoCookie", "no cookie");
  return { ok: true, cookieName, cookieContent };
}

/** Decodes a `generateSignedHttpRequest` reply: the Signed HTTP Request (a JWT). Never throws. */
export function decodeSignedHttpRequest(
  reply: unknown,
): { ok: true; signedHttpRequest: string } | LinuxBrokerError {
  const parsed = parse("generateSignedHttpRequest", reply);
  if (!("json" in parsed)) return parsed;
  const signedHttpRequest = text(parsed.json.signedHttpRequest);
  if (!signedHttpRequest) return malformed("generateSignedHttpRequest", "no signedHttpRequest");
  return { ok: true, signedHttpRequest };
}

/** Decodes a `getLinuxBrokerVersion` reply, e.g. `"3.0.2"`. Never throws. */
export function decodeBrokerVersion(reply: unknown): { ok: true; version: string } | LinuxBrokerError {
  const parsed = parse("getLinuxBrokerVersion", reply);
  if (!("json" in parsed)) return parsed;
  const version = text(parsed.json.linuxBrokerVersion);
  if (!version) return malformed("getLinuxBrokerVersion", "no linuxBrokerVersion");
  return { ok: true, version };
}

/** Decodes a `removeAccount` reply: `undefined` on success (`{}` plus telemetry). Never throws. */
export function decodeRemoveAccount(reply: unknown): LinuxBrokerError | undefined {
  const parsed = parse("removeAccount", reply);
  return "json" in parsed ? undefined : parsed;
}
