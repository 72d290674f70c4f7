/**
 * Microsoft Entra ID (and OpenID Connect) sign-in for Deno, Bun and Node public-client apps, with
 * single sign-on through the operating system's authentication broker and MSAL Python's fallbacks
 * to the browser, device-code and cached flows.
 *
 * @example
 * ```ts
 * import { PublicClientApplication } from "@authbroker/msal";
 *
 * const app = await PublicClientApplication.create("your-client-id", {
 *   authority: "https://login.microsoftonline.com/common",
 *   enableBrokerOnLinux: true,
 *   enableBrokerOnWindows: true,
 * });
 * const [account] = await app.getAccounts();
 * const result = (account && await app.acquireTokenSilent(["User.Read"], { account })) ??
 *   await app.acquireTokenInteractive(["User.Read"], { parentWindowHandle: app.CONSOLE_WINDOW_HANDLE });
 * if ("access_token" in result) console.log("Signed in as", result.id_token_claims?.preferred_username);
 * else console.error(result.error, result.error_description);
 * ```
 *
 * @module
 */

export { PublicClientApplication } from "./app/application.ts";
export type {
  AcquireTokenByAuthCodeFlowOptions,
  AcquireTokenByDeviceFlowOptions,
  AcquireTokenByRefreshTokenOptions,
  AcquireTokenByUsernamePasswordOptions,
  AcquireTokenInteractiveOptions,
  AcquireTokenSilentOptions,
  AuthCodeFlowOptions,
  BrokerTimeouts,
  CallOptions,
  CancelOptions,
  FlowOptions,
  GetAccountsOptions,
  GetAuthorizationRequestUrlOptions,
  InitiateAuthCodeFlowOptions,
  InitiateDeviceFlowOptions,
  PublicClientApplicationOptions,
  RemoveAccountOptions,
  SilentOptions,
} from "./app/options.ts";
export type { PopParameters, SshCertificateParameters, TokenBindingOptions } from "./core/token_binding.ts";
export {
  type AccessTokenEntry,
  type AccessTokenQuery,
  type AccountEntry,
  type AccountQuery,
  type AddTokenResponseResult,
  type AppMetadataEntry,
  type AppMetadataQuery,
  type CacheAccessOptions,
  type CachePlugin,
  type CachePluginContext,
  type CacheSection,
  type IdTokenEntry,
  type IdTokenQuery,
  type RefreshTokenEntry,
  type RefreshTokenQuery,
  type RemoveAccountQuery,
  TokenCache,
  type TokenCacheOptions,
  type TokenResponseEvent,
} from "./core/cache.ts";
export {
  AbortError,
  AuthorityError,
  BrokerDependencyError,
  BrowserLaunchError,
  ConfigurationError,
  DependencyError,
  IdTokenError,
  InvalidInputError,
  IssuerMismatchError,
  MsalError,
  MsalErrorCode,
  NetworkError,
  PortInUseError,
  RedirectUriError,
  TimeoutError,
} from "./core/errors.ts";
export type { Logger, LogLevel } from "./core/log.ts";
export { CLIENT_VERSION as VERSION } from "./core/http.ts";
export type { AuthorityType } from "./core/authority.ts";
export type { Platform, Runtime } from "./core/platform.ts";
export {
  type Account,
  type AuthResult,
  type ErrorResult,
  type IdTokenClaims,
  isErrorResult,
  isTokenResult,
  type TokenResult,
  type TokenSource,
} from "./core/results.ts";
export type { DeviceFlow } from "./flows/device_code.ts";
export type {
  AuthCodeFlow,
  AuthorizationRequestOptions,
  AuthorizationResponse,
  AuthorizationUrlOptions,
  InteractiveOptions,
} from "./flows/interactive.ts";
export type { Prompt } from "./core/prompt.ts";
// For plugin authors, the Broker contract lives in the "./broker" entry; apps need only these.
export { CONSOLE_WINDOW_HANDLE, type WindowHandle } from "./brokers/broker.ts";
export type { BrokerOptIn, BrokerPluginSource, BrokerStatus, LinuxBrokerPlugin } from "./brokers/registry.ts";
