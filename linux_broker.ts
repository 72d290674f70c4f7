/**
 * A low-level client for Microsoft's Linux identity broker (`microsoft-identity-broker`, D-Bus name
 * `com.microsoft.identity.broker1`), for what MSAL's API does not cover: the PRT SSO cookie
 * (`x-ms-RefreshTokenCredential`) for an Electron or Deno desktop web view, Signed HTTP Requests, and
 * direct access to the broker's accounts and tokens. No `PublicClientApplication` needed.
 *
 * Needs the `dbus-next` package (`npm install dbus-next`, `bun add dbus-next`, `deno add npm:dbus-next`)
 * and a session bus. Under Deno: `--allow-env --allow-read --allow-write` (the bus socket).
 *
 * @example
 * ```ts
 * import { LinuxBrokerClient } from "@authbroker/msal/linux-broker";
 *
 * const broker = await LinuxBrokerClient.connect(); // throws BrokerUnavailableError without a broker
 * try {
 *   const clientId = "00000000-0000-0000-0000-000000000000"; // your app registration
 *   const accounts = await broker.getAccounts({ clientId });
 *   if (!Array.isArray(accounts)) throw new Error(accounts.context);
 *   const [account] = accounts;
 *   const cookie = await broker.acquirePrtSsoCookie({ clientId, account });
 *   if (cookie.ok) console.log(`${cookie.cookieName}=${cookie.cookieContent}`);
 *   const token = await broker.acquireTokenSilently({ clientId, account, scopes: ["User.Read"] });
 *   console.log(token.ok ? token.accessToken : `${token.kind}: ${token.context}`);
 * } finally {
 *   await broker.close();
 * }
 * ```
 *
 * @module
 */

export {
  CONSOLE_WINDOW,
  DEFAULT_INTERACTIVE_TIMEOUT_MS,
  DEFAULT_TIMEOUT_MS,
  LinuxBrokerClient,
  type LinuxBrokerClientOptions,
  type LinuxCallOptions,
  type LinuxInteractiveTokenRequest,
  type LinuxPrtSsoCookieRequest,
  type LinuxSignedHttpRequestRequest,
  type LinuxSilentTokenRequest,
  type LinuxTokenRequest,
} from "./brokers/_linux_client.ts";
export {
  BROKER_BUS_NAME,
  BROKER_INTERFACE,
  BROKER_OBJECT_PATH,
  type LinuxBrokerAccount,
  type LinuxBrokerError,
  type LinuxBrokerErrorKind,
  type LinuxBrokerMethod,
  type LinuxBrokerToken,
  type LinuxPopParameters,
  type LinuxPrtSsoCookie,
  NATIVE_CLIENT_REDIRECT_URI,
} from "./brokers/_linux_wire.ts";
export { BrokerUnavailableError } from "./brokers/broker.ts";
export { AbortError, BrokerDependencyError, MsalError } from "./core/errors.ts";
