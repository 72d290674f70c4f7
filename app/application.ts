/**
 * `PublicClientApplication`: the one object an app talks to. A facade: it validates input, builds the
 * one {@linkcode AppContext} (broker loaded, authority resolved), and hands each call to a flow,
 * choosing the broker or an OAuth flow per call.
 *
 * @module
 */

import { type Broker, CONSOLE_WINDOW_HANDLE } from "../brokers/broker.ts";
import {
  type BrokerStatus,
  isOptedInAnywhere,
  loadBroker,
  type LoadBrokerResult,
} from "../brokers/registry.ts";
import { listAccounts, removeAccount } from "../flows/accounts.ts";
import { acquireTokenInteractiveViaBroker } from "../flows/brokered.ts";
import {
  type AppContext,
  type BrokerDeadlines,
  claimsFor,
  hasBroker,
  type OnlineContext,
} from "../flows/context.ts";
import {
  acquireTokenByDeviceFlow,
  type DeviceFlow,
  initiateDeviceFlow as startDeviceFlow,
} from "../flows/device_code.ts";
import { acquireTokenByUsernamePassword } from "../flows/password.ts";
import {
  acquireTokenByAuthCodeFlow,
  type AuthCodeFlow,
  type AuthorizationResponse,
  buildAuthorizationUrl,
  initiateAuthCodeFlow,
  runBrowserFlow,
} from "../flows/interactive.ts";
import { redeemRefreshToken } from "../flows/refresh.ts";
import { acquireTokenSilent } from "../flows/silent.ts";
import {
  type CacheView,
  cacheViewOf,
  parseAuthority,
  type ParsedAuthority,
  parseHttpsUrl,
  resolveAuthority,
  type ResolvedAuthority,
} from "../core/authority.ts";
import { TokenCache } from "../core/cache.ts";
import { ConfigurationError } from "../core/errors.ts";
import { checkAppOptions, checkAuthorizationUrlOptions, checkInteractiveOptions } from "./_check_options.ts";
import { HttpClient } from "../core/http.ts";
import { LogWriter } from "../core/log.ts";
import { detectPlatform, detectRuntime, osName, type Platform } from "../core/platform.ts";
import {
  type Account,
  type AuthResult,
  type ErrorResult,
  isTokenResult,
  type TokenResult,
} from "../core/results.ts";
import { validateScopes } from "../core/scopes.ts";
import { abortable, DEFAULT_INTERACTIVE_TIMEOUT_MS, SharedWork } from "../core/abort.ts";
import { bindingUnavailableError, brokerCanBind, tokenBindingOf } from "../core/token_binding.ts";
import type {
  AcquireTokenByAuthCodeFlowOptions,
  AcquireTokenByDeviceFlowOptions,
  AcquireTokenByRefreshTokenOptions,
  AcquireTokenByUsernamePasswordOptions,
  AcquireTokenInteractiveOptions,
  AcquireTokenSilentOptions,
  GetAccountsOptions,
  GetAuthorizationRequestUrlOptions,
  InitiateAuthCodeFlowOptions,
  InitiateDeviceFlowOptions,
  PublicClientApplicationOptions,
  RemoveAccountOptions,
} from "./options.ts";

/** The broker once loaded; no status when no flag asked for one (then it is worked out on request). */
type LoadedBroker = LoadBrokerResult | { broker?: undefined; status?: undefined };

const DEFAULT_BROKER_SILENT_MS = 30_000;

/**
 * A public-client application: sign-in for desktop, CLI and script apps, with the OS broker when the
 * app opts in, and the browser, device-code and cached flows otherwise.
 *
 * @example
 * ```ts
 * import { PublicClientApplication } from "@authbroker/msal";
 *
 * const app = new PublicClientApplication("my-client-id", { enableBrokerOnLinux: true });
 * const [account] = await app.getAccounts();
 * const result = (account && await app.acquireTokenSilent(["User.Read"], { account })) ??
 *   await app.acquireTokenInteractive(["User.Read"], { parentWindowHandle: app.CONSOLE_WINDOW_HANDLE });
 * const token = "access_token" in result ? result.access_token : undefined;
 * ```
 */
export class PublicClientApplication {
  /** Pass as `parentWindowHandle` from a console app. */
  static readonly CONSOLE_WINDOW_HANDLE: typeof CONSOLE_WINDOW_HANDLE = CONSOLE_WINDOW_HANDLE;
  /** The same sentinel, on the instance. */
  readonly CONSOLE_WINDOW_HANDLE: typeof CONSOLE_WINDOW_HANDLE = CONSOLE_WINDOW_HANDLE;

  /** The app's client id. */
  readonly clientId: string;
  /** The app's token cache. */
  readonly tokenCache: TokenCache;

  readonly #options: PublicClientApplicationOptions;
  readonly #parsed: ParsedAuthority;
  readonly #http: HttpClient;
  readonly #logger: LogWriter;
  readonly #brokerDeadlines: BrokerDeadlines;
  #platform?: Platform;
  readonly #broker: Promise<LoadedBroker>;
  #resolved?: Promise<ResolvedAuthority>;
  #discovered?: ResolvedAuthority;
  #context?: AppContext;
  #onlineContext?: OnlineContext;
  readonly #silentAttempts = new SharedWork<AuthResult | null>();

  /**
   * Creates the app and starts loading the broker plugin at once. A missing broker dependency makes
   * every call reject; use {@linkcode PublicClientApplication.create} to get that error here instead.
   *
   * @param clientId the app's client (application) id
   * @param options the authority, broker opt-ins and injected parts; see {@linkcode PublicClientApplicationOptions}
   * @throws {ConfigurationError} for a missing client id, a bad authority or `instanceDiscovery` URL,
   * conflicting options, an option of the wrong type or out of range, or an unknown option name.
   */
  constructor(clientId: string, options: PublicClientApplicationOptions = {}) {
    if (!clientId || typeof clientId !== "string") throw new ConfigurationError("clientId is required");
    checkAppOptions(options);
    if (options.authority && options.oidcAuthority) {
      throw new ConfigurationError("You can not provide both authority and oidcAuthority");
    }
    this.clientId = clientId;
    this.#options = options;
    this.#logger = new LogWriter(options.logger);
    this.#parsed = options.oidcAuthority
      ? parseAuthority(options.oidcAuthority, { oidc: true })
      : parseAuthority(options.authority ?? "https://login.microsoftonline.com/common");
    if (typeof options.instanceDiscovery === "string") {
      parseHttpsUrl(options.instanceDiscovery, "instanceDiscovery");
    }
    this.#http = new HttpClient({
      fetch: options.fetch,
      timeoutMs: options.httpTimeoutMs,
      headers: { "x-client-os": osName() },
    });
    this.#brokerDeadlines = brokerDeadlinesOf(options.brokerTimeoutMs);
    this.tokenCache = options.tokenCache ?? new TokenCache();
    // Without an opt-in there is nothing to load, and the platform need not be probed at start-up.
    this.#broker = isOptedInAnywhere(options) ? this.#loadBroker() : Promise.resolve({ status: undefined });
    // The rejection (rule 2) is delivered by every call; never as an unhandled rejection.
    this.#broker.catch(() => {});
  }

  /**
   * Creates the app and waits for the broker plugin to load.
   *
   * @param clientId the app's client (application) id
   * @param options see {@linkcode PublicClientApplicationOptions}
   * @returns the app, its broker loaded (or fallen back from, rule 3)
   * @throws {ConfigurationError} for a missing client id, a bad authority or `instanceDiscovery` URL,
   * conflicting options, an option of the wrong type or out of range, or an unknown option name.
   * @throws {BrokerDependencyError} when the app opted into a broker whose dependency is missing.
   */
  static async create(
    clientId: string,
    options: PublicClientApplicationOptions = {},
  ): Promise<PublicClientApplication> {
    const app = new PublicClientApplication(clientId, options);
    await app.#broker;
    return app;
  }

  /**
   * Whether the broker is in use, and if not, why.
   *
   * @returns `{enabled, platform, plugin?, reason?}`
   * @throws {BrokerDependencyError} when the app opted into a broker whose dependency is missing.
   */
  async brokerStatus(): Promise<BrokerStatus> {
    return (await this.#broker).status ?? (await this.#loadBroker()).status;
  }

  /**
   * Whether proof-of-possession tokens (`popParameters`) are available: a broker supporting them is in use.
   *
   * @returns `true` when the broker in use supports PoP; `false` without a broker
   * @throws {BrokerDependencyError} when the app opted into a broker whose dependency is missing.
   */
  async isPopSupported(): Promise<boolean> {
    const { broker } = await this.#broker;
    return broker?.supportsPop === true;
  }

  /**
   * The signed-in accounts, one per home account: the cache's, merged with the broker's when a broker
   * is in use (a failing broker only logs a warning).
   *
   * @param options `username` to filter by (case-insensitive), `signal` to cancel
   * @returns the accounts; `[]` when nobody signed in
   * @throws {BrokerDependencyError} when the app opted into a broker whose dependency is missing.
   * @throws {AuthorityError} when authority discovery fails; {@linkcode NetworkError} when it cannot reach the server.
   * @throws {AbortError} when `options.signal` aborts.
   * @throws {MsalError} what the `tokenCache`'s plugin throws, e.g. `CacheLockError` (`./persistence`).
   */
  async getAccounts(options: GetAccountsOptions = {}): Promise<Account[]> {
    return await listAccounts(await this.#ready(options.signal), options);
  }

  /**
   * A token without user interaction, or `null` when that is not possible (errors are hidden; use
   * {@linkcode PublicClientApplication.acquireTokenSilentWithError} to see them).
   *
   * @param scopes the scopes the token must cover, e.g. `["User.Read"]`
   * @param options the account (from `getAccounts`), and what to skip or bind
   * @returns the token, or `null`
   * @throws {ConfigurationError} for bad scopes, binding parameters or a claims challenge that is not a
   * JSON object, or `popParameters` / `sshCertificate` when no broker in use can issue them.
   * @throws {BrokerDependencyError} when the app opted into a broker whose dependency is missing.
   * @throws {AuthorityError} when authority discovery fails.
   * @throws {NetworkError} when the identity provider cannot be reached and no cached token can stand in.
   * @throws {IdTokenError} when a refreshed ID token fails its checks.
   * @throws {RedirectUriError} when the broker says the app has not registered its redirect URI.
   * @throws {AbortError} when `options.signal` aborts.
   * @throws {MsalError} what the `tokenCache`'s plugin throws, e.g. `CacheLockError` (`./persistence`).
   */
  async acquireTokenSilent(
    scopes: string[],
    options: AcquireTokenSilentOptions,
  ): Promise<TokenResult | null> {
    const result = await this.acquireTokenSilentWithError(scopes, options);
    return isTokenResult(result) ? result : null;
  }

  /**
   * A token without user interaction: a cached access token, the broker, or a refresh token (see
   * `flows/silent.ts`). `null` when there was nothing to try; the error when the attempts failed.
   * Identical concurrent calls share one network request.
   *
   * @param scopes the scopes the token must cover, e.g. `["User.Read"]`
   * @param options the account (from `getAccounts`), and what to skip or bind
   * @returns the token, the error of the last attempt, or `null`
   * @throws {ConfigurationError} for bad scopes, binding parameters or a claims challenge that is not a
   * JSON object, or `popParameters` / `sshCertificate` when no broker in use can issue them.
   * @throws {BrokerDependencyError} when the app opted into a broker whose dependency is missing.
   * @throws {AuthorityError} when authority discovery fails.
   * @throws {NetworkError} when the identity provider cannot be reached and no cached token can stand in.
   * @throws {IdTokenError} when a refreshed ID token fails its checks.
   * @throws {RedirectUriError} when the broker says the app has not registered its redirect URI.
   * @throws {AbortError} when `options.signal` aborts.
   * @throws {MsalError} what the `tokenCache`'s plugin throws, e.g. `CacheLockError` (`./persistence`).
   */
  async acquireTokenSilentWithError(
    scopes: string[],
    options: AcquireTokenSilentOptions,
  ): Promise<AuthResult | null> {
    const wanted = validateScopes(scopes);
    const binding = tokenBindingOf(options);
    await this.#loaded(options.signal); // a missing broker dependency rejects every call
    if (!options.account) return null;
    return await acquireTokenSilent(await this.#ready(options.signal), {
      account: options.account,
      scopes: wanted,
      forceRefresh: options.forceRefresh,
      claimsChallenge: options.claimsChallenge,
      binding,
      correlationId: options.correlationId,
      signal: options.signal,
    });
  }

  /**
   * Redeems a refresh token from elsewhere (migration). Never uses the broker.
   *
   * @param refreshToken the refresh token
   * @param scopes the scopes to ask for
   * @param options a claims challenge, a correlation id, a signal
   * @returns the token, or the server's error
   * @throws {ConfigurationError} for bad scopes, or a claims challenge that is not a JSON object while
   * `clientCapabilities` are set (as MSAL Python).
   * @throws {BrokerDependencyError} when the app opted into a broker whose dependency is missing.
   * @throws {AuthorityError} when authority discovery fails; {@linkcode NetworkError} when the server cannot be reached.
   * @throws {IdTokenError} when the ID token fails its checks.
   * @throws {AbortError} when `options.signal` aborts.
   * @throws {MsalError} what the `tokenCache`'s plugin throws, e.g. `CacheLockError` (`./persistence`).
   */
  async acquireTokenByRefreshToken(
    refreshToken: string,
    scopes: string[],
    options: AcquireTokenByRefreshTokenOptions = {},
  ): Promise<AuthResult> {
    const wanted = validateScopes(scopes);
    const context = await this.#online(options.signal);
    return await redeemRefreshToken(context, refreshToken, wanted, {
      claims: claimsFor(context, options.claimsChallenge),
      correlationId: options.correlationId,
      signal: options.signal,
    });
  }

  /**
   * Starts a device-code flow; show `flow.message` to the user. Never uses the broker.
   *
   * @param scopes the scopes to ask for
   * @param options a claims challenge, a correlation id (kept by the whole flow), a signal
   * @returns the flow, or the server's error
   * @throws {ConfigurationError} for bad scopes, a claims challenge that is not a JSON object while
   * `clientCapabilities` are set (as MSAL Python), or an authority without a device authorization endpoint.
   * @throws {BrokerDependencyError} when the app opted into a broker whose dependency is missing.
   * @throws {AuthorityError} when authority discovery fails; {@linkcode NetworkError} when the server cannot be reached.
   * @throws {AbortError} when `options.signal` aborts.
   */
  async initiateDeviceFlow(
    scopes: string[],
    options: InitiateDeviceFlowOptions = {},
  ): Promise<DeviceFlow | ErrorResult> {
    const wanted = validateScopes(scopes);
    const context = await this.#online(options.signal);
    return await startDeviceFlow(context, wanted, {
      claims: claimsFor(context, options.claimsChallenge),
      correlationId: options.correlationId,
      signal: options.signal,
    });
  }

  /**
   * Waits for the user to finish the device-code flow; its requests keep the flow's correlation id.
   *
   * @param flow what `initiateDeviceFlow` returned
   * @param options a claims challenge, a signal to stop waiting
   * @returns the token, or the server's error (`expired_token` when the code expired)
   * @throws {ConfigurationError} for a claims challenge that is not a JSON object while `clientCapabilities`
   * are set (as MSAL Python).
   * @throws {BrokerDependencyError} when the app opted into a broker whose dependency is missing.
   * @throws {AuthorityError} when authority discovery fails; {@linkcode NetworkError} when the server cannot be reached.
   * @throws {IdTokenError} when the ID token fails its checks.
   * @throws {AbortError} when `options.signal` aborts.
   * @throws {MsalError} what the `tokenCache`'s plugin throws, e.g. `CacheLockError` (`./persistence`).
   */
  async acquireTokenByDeviceFlow(
    flow: DeviceFlow,
    options: AcquireTokenByDeviceFlowOptions = {},
  ): Promise<AuthResult> {
    const context = await this.#online(options.signal);
    return await acquireTokenByDeviceFlow(context, flow, {
      claims: claimsFor(context, options.claimsChallenge),
      signal: options.signal,
    });
  }

  /**
   * Resource-owner password flow (deprecated by Microsoft; no MFA). Through the broker on Windows and
   * macOS when one is in use, as MSAL Python; never through it on Linux or WSL.
   *
   * @param username the sign-in name
   * @param password the password
   * @param scopes the scopes to ask for
   * @param options a claims challenge, a correlation id, a signal
   * @returns the token, or the server's (or broker's) error
   * @throws {ConfigurationError} for bad scopes, or a claims challenge that is not a JSON object while
   * `clientCapabilities` are set (as MSAL Python).
   * @throws {BrokerDependencyError} when the app opted into a broker whose dependency is missing.
   * @throws {AuthorityError} when authority discovery fails; {@linkcode NetworkError} when the server cannot be reached.
   * @throws {IdTokenError} when the ID token fails its checks.
   * @throws {RedirectUriError} when the broker says the app has not registered its redirect URI.
   * @throws {AbortError} when `options.signal` aborts.
   * @throws {MsalError} what the `tokenCache`'s plugin throws, e.g. `CacheLockError` (`./persistence`).
   */
  async acquireTokenByUsernamePassword(
    username: string,
    password: string,
    scopes: string[],
    options: AcquireTokenByUsernamePasswordOptions = {},
  ): Promise<AuthResult> {
    const wanted = validateScopes(scopes);
    const context = await this.#online(options.signal);
    return await acquireTokenByUsernamePassword(context, username, password, wanted, options);
  }

  /**
   * Signs the user in interactively: through the broker when one is in use, else through the system
   * browser and a loopback redirect.
   *
   * @param scopes the scopes to ask for
   * @param options `parentWindowHandle` (required with a broker), prompt, hints, and the browser flow's settings
   * @returns the token, or the server's (or broker's) error
   * @throws {ConfigurationError} when a broker is in use and `parentWindowHandle` is missing or no
   * window handle; for bad scopes, binding parameters, a claims challenge that is not a JSON object while
   * `clientCapabilities` are set (as MSAL Python), a `redirectUri` that is not a loopback http URL, or a
   * `timeoutMs`, `port`, `maxAge` or other option of the wrong type or out of range; for `popParameters` /
   * `sshCertificate` when no broker can issue them.
   * @throws {BrokerDependencyError} when the app opted into a broker whose dependency is missing.
   * @throws {AuthorityError} when authority discovery fails; {@linkcode NetworkError} when the server cannot be reached.
   * @throws {BrowserLaunchError} when no browser could be opened; {@linkcode PortInUseError} when the loopback port is taken.
   * @throws {TimeoutError} when the browser flow's timeout passes.
   * @throws {IssuerMismatchError} when the browser's authorization response names another issuer (RFC 9207).
   * @throws {IdTokenError} when the ID token fails its checks.
   * @throws {RedirectUriError} when the broker says the app has not registered its redirect URI.
   * @throws {AbortError} when `options.signal` aborts.
   * @throws {MsalError} what the `tokenCache`'s plugin throws, e.g. `CacheLockError` (`./persistence`).
   */
  async acquireTokenInteractive(
    scopes: string[],
    options: AcquireTokenInteractiveOptions = {},
  ): Promise<AuthResult> {
    const wanted = validateScopes(scopes);
    checkInteractiveOptions(options);
    const binding = tokenBindingOf(options);
    const { broker } = await this.#loaded(options.signal);
    if (binding && !(broker && brokerCanBind(broker, binding))) {
      throw bindingUnavailableError(binding, this.#currentPlatform());
    }
    const parentWindowHandle = options.parentWindowHandle ?? undefined;
    if (broker && parentWindowHandle === undefined) {
      throw new ConfigurationError(
        "parentWindowHandle is required when you opted into using broker. You need to provide the " +
          "window handle of your GUI application, or use PublicClientApplication.CONSOLE_WINDOW_HANDLE " +
          "when and only when your application is a console app.",
      );
    }
    const context = await this.#online(options.signal);
    if (hasBroker(context) && parentWindowHandle !== undefined) {
      return await acquireTokenInteractiveViaBroker(context, wanted, {
        ...options,
        parentWindowHandle,
        binding,
      });
    }
    return await runBrowserFlow(context, wanted, options);
  }

  /**
   * The URL that starts a sign-in in a browser, for apps that handle the redirect themselves.
   *
   * @param scopes the scopes to ask for
   * @param options the redirect URI, what shapes the request, a signal
   * @returns the authorization URL
   * @throws {ConfigurationError} for bad scopes, a claims challenge that is not a JSON object while
   * `clientCapabilities` are set (as MSAL Python), or a `maxAge` or `responseMode` out of range.
   * @throws {BrokerDependencyError} when the app opted into a broker whose dependency is missing.
   * @throws {AuthorityError} when authority discovery fails; {@linkcode NetworkError} when the server cannot be reached.
   * @throws {AbortError} when `options.signal` aborts.
   */
  async getAuthorizationRequestUrl(
    scopes: string[],
    options: GetAuthorizationRequestUrlOptions,
  ): Promise<string> {
    const wanted = validateScopes(scopes);
    checkAuthorizationUrlOptions(options);
    return buildAuthorizationUrl(await this.#online(options.signal), wanted, options);
  }

  /**
   * Starts an authorization-code flow with PKCE; send the user to `flow.auth_uri`.
   *
   * @param scopes the scopes to ask for
   * @param options the redirect URI, what shapes the request, a signal
   * @returns the flow to keep until the redirect arrives
   * @throws {ConfigurationError} for bad scopes, a claims challenge that is not a JSON object while
   * `clientCapabilities` are set (as MSAL Python), or a `maxAge` or `responseMode` out of range.
   * @throws {BrokerDependencyError} when the app opted into a broker whose dependency is missing.
   * @throws {AuthorityError} when authority discovery fails; {@linkcode NetworkError} when the server cannot be reached.
   * @throws {AbortError} when `options.signal` aborts.
   */
  async initiateAuthCodeFlow(scopes: string[], options: InitiateAuthCodeFlowOptions): Promise<AuthCodeFlow> {
    const wanted = validateScopes(scopes);
    checkAuthorizationUrlOptions(options);
    return await initiateAuthCodeFlow(await this.#online(options.signal), wanted, options);
  }

  /**
   * Finishes an authorization-code flow with the redirect's parameters.
   *
   * @param flow what `initiateAuthCodeFlow` returned
   * @param response the redirect's query or form parameters
   * @param options a correlation id, a signal
   * @returns the token, or the server's error
   * @throws {ConfigurationError} `state mismatch` when the response is not for this flow.
   * @throws {IssuerMismatchError} when the response names another issuer than the authority's, or none
   * although the authority promises one (RFC 9207).
   * @throws {BrokerDependencyError} when the app opted into a broker whose dependency is missing.
   * @throws {AuthorityError} when authority discovery fails; {@linkcode NetworkError} when the server cannot be reached.
   * @throws {IdTokenError} when the ID token fails its checks (nonce, `max_age`).
   * @throws {AbortError} when `options.signal` aborts.
   * @throws {MsalError} what the `tokenCache`'s plugin throws, e.g. `CacheLockError` (`./persistence`).
   */
  async acquireTokenByAuthCodeFlow(
    flow: AuthCodeFlow,
    response: AuthorizationResponse,
    options: AcquireTokenByAuthCodeFlowOptions = {},
  ): Promise<AuthResult> {
    return await acquireTokenByAuthCodeFlow(await this.#online(options.signal), flow, response, options);
  }

  /**
   * Signs the account out: from the broker for broker accounts (failures there are logged), then from
   * the local cache.
   *
   * @param account the account, as `getAccounts` returned it
   * @param options a signal
   * @throws {BrokerDependencyError} when the app opted into a broker whose dependency is missing.
   * @throws {AuthorityError} when authority discovery fails; {@linkcode NetworkError} when it cannot reach the server.
   * @throws {AbortError} when `options.signal` aborts.
   * @throws {MsalError} what the `tokenCache`'s plugin throws, e.g. `CacheLockError` (`./persistence`).
   */
  async removeAccount(account: Account, options: RemoveAccountOptions = {}): Promise<void> {
    await removeAccount(await this.#ready(options.signal), account, options);
  }

  /** Releases the broker connection, if any. */
  async close(): Promise<void> {
    const loaded = await this.#broker.catch(() => undefined);
    await loaded?.broker?.close();
  }

  #currentPlatform(): Platform {
    return this.#platform ??= this.#options.platform ?? detectPlatform();
  }

  #loadBroker(): Promise<LoadBrokerResult> {
    return loadBroker({
      optIn: this.#options,
      platform: this.#currentPlatform(),
      runtime: detectRuntime(),
      authorityType: this.#parsed.type,
      clientId: this.clientId,
      logger: this.#logger,
      plugins: this.#options.brokers,
      initTimeoutMs: this.#brokerDeadlines.silentMs,
      linuxBroker: this.#options.linuxBroker,
      redirectUri: this.#options.brokerRedirectUri,
      nativeLogging: this.#options.brokerNativeLogging,
    });
  }

  /** The loaded broker (rule 2 rejects here), or the caller's abort. */
  #loaded(signal?: AbortSignal): Promise<LoadedBroker> {
    return abortable(this.#broker, signal);
  }

  /**
   * The app context, built once the broker has loaded: its authority is the cache's view, without the
   * network when the authority allows ({@linkcode cacheViewOf}), else after discovery.
   */
  async #ready(signal?: AbortSignal): Promise<AppContext> {
    const { broker } = await this.#loaded(signal);
    if (!this.#context) {
      const view = cacheViewOf(this.#parsed, this.#options) ?? await this.#authority(signal);
      this.#context ??= this.#newContext(broker, () => this.#discovered ?? view);
    }
    return this.#context;
  }

  /** The app context with the discovered authority, for requests to the identity provider. */
  async #online(signal?: AbortSignal): Promise<OnlineContext> {
    return await (await this.#ready(signal)).online(signal);
  }

  #newContext<A extends CacheView>(
    broker: Broker | undefined,
    authority: () => A,
  ): AppContext & { authority: A } {
    const platform = () => this.#currentPlatform();
    return {
      clientId: this.clientId,
      get authority() {
        return authority();
      },
      http: this.#http,
      cache: this.tokenCache,
      logger: this.#logger,
      clientCapabilities: this.#options.clientCapabilities,
      broker,
      brokerDeadlines: this.#brokerDeadlines,
      get platform() {
        return platform();
      },
      silentAttempts: this.#silentAttempts,
      online: async (signal) => {
        const discovered = await this.#authority(signal);
        return this.#onlineContext ??= this.#newContext(broker, () => discovered);
      },
    };
  }

  #authority(signal?: AbortSignal): Promise<ResolvedAuthority> {
    this.#resolved ??= resolveAuthority(this.#parsed, {
      instanceDiscovery: this.#options.instanceDiscovery,
      validateAuthority: this.#options.validateAuthority,
      getJson: (url) => this.#http.getJson(url),
    }).then((authority) => this.#discovered = authority, (error) => {
      this.#resolved = undefined; // try again on the next call
      throw error;
    });
    // Discovery is shared by every call; a caller's signal only ends its own wait.
    return abortable(this.#resolved, signal);
  }
}

/** The `brokerTimeoutMs` option as deadlines; the deprecated `silent`/`interactive` names still count. */
function brokerDeadlinesOf(option: PublicClientApplicationOptions["brokerTimeoutMs"]): BrokerDeadlines {
  if (typeof option === "number") return { silentMs: option, interactiveMs: option };
  return {
    silentMs: option?.silentMs ?? option?.silent ?? DEFAULT_BROKER_SILENT_MS,
    interactiveMs: option?.interactiveMs ?? option?.interactive ?? DEFAULT_INTERACTIVE_TIMEOUT_MS,
  };
}
