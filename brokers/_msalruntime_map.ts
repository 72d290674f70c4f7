/**
 * Pure mapping between the Broker contract and Microsoft's MSAL runtime (`@azure/msal-node-runtime`):
 * the slice of the native addon's surface the plugin uses, redirect URIs and window handles per
 * platform, the additional parameters the runtime refuses, and runtime answers as broker results the
 * way MSAL Python's `msal/broker.py` maps them. No I/O; `msalruntime.ts` does the calls.
 *
 * @module
 */

import { ConfigurationError } from "../core/errors.ts";
import type { LogLevel } from "../core/log.ts";
import type { Platform } from "../core/platform.ts";
import type { IdTokenClaims } from "../core/results.ts";
import {
  BROKER_STATUS_NAMES,
  type BrokerAccount,
  type BrokerError,
  type BrokerTokenResponse,
  CONSOLE_WINDOW_HANDLE,
  type WindowHandle,
} from "./broker.ts";
import { isJsonObject } from "../core/_json.ts";

// ---------------------------------------------------------------------------------------------------
// The native surface (a structural slice of the package's `dist/index.d.ts`, so that type checking and
// publishing never need the optional package).

/** An account as the runtime returns it; its fields are native getters. */
export interface NativeAccount {
  /** The broker's account id. */
  readonly accountId: string;
  /** `<uid>.<utid>`. */
  readonly homeAccountId?: string;
  /** The authority host. */
  readonly environment?: string;
  /** The tenant id. */
  readonly realm?: string;
  /** The sign-in name. */
  readonly username?: string;
  /** base64url JSON `{uid, utid}`. */
  readonly clientInfo?: string;
  /** The display name. */
  readonly displayName?: string;
}

/** The error the runtime's `CheckError()` throws (a plain object, not an `Error`). */
export interface NativeError {
  /** The platform's error code (e.g. an HRESULT on Windows). */
  errorCode: number;
  /** An `ErrorStatus` value, 0 to 16. */
  errorStatus: number;
  /** Human-readable detail; `(pii)` stands for scrubbed personal data. */
  errorContext: string;
  /** Where in the runtime the error arose. */
  errorTag: number;
}

/** A token answer; `CheckError()` throws a {@linkcode NativeError} when the call failed. */
export interface NativeAuthResult {
  /** Throws the call's {@linkcode NativeError}, if any. */
  CheckError(): void;
  /** The ID token's claims as a JSON string (decoded by the runtime). */
  readonly idToken?: string;
  /** The raw ID token. */
  readonly rawIdToken?: string;
  /** The access token (Bearer). */
  readonly accessToken?: string;
  /** `pop <signed HTTP request>` for proof-of-possession tokens. */
  readonly authorizationHeader?: string;
  /** Space-separated granted scopes. */
  readonly grantedScopes?: string;
  /** When the access token expires, epoch seconds. */
  readonly expiresOn?: number;
  /** Whether the token is a proof-of-possession token. */
  readonly isPopAuthorization?: boolean;
  /** The account the token belongs to. */
  readonly account?: NativeAccount;
}

/** Request parameters, built with `new runtime.AuthParameters()` then `CreateAuthParameters`. */
export interface NativeAuthParameters {
  /** Sets the client id and authority; must come first. */
  CreateAuthParameters(clientId: string, authority: string): void;
  /** Sets the redirect URI. */
  SetRedirectUri(redirectUri: string): void;
  /** Sets the scopes, space-separated. */
  SetRequestedScopes(scopes: string): void;
  /** Sets a claims request (JSON). */
  SetDecodedClaims(claims: string): void;
  /** Asks for a proof-of-possession token. */
  SetPopParams(method: string, host: string, path: string, nonce: string): void;
  /** Adds a parameter the runtime sends to the identity provider or interprets itself. */
  SetAdditionalParameter(key: string, value: string): void;
}

/** Cancels a pending call. */
export interface NativeAsyncHandle {
  /** Asks the runtime to cancel; the call's callback may still fire. */
  CancelAsyncOperation(): void;
}

/** The callback-style methods the plugin calls. */
export interface NativeRuntime {
  /** Set when the runtime could not start (no broker, or the native library did not load). */
  readonly StartupError?: NativeError;
  /** Creates request parameters. */
  readonly AuthParameters: new () => NativeAuthParameters;
  /** Lists the accounts the broker knows for a client. */
  DiscoverAccountsAsync(
    clientId: string,
    correlationId: string,
    callback: (result: { CheckError(): void; readonly accounts: NativeAccount[] }) => void,
  ): NativeAsyncHandle;
  /** Looks one account up by its broker id. */
  ReadAccountByIdAsync(
    accountId: string,
    correlationId: string,
    callback: (result: { CheckError(): void; readonly account: NativeAccount }) => void,
  ): NativeAsyncHandle;
  /** A token for the OS default account, without UI. */
  SignInSilentlyAsync(
    params: NativeAuthParameters,
    correlationId: string,
    callback: (result: NativeAuthResult) => void,
  ): NativeAsyncHandle;
  /** Silent first, then UI if needed. */
  SignInAsync(
    windowHandle: Uint8Array,
    params: NativeAuthParameters,
    correlationId: string,
    accountHint: string,
    callback: (result: NativeAuthResult) => void,
  ): NativeAsyncHandle;
  /** Always shows the account picker or sign-in UI. */
  SignInInteractivelyAsync(
    windowHandle: Uint8Array,
    params: NativeAuthParameters,
    correlationId: string,
    accountHint: string,
    callback: (result: NativeAuthResult) => void,
  ): NativeAsyncHandle;
  /** A token for a known account, without UI. */
  AcquireTokenSilentlyAsync(
    params: NativeAuthParameters,
    correlationId: string,
    account: NativeAccount,
    callback: (result: NativeAuthResult) => void,
  ): NativeAsyncHandle;
  /** A token for a known account, with UI. */
  AcquireTokenInteractivelyAsync(
    windowHandle: Uint8Array,
    params: NativeAuthParameters,
    correlationId: string,
    account: NativeAccount,
    callback: (result: NativeAuthResult) => void,
  ): NativeAsyncHandle;
  /** Signs the account out of the client. */
  SignOutSilentlyAsync(
    clientId: string,
    correlationId: string,
    account: NativeAccount,
    callback: (result: { CheckError(): void }) => void,
  ): NativeAsyncHandle;
  /** Receives the runtime's log lines; process-wide, the last registration wins. */
  RegisterLogger(
    callback: (message: string, level: number, containsPii: boolean) => void,
    pii: boolean,
  ): void;
}

// ---------------------------------------------------------------------------------------------------

/** The redirect URI WAM accepts for `clientId` (Windows, and WSL through the Windows host). */
function wamRedirectUri(clientId: string): string {
  return `ms-appx-web://Microsoft.AAD.BrokerPlugin/${clientId}`;
}

/** The redirect URI of unsigned macOS apps; signed apps register `msauth.<bundle id>://auth`. */
const MAC_UNSIGNED_REDIRECT_URI = "msauth.com.msauth.unsignedapp://auth";

/** The redirect URI of the Linux identity broker. */
export const NATIVE_CLIENT_REDIRECT_URI = "https://login.microsoftonline.com/common/oauth2/nativeclient";

/**
 * The redirect URI the app must register for the broker on `platform`: WAM's
 * `ms-appx-web://Microsoft.AAD.BrokerPlugin/{client_id}` on Windows and WSL,
 * `msauth.com.msauth.unsignedapp://auth` on macOS, the native-client URI on Linux. `override` (a
 * signed macOS app's `msauth.<bundle id>://auth`) wins everywhere.
 *
 * @example
 * ```ts
 * import { brokerRedirectUri } from "./_msalruntime_map.ts";
 *
 * brokerRedirectUri("windows", "0f7d..."); // "ms-appx-web://Microsoft.AAD.BrokerPlugin/0f7d..."
 * ```
 */
export function brokerRedirectUri(platform: Platform, clientId: string, override?: string): string {
  if (override) return override;
  if (platform === "windows" || platform === "wsl") return wamRedirectUri(clientId);
  if (platform === "mac") return MAC_UNSIGNED_REDIRECT_URI;
  return NATIVE_CLIENT_REDIRECT_URI;
}

/**
 * The window handle as the runtime takes it: the pointer's bytes, little-endian, `pointerBytes` long.
 * {@linkcode CONSOLE_WINDOW_HANDLE} becomes the null handle, which the runtime reads as "no parent
 * window" and parents its UI itself (measured on Linux: it sends handle 1 to the broker; msal-node
 * passes the same null handle). A number or bigint is the native handle (HWND, NSView pointer, X11
 * window id); bytes are passed as given.
 *
 * @throws {ConfigurationError} for a negative, fractional or too large number, or empty or oversized bytes.
 */
export function nativeWindowHandle(handle: WindowHandle, pointerBytes: 4 | 8): Uint8Array {
  if (handle === CONSOLE_WINDOW_HANDLE) return new Uint8Array(pointerBytes);
  if (handle instanceof Uint8Array) {
    if (handle.length === 0 || handle.length > 8) {
      throw new ConfigurationError(`parentWindowHandle must be 1 to 8 bytes, got ${handle.length}`);
    }
    return handle.slice();
  }
  if (typeof handle === "number" && !Number.isSafeInteger(handle)) {
    throw new ConfigurationError(`parentWindowHandle must be an integer, got ${handle}`);
  }
  if (typeof handle !== "number" && typeof handle !== "bigint") {
    throw new ConfigurationError(
      "parentWindowHandle must be a number, a bigint, bytes or CONSOLE_WINDOW_HANDLE",
    );
  }
  const value = BigInt(handle);
  if (value < 0n || value >= 1n << BigInt(pointerBytes * 8)) {
    throw new ConfigurationError(
      `parentWindowHandle ${handle} does not fit a ${pointerBytes * 8}-bit pointer`,
    );
  }
  const bytes = new Uint8Array(8);
  new DataView(bytes.buffer).setBigUint64(0, value, true);
  return bytes.slice(0, pointerBytes);
}

/**
 * Additional parameters the runtime refuses with `ApiContractViolation` ("Disallowed additional query
 * parameter was used"), measured with `@azure/msal-node-runtime` 0.20.7: each is either set through
 * its own API (scopes, redirect URI, login hint, claims) or belongs to the runtime's own protocol.
 */
const REFUSED_PARAMETERS: ReadonlySet<string> = new Set([
  "assertion",
  "client_assertion",
  "client_assertion_type",
  "client_id",
  "client_info",
  "code",
  "code_challenge",
  "code_challenge_method",
  "dc",
  "domain_hint",
  "grant_type",
  "mkt",
  "nonce",
  "password",
  "prompt",
  "redirect_uri",
  "refresh_token",
  "request",
  "response_mode",
  "response_type",
  "scope",
  "username",
]);

/**
 * Splits extra parameters into those to pass to the runtime and those it would refuse (matched
 * case-insensitively, so `Prompt` does not slip a second prompt past it).
 */
export function partitionExtraParameters(
  extra: Record<string, string> | undefined,
): { pass: [string, string][]; refused: string[] } {
  const pass: [string, string][] = [];
  const refused: string[] = [];
  for (const [key, value] of Object.entries(extra ?? {})) {
    if (REFUSED_PARAMETERS.has(key.toLowerCase())) refused.push(key);
    else pass.push([key, String(value)]);
  }
  return { pass, refused };
}

/** The runtime's log levels (Trace 1 … Fatal 6) as the library's: as msal-node maps them. */
export function logLevelOf(level: number): LogLevel {
  if (level >= 5) return "error";
  if (level === 4) return "warning";
  if (level === 3) return "info";
  return "verbose";
}

/** A runtime account as a {@linkcode BrokerAccount}; the native object rides along for later calls. */
export interface MsalRuntimeAccount extends BrokerAccount {
  /** The runtime's own account object, handed back to it unchanged. */
  readonly native: NativeAccount;
}

/** Maps a runtime account; fields the runtime leaves empty are left out. */
export function accountOf(native: NativeAccount): MsalRuntimeAccount {
  const account: Record<string, unknown> = { id: String(native.accountId ?? ""), native };
  const copy = (from: keyof NativeAccount, to: string): void => {
    const value = native[from];
    if (typeof value === "string" && value) account[to] = value;
  };
  copy("username", "username");
  copy("homeAccountId", "homeAccountId");
  copy("environment", "environment");
  copy("realm", "realm");
  return account as unknown as MsalRuntimeAccount;
}

/** Whether `value` looks like the runtime's {@linkcode NativeError}. */
export function isNativeError(value: unknown): value is NativeError {
  return typeof value === "object" && value !== null && "errorStatus" in value &&
    typeof (value as NativeError).errorStatus === "number";
}

/**
 * A runtime error as a {@linkcode BrokerError}: the `ErrorStatus` name (MSAL Python's adapter reports
 * `Status_<name>`; the flows accept both), the code, the tag and the context (rule 4).
 */
export function brokerErrorOf(error: NativeError): BrokerError {
  return {
    ok: false,
    status: BROKER_STATUS_NAMES[error.errorStatus] ?? `Unknown(${error.errorStatus})`,
    errorCode: Number(error.errorCode ?? 0),
    tag: Number(error.errorTag ?? 0),
    context: String(error.errorContext ?? ""),
  };
}

/** A {@linkcode BrokerError} this plugin makes up (no runtime answer to map). */
export function pluginError(status: string, context: string): BrokerError {
  return { ok: false, status, errorCode: 0, tag: 0, context };
}

/** What kind of token the request asked for, to name the result's `token_type`. */
export type ExpectedTokenType = "Bearer" | "pop" | "ssh-cert";

/**
 * A successful runtime answer as a {@linkcode BrokerTokenResponse}, as MSAL Python's `_convert_result`
 * maps it: the access token (for PoP, the second word of `authorizationHeader`), `expiresOn` in epoch
 * seconds, the raw ID token and the claims the runtime decoded, `client_info` and the broker account id
 * from the account, the granted scopes. An answer without a usable access token or expiry is an
 * `Unexpected` broker error naming what is missing, never a half-filled token.
 */
export function tokenResponseOf(
  result: NativeAuthResult,
  expected: ExpectedTokenType,
): BrokerTokenResponse | BrokerError {
  const pop = expected === "pop" || result.isPopAuthorization === true;
  const accessToken = pop ? popToken(result.authorizationHeader) : result.accessToken;
  if (!accessToken) {
    return pluginError(
      "Unexpected",
      pop
        ? "The runtime returned no proof-of-possession authorization header"
        : "The runtime returned no access token",
    );
  }
  const expiresOn = Number(result.expiresOn);
  if (!Number.isFinite(expiresOn) || expiresOn <= 0) {
    return pluginError("Unexpected", `The runtime returned an unusable expiry: ${String(result.expiresOn)}`);
  }
  if (!result.account?.accountId) {
    return pluginError("Unexpected", "The runtime returned a token without an account");
  }
  const account = accountOf(result.account);
  const response: BrokerTokenResponse = {
    ok: true,
    accessToken,
    expiresOn: Math.floor(expiresOn),
    account,
    tokenType: pop ? "pop" : expected,
  };
  if (result.rawIdToken) response.idToken = result.rawIdToken;
  const claims = decodedClaims(result.idToken);
  if (claims) response.idTokenClaims = claims;
  if (result.account.clientInfo) response.clientInfo = result.account.clientInfo;
  const scopes = (result.grantedScopes ?? "").split(" ").filter(Boolean);
  if (scopes.length) response.grantedScopes = scopes;
  return response;
}

function popToken(header: string | undefined): string | undefined {
  const [scheme, token] = (header ?? "").trim().split(/\s+/, 2);
  return scheme?.toLowerCase() === "pop" && token ? token : undefined;
}

/**
 * The runtime's decoded ID token claims; `undefined` when absent or not a JSON object (the flows then
 * decode the raw ID token themselves).
 */
function decodedClaims(json: string | undefined): IdTokenClaims | undefined {
  if (!json) return undefined;
  try {
    const claims: unknown = JSON.parse(json);
    return isJsonObject(claims) ? claims as IdTokenClaims : undefined;
  } catch {
    return undefined;
  }
}
