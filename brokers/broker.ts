/**
 * The contract between the core and an OS authentication broker plugin (WAM, macOS Enterprise SSO, the
 * Linux identity broker). A plugin is a module exporting {@linkcode BrokerPluginModule.createBroker};
 * the {@linkcode Broker} it returns answers token requests. Token failures are returned as
 * {@linkcode BrokerError}s, never thrown: a plugin throws only for programmer errors.
 *
 * @example A plugin module
 * ```ts
 * import { type Broker, type BrokerPluginContext, BrokerUnavailableError } from "@authbroker/msal/broker";
 *
 * declare function connectToBroker(): Promise<object | undefined>; // your transport
 * declare const MyBroker: new (session: object, logger: BrokerPluginContext["logger"]) => Broker;
 *
 * export async function createBroker(context: BrokerPluginContext): Promise<Broker> {
 *   const session = await connectToBroker();
 *   if (!session) throw new BrokerUnavailableError("no identity broker on the session bus");
 *   return new MyBroker(session, context.logger);
 * }
 * ```
 *
 * @module
 */

import { BrokerDependencyError, DependencyError, messageOf, MsalError } from "../core/errors.ts";
import type { PluginLogger } from "../core/log.ts";
import type { IdTokenClaims } from "../core/results.ts";
import { installCommand, type Platform, type Runtime } from "../core/platform.ts";
import type { Prompt } from "../core/prompt.ts";

/**
 * Stands for "this is a console app, use the console (or desktop) window as the parent of the broker's
 * UI". Pass it as `parentWindowHandle`; the plugin maps it to a real handle.
 */
export const CONSOLE_WINDOW_HANDLE: unique symbol = Symbol("CONSOLE_WINDOW_HANDLE");

/**
 * The window the broker's UI is parented to: a native handle (HWND / NSView pointer as bytes or a
 * number, an X11 window id) or {@linkcode CONSOLE_WINDOW_HANDLE}.
 */
export type WindowHandle = Uint8Array | bigint | number | typeof CONSOLE_WINDOW_HANDLE;

/**
 * An account as the broker knows it. The core reads only these fields; the plugin may carry anything
 * else it needs, and gets the object back unchanged in later calls.
 */
export interface BrokerAccount {
  /** The broker's own account id; the core stores it as the account's `local_account_id`. */
  readonly id: string;
  /** The sign-in name, e.g. `user@contoso.com`. */
  readonly username?: string;
  /** `<uid>.<utid>`, when the broker knows it. */
  readonly homeAccountId?: string;
  /** The authority host, e.g. `login.microsoftonline.com`. */
  readonly environment?: string;
  /** The tenant id. */
  readonly realm?: string;
  /** Plugin-private data. */
  readonly [extra: string]: unknown;
}

/** What every broker call carries. */
export interface BrokerCallOptions {
  /** Correlates this call with the identity provider's logs. */
  correlationId: string;
  /** Aborted when the caller gives up or the call times out; the plugin should stop promptly. */
  signal: AbortSignal;
}

/** A request for the accounts the broker knows for an app. */
export interface BrokerAccountsRequest extends BrokerCallOptions {
  /** The app's client id. */
  clientId: string;
}

/** A request to look up one account by its broker id. */
export interface BrokerReadAccountRequest extends BrokerAccountsRequest {
  /** The broker account id ({@linkcode BrokerAccount.id}). */
  accountId: string;
}

/** Proof-of-possession parameters (Signed HTTP Request). */
export interface BrokerPopParameters {
  /** The HTTP method of the resource request, upper case. */
  method: string;
  /** The URL of the resource request. */
  url: string;
  /** The nonce from the resource server. */
  nonce: string;
}

/** What every token request carries. */
export interface BrokerTokenRequest extends BrokerCallOptions {
  /** The app's client id. */
  clientId: string;
  /** `https://<host>/<tenant>`, e.g. `https://login.microsoftonline.com/common`. */
  authority: string;
  /** The scopes as the app asked for them, NOT decorated with `openid profile offline_access`. */
  scopes: string[];
  /** A claims request as JSON (client capabilities merged with any claims challenge). */
  claims?: string;
  /** The redirect URI the broker uses ({@linkcode Broker.redirectUri}). */
  redirectUri: string;
  /** Extra string parameters passed to the broker as is, e.g. `max_age`, `validateAuthority: "no"`. */
  extraParameters?: Record<string, string>;
  /** Requests a proof-of-possession token; only when {@linkcode Broker.supportsPop}. */
  pop?: BrokerPopParameters;
  /** Requests an SSH certificate instead of an access token; only when {@linkcode Broker.supportsSshCert}. */
  tokenType?: "ssh-cert";
  /** The id of the key in `reqCnf`, for SSH certificates. */
  keyId?: string;
  /** The public key as a JWK string, for SSH certificates. */
  reqCnf?: string;
}

/** A silent token request for an account the broker knows. */
export interface BrokerSilentRequest extends BrokerTokenRequest {
  /** The account, as the broker returned it. */
  account: BrokerAccount;
}

/**
 * The `prompt` an app sends a broker: `select_account`, for the broker's account picker. As MSAL
 * Python, the app answers `prompt: "none"` with the broker's silent call, and ignores `login`,
 * `consent` and `create` with a warning, so a plugin never receives them.
 */
export type BrokerPrompt = Extract<Prompt, "select_account">;

/** An interactive token request: the broker may show its UI. */
export interface BrokerInteractiveRequest extends BrokerTokenRequest {
  /** The parent window of the broker's UI. */
  windowHandle: WindowHandle;
  /** `select_account`: the broker shows its account picker even when it has a default account. */
  prompt?: BrokerPrompt;
  /** Pre-fills the sign-in name. */
  loginHint?: string;
  /**
   * The account to sign in again (e.g. after its silent request needed interaction), as the broker
   * returned it; without it the broker signs in whoever the user picks.
   */
  account?: BrokerAccount;
}

/** A request to sign an account out of this app in the broker. */
export interface BrokerSignOutRequest extends BrokerCallOptions {
  /** The app's client id. */
  clientId: string;
  /** The account, as the broker returned it. */
  account: BrokerAccount;
}

/** A token the broker issued. */
export interface BrokerTokenResponse {
  /** Discriminates success from {@linkcode BrokerError}. */
  ok: true;
  /** The access token (for PoP: the signed HTTP request; for `ssh-cert`: the certificate). */
  accessToken: string;
  /** When the access token expires, epoch seconds. */
  expiresOn: number;
  /** The raw ID token. */
  idToken?: string;
  /** The ID token's claims, when the broker decoded them. */
  idTokenClaims?: IdTokenClaims;
  /** base64url JSON `{uid, utid}`. */
  clientInfo?: string;
  /** The account the token belongs to. */
  account: BrokerAccount;
  /** The scopes actually granted. */
  grantedScopes?: string[];
  /** `"Bearer"` unless `"pop"` or `"ssh-cert"`. */
  tokenType?: string;
}

/**
 * The broker declined or failed. `status` is the broker's status name without a prefix, e.g.
 * `"AccountUnusable"`, `"InteractionRequired"`, `"UserCanceled"`, `"ApiContractViolation"`.
 */
export interface BrokerError {
  /** Discriminates failure from {@linkcode BrokerTokenResponse}. */
  ok: false;
  /** The broker's status name. */
  status: string;
  /** The broker's numeric error code. */
  errorCode: number;
  /** The broker's tag: where in the broker the error arose. */
  tag: number | string;
  /** Human-readable detail, often including an `AADSTS` code. */
  context: string;
  /**
   * What the app can do about it, when the plugin classifies its broker's statuses: go interactive
   * (`"interaction_required"`), accept the user's cancel (`"user_canceled"`), retry later (`"network"`).
   * The error result's `error` is then that class instead of `"broker_error"`.
   */
  kind?: BrokerErrorKind;
  /** The broker's numeric sub-status, when it has one. */
  subStatus?: number;
}

/** The classes of {@linkcode BrokerError.kind}; `"broker_error"` for anything else. */
export type BrokerErrorKind = "interaction_required" | "user_canceled" | "network" | "broker_error";

/**
 * The MSAL runtime's status names (`ErrorStatus` in `@azure/msal-node-runtime`, `status` numbers in the
 * Linux broker's JSON errors), indexed by number; plugins name {@linkcode BrokerError.status} with them.
 * The app reads two: `"InteractionRequired"` and `"AccountUnusable"` from the silent attempt of an
 * interactive request without `prompt` make it show the broker's UI.
 *
 * @example
 * ```ts
 * import { BROKER_STATUS_NAMES, type BrokerError } from "@authbroker/msal/broker";
 *
 * declare const answer: { status: number; context: string; errorCode: number; tag: number };
 * const error: BrokerError = {
 *   ok: false,
 *   status: BROKER_STATUS_NAMES[answer.status] ?? `Status${answer.status}`,
 *   errorCode: answer.errorCode,
 *   tag: answer.tag,
 *   context: answer.context,
 * };
 * ```
 */
export const BROKER_STATUS_NAMES: readonly string[] = [
  "Unexpected",
  "Reserved",
  "InteractionRequired",
  "NoNetwork",
  "NetworkTemporarilyUnavailable",
  "ServerTemporarilyUnavailable",
  "ApiContractViolation",
  "UserCanceled",
  "ApplicationCanceled",
  "IncorrectConfiguration",
  "InsufficientBuffer",
  "AuthorityUntrusted",
  "UserSwitched",
  "AccountUnusable",
  "UserDataRemovalRequired",
  "KeyNotFound",
  "AccountNotFound",
];

/** The outcome of a token request. */
export type BrokerTokenResult = BrokerTokenResponse | BrokerError;

/** Names the broker behind a plugin, for logs and `brokerStatus()`. */
export interface BrokerDescription {
  /** e.g. `"WAM"`, `"linux-broker"`. */
  name: string;
  /** The version of the broker or of the library that talks to it. */
  version?: string;
}

/** An initialised OS broker. Every method answers within the request's `signal`. */
export interface Broker {
  /** Which broker this is. */
  readonly description: BrokerDescription;
  /** Whether proof-of-possession tokens are supported. */
  readonly supportsPop?: boolean;
  /** Whether SSH certificates are supported. */
  readonly supportsSshCert?: boolean;
  /**
   * The redirect URI the app must register for this broker.
   *
   * @param clientId the app's client id (some brokers' URIs contain it)
   * @returns the redirect URI, e.g. `https://login.microsoftonline.com/common/oauth2/nativeclient`
   */
  redirectUri(clientId: string): string;
  /**
   * The accounts the broker knows for this app, or why it could not list them.
   *
   * @param request the app's `clientId`, a `correlationId` and the `signal` cancelling the call
   * @returns the accounts (possibly none), or a {@linkcode BrokerError}
   */
  getAccounts(request: BrokerAccountsRequest): Promise<BrokerAccount[] | BrokerError>;
  /**
   * Looks one account up by its broker id; `undefined` when unknown or unreadable. Optional: without
   * it the core searches {@linkcode Broker.getAccounts}.
   *
   * @param request the app's `clientId`, the broker's `accountId`, and the call options
   * @returns the account, or `undefined`
   */
  readAccount?(request: BrokerReadAccountRequest): Promise<BrokerAccount | undefined>;
  /**
   * A token for a known account, without UI.
   *
   * @param request the `account`, the app, authority, scopes, redirect URI, optional claims, PoP or
   *   SSH-certificate parameters, and the call options
   * @returns the token (`ok: true`; `expiresOn` in epoch seconds), or a {@linkcode BrokerError}
   */
  acquireTokenSilent(request: BrokerSilentRequest): Promise<BrokerTokenResult>;
  /**
   * A token for the OS's default account, without UI (MSAL Python's `_signin_silently`); an error
   * result when the broker has no default account.
   *
   * @param request the app, authority, scopes, redirect URI, optional claims, PoP or SSH-certificate
   *   parameters, and the call options
   * @returns the token (`ok: true`; `expiresOn` in epoch seconds), or a {@linkcode BrokerError}
   */
  signInSilently(request: BrokerTokenRequest): Promise<BrokerTokenResult>;
  /**
   * A token after the broker's UI.
   *
   * @param request as for {@linkcode Broker.signInSilently}, plus the `windowHandle` to parent the UI
   *   to, and optionally a `prompt`, a `loginHint` and the `account`
   * @returns the token (`ok: true`; `expiresOn` in epoch seconds), or a {@linkcode BrokerError}
   */
  acquireTokenInteractive(request: BrokerInteractiveRequest): Promise<BrokerTokenResult>;
  /**
   * Signs the account out of this app.
   *
   * @param request the app's `clientId`, the `account`, and the call options
   * @returns `undefined` once signed out, or a {@linkcode BrokerError}
   */
  signOut(request: BrokerSignOutRequest): Promise<BrokerError | undefined>;
  /** Releases connections and native resources; the broker is unusable afterwards. */
  close(): Promise<void>;
}

/** What a plugin's {@linkcode BrokerPluginModule.createBroker} receives. */
export interface BrokerPluginContext {
  /** The app's client id. */
  clientId: string;
  /** The platform the plugin was chosen for. */
  platform: Platform;
  /** The JavaScript runtime. */
  runtime: Runtime;
  /** Where the plugin logs; it honours the app's PII setting. */
  logger: PluginLogger;
  /**
   * The redirect URI the app registered for the broker, when it is not the platform's default (a
   * signed macOS app's `msauth.<bundle id>://auth`).
   */
  redirectUri?: string;
  /**
   * Whether to forward a native runtime's own log lines to `logger`. Off by default: Microsoft's
   * runtime keeps the process alive once a logger is registered (msal-node #7076).
   */
  nativeLogging?: boolean;
}

/** What `import()` of a plugin module yields. */
export interface BrokerPluginModule {
  /**
   * Connects to the broker. Throws {@linkcode BrokerUnavailableError} when the broker cannot be used on
   * this device (not installed, no session bus, OS too old): the app then falls back to browser flows.
   *
   * @param context the app's `clientId`, the `platform` and `runtime`, the `logger`, and optionally the
   *   registered `redirectUri` and `nativeLogging`
   * @returns the connected broker
   */
  createBroker(context: BrokerPluginContext): Promise<Broker>;
}

/** How to load a plugin: its name, the npm package it needs, and a function importing it. */
export interface BrokerPluginDescriptor {
  /** The plugin's name, for `brokerStatus()` and logs. */
  name: string;
  /** The npm package the plugin imports (e.g. `"dbus-next"`); a missing one is a hard error. */
  dependency?: string;
  /** Imports the plugin module. */
  load: () => Promise<BrokerPluginModule>;
}

/** The broker cannot be used on this device; the app falls back to non-broker flows. */
export class BrokerUnavailableError extends MsalError {
  /**
   * Creates the error.
   *
   * @param reason why the broker is unavailable, e.g. "no D-Bus session bus"; the error's `message`
   * @param options `cause`: the underlying error, if any
   */
  constructor(reason: string, options?: ErrorOptions) {
    super("broker_unavailable", reason, options);
  }
}

/**
 * Whether `result` is a {@linkcode BrokerError}: an object with `ok: false` and a `status`.
 *
 * @param result any value, typically what a {@linkcode Broker} call resolved to
 * @returns `true` for a broker error, narrowing `result` to {@linkcode BrokerError}
 */
export function isBrokerError(result: unknown): result is BrokerError {
  return typeof result === "object" && result !== null && (result as BrokerError).ok === false &&
    "status" in result;
}

/** How {@linkcode importDependency} words a missing dependency, beyond broker rule 2's default. */
export interface ImportDependencyOptions {
  /** Whose install command the error names; the running runtime by default. */
  runtime?: Runtime;
  /**
   * What needs the dependency, e.g. `"The Secret Service token cache"`. Set for anything that is not a
   * broker: the error is then a plain {@linkcode DependencyError} (`dependency_missing`) saying so,
   * rather than a {@linkcode BrokerDependencyError}.
   */
  feature?: string;
  /** Name the command that installs it as a dev dependency (e.g. `npm install --save-dev`); false by default. */
  dev?: boolean;
}

/**
 * Imports an optional npm dependency through `load`, turning "not installed" into an actionable error
 * naming the install command; any other failure propagates unchanged. For plugins (brokers,
 * persistence) whose one dependency is an optional peer.
 *
 * @param pkg the npm package `load` imports, e.g. `"dbus-next"`.
 * @param load the import itself, e.g. `() => import("dbus-next")` (a literal, so bundlers see it).
 * @param options whose install command to name ({@linkcode BrokerPluginContext.runtime}; the running
 *   one by default), and for a feature that is not a broker, what needs it.
 * @returns what `load` resolved to.
 * @throws {BrokerDependencyError} naming the install command if `pkg` is missing and no `feature` is
 *   set (`You need to install dependency by: npm install dbus-next`, as MSAL Python, broker rule 2).
 * @throws {DependencyError} naming the feature and the install command if `pkg` is missing and
 *   `feature` is set.
 * @example
 * ```ts
 * import { importDependency } from "@authbroker/msal/broker";
 *
 * const dbus = await importDependency("dbus-next", () => import("dbus-next"));
 * ```
 */
export async function importDependency<T>(
  pkg: string,
  load: () => Promise<T>,
  { runtime, feature, dev }: ImportDependencyOptions = {},
): Promise<T> {
  try {
    return await load();
  } catch (error) {
    if (!isMissingPackage(error, pkg)) throw error;
    const command = installCommand(pkg, runtime, dev);
    if (feature === undefined) throw new BrokerDependencyError(command, { cause: error });
    throw new DependencyError(`${feature} needs the ${pkg} package; install it by: ${command}`, command, {
      cause: error,
    });
  }
}

const MODULE_NOT_FOUND_TEXT =
  /Cannot find (?:package|module)|Could not find|not a dependency|not prefixed with|Module not found|does not exist/i;

/**
 * Whether `error` is a module-not-found from `import()`. Node and Bun set `code: "ERR_MODULE_NOT_FOUND"`
 * ("Cannot find package 'x' imported from ..."); Deno sets the same code with its own wording ("Import
 * "x" not a dependency and not in import map", "Could not find a matching package for 'npm:x'", "Module
 * not found "file:///...""), and older versions only the wording.
 */
function isModuleNotFound(error: unknown): boolean {
  if (typeof error !== "object" || error === null) return false;
  const code = (error as { code?: unknown }).code;
  return code === "ERR_MODULE_NOT_FOUND" || code === "MODULE_NOT_FOUND" ||
    MODULE_NOT_FOUND_TEXT.test(messageOf(error));
}

/**
 * Whether `error` is `import()` failing because the npm package `pkg` is not installed: a
 * module-not-found whose message quotes the package, as `'pkg'`, `"pkg/sub"` or `'npm:pkg@^1.2'` (another
 * package or a file that is missing is not).
 */
export function isMissingPackage(error: unknown, pkg: string): boolean {
  const name = pkg.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");
  const quoted = new RegExp(`['"\`](?:npm:)?${name}(?:@[^'"\`/\\s]*)?(?:/[^'"\`\\s]*)?['"\`]`);
  return isModuleNotFound(error) && quoted.test(messageOf(error));
}

/**
 * Whether the module that could not be found is a file ("Cannot find module '/x/linux.ts'", Deno:
 * "Module not found "file:///x/linux.ts"") rather than a package.
 */
export function isMissingFile(error: unknown): boolean {
  const missing = /(?:Cannot find module|Module not found) ['"](?:file:|\/|\.|[A-Za-z]:[\\/])/;
  return isModuleNotFound(error) && missing.test(messageOf(error));
}
