/**
 * `PublicClientApplication`: the one object an app talks to. It owns the token cache, the HTTP client
 * and the broker, resolves the authority once, and decides per call whether the broker or one of the
 * OAuth flows answers.
 *
 * @module
 */

import { type Broker, CONSOLE_WINDOW_HANDLE, type WindowHandle } from "../brokers/broker.ts";
import {
  type BrokerOptIn,
  type BrokerPluginSource,
  type BrokerStatus,
  isOptedInAnywhere,
  type LinuxBrokerPlugin,
  loadBroker,
  type LoadBrokerResult,
} from "../brokers/registry.ts";
import {
  acquireTokenByUsernamePasswordViaBroker,
  acquireTokenInteractiveViaBroker,
  acquireTokenSilentViaBroker,
  type BrokeredContext,
  listBrokerAccounts,
  signOutViaBroker,
} from "../flows/brokered.ts";
import {
  acquireTokenByDeviceFlow,
  type DeviceFlow,
  initiateDeviceFlow as startDeviceFlow,
} from "../flows/device_code.ts";
import { findCachedToken } from "../flows/cached.ts";
import { type FlowContext, redeem, toAccount } from "../flows/grant.ts";
import {
  acquireTokenByAuthCodeFlow,
  type AuthCodeFlow,
  type AuthCodeFlowOptions,
  type AuthorizationResponse,
  buildAuthorizationUrl,
  initiateAuthCodeFlow,
  type InteractiveOptions,
  runBrowserFlow,
} from "../flows/interactive.ts";
import { redeemRefreshToken, refreshSilently } from "../flows/refresh.ts";
import {
  type CacheView,
  cacheViewOf,
  parseAuthority,
  type ParsedAuthority,
  resolveAuthority,
  type ResolvedAuthority,
} from "../core/authority.ts";
import { TokenCache } from "../core/cache.ts";
import { ConfigurationError, NetworkError } from "../core/errors.ts";
import { HttpClient } from "../core/http.ts";
import { type Logger, LogWriter } from "../core/log.ts";
import { detectPlatform, detectRuntime, osName, type Platform } from "../core/platform.ts";
import type { Account, AuthResult, ErrorResult, TokenResult } from "../core/results.ts";
import { mergeClaims, validateScopes } from "../core/scopes.ts";
import { abortable, SharedWork } from "../core/abort.ts";
import {
  bindingUnavailableError,
  brokerCanBind,
  type PopParameters,
  type SshCertificateParameters,
  type TokenBinding,
  tokenBindingOf,
  type TokenBindingOptions,
} from "../core/token_binding.ts";

export type { PopParameters, SshCertificateParameters };

/** The broker once loaded; no status when no flag asked for one (then it is worked out on request). */
type LoadedBroker = LoadBrokerResult | { broker?: undefined; status?: undefined };

/** Broker call timeouts in milliseconds. */
export interface BrokerTimeouts {
  /** Calls without UI (silent, default account, sign-out, account listing, start-up). Default 30 s. */
  silent?: number;
  /** Calls that may show the broker's UI. Default 10 minutes. */
  interactive?: number;
}

/** Options of `getAccounts`. */
export interface GetAccountsOptions {
  /** Only accounts with this sign-in name (case-insensitive). */
  username?: string;
  /** Cancels the call. */
  signal?: AbortSignal;
}

/** Options of calls that only need a way to cancel them. */
export interface CancelOptions {
  /** Cancels the call. */
  signal?: AbortSignal;
}

/** Options of {@linkcode PublicClientApplication}. */
export interface PublicClientApplicationOptions extends BrokerOptIn {
  /** Default `https://login.microsoftonline.com/common`. */
  authority?: string;
  /** A generic OpenID Connect issuer; the broker is never used with it. Excludes `authority`. */
  oidcAuthority?: string;
  /** `false` trusts an unknown authority host without instance discovery. Default `true`. */
  validateAuthority?: boolean;
  /** `false` turns instance discovery off; a string is a custom discovery endpoint. Default `true`. */
  instanceDiscovery?: boolean | string;
  /** The token cache; default a new in-memory one. */
  tokenCache?: TokenCache;
  /** The fetch for every request to the identity provider; default the global one. */
  fetch?: typeof fetch;
  /** Where the library logs; it never prints. PII is off unless the logger turns it on. */
  logger?: Logger;
  /** Client capabilities, e.g. `["CP1"]`, sent as `xms_cc` claims. */
  clientCapabilities?: string[];
  /** Broker plugins per platform, instead of the built-in ones (tests, custom brokers). */
  brokers?: Partial<Record<Platform, BrokerPluginSource>>;
  /**
   * Which built-in plugin serves `enableBrokerOnLinux`: `"dbus"` (default, pure TypeScript) or
   * `"msalruntime"` (Microsoft's runtime, `@azure/msal-node-runtime`).
   */
  linuxBroker?: LinuxBrokerPlugin;
  /**
   * The redirect URI registered for the broker, when not the platform's default: a signed macOS app
   * registers `msauth.<bundle id>://auth` instead of `msauth.com.msauth.unsignedapp://auth`.
   */
  brokerRedirectUri?: string;
  /**
   * Forward the broker runtime's own log lines (Microsoft's runtime: WAM, macOS, `linuxBroker:
   * "msalruntime"`) to `logger`, PII per `logger.piiLoggingEnabled`. Off by default because that runtime
   * then keeps the process alive until it exits: end a CLI with `process.exit()` when you turn it on.
   */
  brokerNativeLogging?: boolean;
  /** Overrides platform detection (tests). */
  platform?: Platform;
  /** Broker call timeouts in ms: one number for both, or per kind. Defaults: 30 s silent, 10 min interactive. */
  brokerTimeoutMs?: number | BrokerTimeouts;
  /** Timeout of each HTTP request in ms. Default 30 s. */
  httpTimeoutMs?: number;
}

/**
 * Options of `acquireTokenSilent`. `popParameters` and `sshCertificate` ask for a bound token, which
 * only a broker that supports it can issue; without one the call throws {@linkcode ConfigurationError}.
 */
export interface SilentOptions extends TokenBindingOptions {
  /** The account, as `getAccounts` returned it. */
  account: Account | null | undefined;
  /** Skip the cached access token and ask for a new one. */
  forceRefresh?: boolean;
  /** A claims challenge from a resource (also skips the cached access token). */
  claimsChallenge?: string;
  /** Correlation id for the requests. */
  correlationId?: string;
  /** Cancels the call. */
  signal?: AbortSignal;
}

/**
 * Options of `acquireTokenInteractive`. `popParameters` and `sshCertificate` ask for a bound token, which
 * only a broker that supports it can issue; without one the call throws {@linkcode ConfigurationError}.
 */
export interface AcquireTokenInteractiveOptions extends InteractiveOptions, TokenBindingOptions {
  /** Required when a broker is on: your window's handle, or `CONSOLE_WINDOW_HANDLE` for console apps. */
  parentWindowHandle?: WindowHandle;
}

/** Options of the device-code and refresh-token flows. */
export interface FlowOptions {
  /** A claims challenge. */
  claimsChallenge?: string;
  /** Sent as `client-request-id`, to find the request in the identity provider's logs; random by default. */
  correlationId?: string;
  /** Cancels the call. */
  signal?: AbortSignal;
}

const BROKER_ACCOUNT_SOURCES = new Set(["broker", undefined]);
const PASSWORD_VIA_BROKER: ReadonlySet<Platform> = new Set(["windows", "mac"]);
const GROUPABLE_AUTHORITY_TYPES = new Set(["MSSTS", "ADFS"]);

/**
 * A public-client application: sign-in for desktop, CLI and script apps, with the OS broker when the
 * app opts in, and the browser, device-code and cached flows otherwise.
 *
 * @example
 * ```ts
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
  #platform?: Platform;
  readonly #broker: Promise<LoadedBroker>;
  #resolved?: Promise<ResolvedAuthority>;
  #discovered?: ResolvedAuthority;
  /** The cache's view without the network; `null` when only discovery can tell. */
  #offlineView?: CacheView | null;
  readonly #inFlight = new SharedWork<AuthResult | null>();

  /**
   * Creates the app and starts loading the broker plugin at once. A missing broker dependency makes
   * every call reject; use {@linkcode PublicClientApplication.create} to get that error here instead.
   *
   * @throws {ConfigurationError} for a bad authority or conflicting options.
   */
  constructor(clientId: string, options: PublicClientApplicationOptions = {}) {
    if (!clientId || typeof clientId !== "string") throw new ConfigurationError("clientId is required");
    if (options.authority && options.oidcAuthority) {
      throw new ConfigurationError("You can not provide both authority and oidcAuthority");
    }
    this.clientId = clientId;
    this.#options = options;
    this.#logger = new LogWriter(options.logger);
    this.#parsed = options.oidcAuthority
      ? parseAuthority(options.oidcAuthority, { oidc: true })
      : parseAuthority(options.authority ?? "https://login.microsoftonline.com/common");
    this.#http = new HttpClient({
      fetch: options.fetch,
      timeoutMs: options.httpTimeoutMs,
      headers: { "x-client-os": osName() },
    });
    this.tokenCache = options.tokenCache ?? new TokenCache();
    // Without an opt-in there is nothing to load, and the platform need not be probed at start-up.
    this.#broker = isOptedInAnywhere(options) ? this.#loadBroker() : Promise.resolve({ status: undefined });
    // The rejection (rule 2) is delivered by every call; never as an unhandled rejection.
    this.#broker.catch(() => {});
  }

  /**
   * Creates the app and waits for the broker plugin to load.
   *
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

  /** Whether the broker is in use, and if not, why. */
  async brokerStatus(): Promise<BrokerStatus> {
    return (await this.#broker).status ?? (await this.#loadBroker()).status;
  }

  /** Whether proof-of-possession tokens (`popParameters`) are available: a broker supporting them is in use. */
  async isPopSupported(): Promise<boolean> {
    const { broker } = await this.#broker;
    return broker?.supportsPop === true;
  }

  /**
   * The signed-in accounts, one per home account: the cache's, merged with the broker's when a broker
   * is in use.
   */
  async getAccounts(options: GetAccountsOptions = {}): Promise<Account[]> {
    const { broker } = await this.#loaded(options.signal);
    const authority = await this.#cacheView(options.signal);
    const wanted = options.username?.toLowerCase();
    const entries = await this.tokenCache.access(
      () => this.tokenCache.getAccounts({ environments: [...authority.environments] }),
      { readOnly: true },
    );
    const grouped = new Map<string, Account>();
    for (const entry of entries) {
      if (!GROUPABLE_AUTHORITY_TYPES.has(entry.authority_type)) continue;
      if (wanted !== undefined && entry.username?.toLowerCase() !== wanted) continue;
      grouped.set(entry.home_account_id, { ...grouped.get(entry.home_account_id), ...toAccount(entry) });
    }
    if (broker) {
      const fromBroker = await listBrokerAccounts(this.#brokered(broker, authority), {
        signal: options.signal,
      });
      for (const account of fromBroker) {
        if (wanted !== undefined && account.username.toLowerCase() !== wanted) continue;
        if (!grouped.has(account.home_account_id)) grouped.set(account.home_account_id, account);
      }
    }
    if (wanted !== undefined && grouped.size === 0) {
      this.#logger.verbose(
        "No account matched the username. Accounts are found by the preferred_username claim, which the " +
          "identity provider includes when the app asks for the profile scope (the library does).",
      );
    }
    return [...grouped.values()];
  }

  /**
   * A token without user interaction, or `null` when that is not possible (errors are hidden).
   *
   * @throws {ConfigurationError} for `popParameters` / `sshCertificate` when no broker can issue them.
   */
  async acquireTokenSilent(scopes: string[], options: SilentOptions): Promise<TokenResult | null> {
    const result = await this.acquireTokenSilentWithError(scopes, options);
    return result && "access_token" in result ? result as TokenResult : null;
  }

  /**
   * A token without user interaction: a cached access token, the broker, or a refresh token. `null`
   * when there was nothing to try; the error when the attempts failed.
   * Identical concurrent calls share one network request.
   *
   * @throws {ConfigurationError} for `popParameters` / `sshCertificate` when no broker can issue them.
   */
  async acquireTokenSilentWithError(scopes: string[], options: SilentOptions): Promise<AuthResult | null> {
    const wanted = validateScopes(scopes);
    const binding = tokenBindingOf(options);
    const loaded = await this.#loaded(options.signal); // a missing broker dependency rejects every call
    const account = options.account;
    if (!account) return null;
    // MSAL Python: only accounts the broker established (or of unknown origin) go to the broker.
    const broker = loaded.broker && brokerCanBind(loaded.broker, binding) &&
        BROKER_ACCOUNT_SOURCES.has(account.account_source)
      ? loaded.broker
      : undefined;
    // Bound tokens come only from a broker: no refresh-token fallback for them.
    if (binding && !broker) throw bindingUnavailableError(binding, this.#currentPlatform());
    // The cache needs no discovery (cacheViewOf): a valid cached token is served without the network.
    const view = await this.#cacheView(options.signal);

    // The hot path, outside the shared attempt below. A PoP token is bound to one request, so it is
    // never served from the cache; SSH certificates are, per key.
    let cached: TokenResult | undefined;
    if (!options.forceRefresh && !options.claimsChallenge && binding?.type !== "pop") {
      const keyId = binding?.type === "ssh-cert" ? binding.keyId : undefined;
      cached = await findCachedToken(
        { clientId: this.clientId, cache: this.tokenCache, authority: view },
        account,
        wanted,
        { keyId },
      );
      if (cached && (cached.refresh_on === undefined || cached.refresh_on > Date.now() / 1000)) return cached;
    }

    const key = JSON.stringify([
      account.home_account_id,
      [...wanted].sort(),
      !!options.forceRefresh,
      options.claimsChallenge ?? "",
      options.popParameters ?? null,
      options.sshCertificate ?? null,
    ]);
    // Callers share one attempt; each may stop waiting, and the attempt stops when all of them have.
    return await this.#inFlight.run(
      key,
      async (signal) =>
        this.#renew(await this.#authority(signal), wanted, account, { ...options, signal }, {
          broker,
          binding,
          cached,
        }),
      options.signal,
    );
  }

  /** The network half of a silent call: the broker, then refresh tokens; `aging` is the fallback. */
  async #renew(
    authority: ResolvedAuthority,
    scopes: string[],
    account: Account,
    options: SilentOptions,
    route: { broker?: Broker; binding?: TokenBinding; cached?: TokenResult },
  ): Promise<AuthResult | null> {
    const { broker, binding, cached: aging } = route;
    try {
      if (broker) {
        const viaBroker = await acquireTokenSilentViaBroker(
          this.#brokered(broker, authority),
          scopes,
          account,
          {
            claimsChallenge: options.claimsChallenge,
            correlationId: options.correlationId,
            signal: options.signal,
            binding,
          },
        );
        if (binding) return viaBroker && "access_token" in viaBroker ? viaBroker : aging ?? viaBroker;
        if (viaBroker && (account.account_source === "broker" || "access_token" in viaBroker)) {
          return viaBroker;
        }
      }
      const refreshed = await refreshSilently(this.#flowContext(authority), account, scopes, {
        claims: this.#claims(options.claimsChallenge),
        correlationId: options.correlationId,
        signal: options.signal,
      });
      if (refreshed && "access_token" in refreshed) return refreshed;
      return aging ?? refreshed;
    } catch (error) {
      if (aging && error instanceof NetworkError) return aging;
      throw error;
    }
  }

  /** Redeems a refresh token from elsewhere (migration). Never uses the broker. */
  async acquireTokenByRefreshToken(
    refreshToken: string,
    scopes: string[],
    options: FlowOptions = {},
  ): Promise<AuthResult> {
    const wanted = validateScopes(scopes);
    return await redeemRefreshToken(await this.#ready(options.signal), refreshToken, wanted, {
      claims: this.#claims(options.claimsChallenge),
      correlationId: options.correlationId,
      signal: options.signal,
    });
  }

  /** Starts a device-code flow; show `flow.message` to the user. Never uses the broker. */
  async initiateDeviceFlow(scopes: string[], options: FlowOptions = {}): Promise<DeviceFlow | ErrorResult> {
    const wanted = validateScopes(scopes);
    return await startDeviceFlow(await this.#ready(options.signal), wanted, {
      claims: this.#claims(options.claimsChallenge),
      correlationId: options.correlationId,
      signal: options.signal,
    });
  }

  /**
   * Waits for the user to finish the device-code flow; its requests keep the flow's correlation id.
   * Abort with `options.signal`.
   */
  async acquireTokenByDeviceFlow(flow: DeviceFlow, options: FlowOptions = {}): Promise<AuthResult> {
    return await acquireTokenByDeviceFlow(await this.#ready(options.signal), flow, {
      claims: this.#claims(options.claimsChallenge),
      signal: options.signal,
    });
  }

  /**
   * Resource-owner password flow (deprecated by Microsoft; no MFA). Through the broker on Windows and
   * macOS when one is in use, as MSAL Python; never through it on Linux or WSL.
   */
  async acquireTokenByUsernamePassword(
    username: string,
    password: string,
    scopes: string[],
    options: FlowOptions = {},
  ): Promise<AuthResult> {
    const wanted = validateScopes(scopes);
    const { broker } = await this.#loaded(options.signal);
    // MSAL Python: through the broker on Windows and macOS only; never on Linux or WSL.
    if (broker && PASSWORD_VIA_BROKER.has(this.#currentPlatform())) {
      return await acquireTokenByUsernamePasswordViaBroker(
        this.#brokered(broker, await this.#authority(options.signal)),
        wanted,
        username,
        password,
        {
          claimsChallenge: options.claimsChallenge,
          correlationId: options.correlationId,
          signal: options.signal,
        },
      );
    }
    const form: Record<string, string> = { grant_type: "password", username, password };
    const claims = this.#claims(options.claimsChallenge);
    if (claims) form.claims = claims;
    return await redeem(await this.#ready(options.signal), form, {
      scopes: wanted,
      accountSource: "password",
      username,
      correlationId: options.correlationId,
      signal: options.signal,
    });
  }

  /**
   * Signs the user in interactively: through the broker when one is in use, else through the system
   * browser and a loopback redirect.
   *
   * @throws {ConfigurationError} when a broker is in use and `parentWindowHandle` is missing, and for
   * `popParameters` / `sshCertificate` when no broker can issue them.
   */
  async acquireTokenInteractive(
    scopes: string[],
    options: AcquireTokenInteractiveOptions = {},
  ): Promise<AuthResult> {
    const wanted = validateScopes(scopes);
    const binding = tokenBindingOf(options);
    const { broker } = await this.#loaded(options.signal);
    if (binding && !(broker && brokerCanBind(broker, binding))) {
      throw bindingUnavailableError(binding, this.#currentPlatform());
    }
    if (broker && (options.parentWindowHandle === undefined || options.parentWindowHandle === null)) {
      throw new ConfigurationError(
        "parentWindowHandle is required when you opted into using broker. You need to provide the " +
          "window handle of your GUI application, or use PublicClientApplication.CONSOLE_WINDOW_HANDLE " +
          "when and only when your application is a console app.",
      );
    }
    const authority = await this.#authority(options.signal);
    if (broker && options.parentWindowHandle !== undefined && options.parentWindowHandle !== null) {
      return await acquireTokenInteractiveViaBroker(this.#brokered(broker, authority), wanted, {
        ...options,
        parentWindowHandle: options.parentWindowHandle,
        binding,
      });
    }
    return await runBrowserFlow(this.#flowContext(authority), wanted, {
      ...options,
      clientCapabilities: this.#options.clientCapabilities,
    });
  }

  /** The URL that starts a sign-in in a browser, for apps that handle the redirect themselves. */
  async getAuthorizationRequestUrl(scopes: string[], options: AuthCodeFlowOptions): Promise<string> {
    const wanted = validateScopes(scopes);
    return buildAuthorizationUrl(await this.#ready(), wanted, {
      ...options,
      clientCapabilities: this.#options.clientCapabilities,
    });
  }

  /** Starts an authorization-code flow with PKCE; send the user to `flow.auth_uri`. */
  async initiateAuthCodeFlow(scopes: string[], options: AuthCodeFlowOptions): Promise<AuthCodeFlow> {
    const wanted = validateScopes(scopes);
    return await initiateAuthCodeFlow(await this.#ready(), wanted, {
      ...options,
      clientCapabilities: this.#options.clientCapabilities,
    });
  }

  /**
   * Finishes an authorization-code flow with the redirect's parameters.
   *
   * @throws {ConfigurationError} `state mismatch` when the response is not for this flow.
   */
  async acquireTokenByAuthCodeFlow(
    flow: AuthCodeFlow,
    response: AuthorizationResponse,
    options: CancelOptions = {},
  ): Promise<AuthResult> {
    return await acquireTokenByAuthCodeFlow(await this.#ready(options.signal), flow, response, options);
  }

  /** Signs the account out: from the broker for broker accounts, then from the local cache. */
  async removeAccount(account: Account, options: CancelOptions = {}): Promise<void> {
    const { broker } = await this.#loaded(options.signal);
    const authority = await this.#cacheView(options.signal);
    if (broker && account.account_source === "broker") {
      await signOutViaBroker(this.#brokered(broker, authority), account, options);
    }
    await this.tokenCache.access(() =>
      this.tokenCache.removeAccount({
        homeAccountId: account.home_account_id,
        environments: [...authority.environments],
        clientId: this.clientId,
      })
    );
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
      initTimeoutMs: this.#brokerTimeouts().silentMs,
      linuxBroker: this.#options.linuxBroker,
      redirectUri: this.#options.brokerRedirectUri,
      nativeLogging: this.#options.brokerNativeLogging,
    });
  }

  #brokerTimeouts(): { silentMs: number; interactiveMs: number } {
    const timeout = this.#options.brokerTimeoutMs;
    return {
      silentMs: (typeof timeout === "number" ? timeout : timeout?.silent) ?? 30_000,
      interactiveMs: (typeof timeout === "number" ? timeout : timeout?.interactive) ?? 600_000,
    };
  }

  /**
   * The cache's view of the authority: the discovered one once discovery ran, else one built without
   * the network ({@linkcode cacheViewOf}), else discovery's. Discovery itself runs only when a request
   * must go to the identity provider, once per app.
   */
  #cacheView(signal?: AbortSignal): Promise<CacheView> {
    if (this.#discovered) return Promise.resolve(this.#discovered);
    if (this.#offlineView === undefined) {
      this.#offlineView = cacheViewOf(this.#parsed, {
        instanceDiscovery: this.#options.instanceDiscovery,
        validateAuthority: this.#options.validateAuthority,
      }) ?? null;
    }
    return this.#offlineView ? Promise.resolve(this.#offlineView) : this.#authority(signal);
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

  /** What every OAuth flow needs, once the broker has loaded (rule 2 rejects here) and the authority is known. */
  /** The loaded broker (rule 2 rejects here), or the caller's abort. */
  #loaded(signal?: AbortSignal): Promise<LoadedBroker> {
    return abortable(this.#broker, signal);
  }

  async #ready(signal?: AbortSignal): Promise<FlowContext> {
    await this.#loaded(signal);
    return this.#flowContext(await this.#authority(signal));
  }

  #claims(claimsChallenge: string | undefined): string | undefined {
    return mergeClaims(this.#options.clientCapabilities, claimsChallenge);
  }

  #flowContext(authority: ResolvedAuthority): FlowContext {
    return {
      clientId: this.clientId,
      authority,
      http: this.#http,
      cache: this.tokenCache,
      logger: this.#logger,
    };
  }

  #brokered(broker: NonNullable<LoadBrokerResult["broker"]>, authority: CacheView): BrokeredContext {
    return {
      broker,
      clientId: this.clientId,
      logger: this.#logger,
      cache: this.tokenCache,
      authority: {
        url: `https://${authority.host}/${authority.realm}`,
        environment: authority.environment,
        environments: [...authority.environments],
        tenant: authority.realm,
        knownToDeveloper: authority.knownToDeveloper,
      },
      timeouts: this.#brokerTimeouts(),
      clientCapabilities: this.#options.clientCapabilities,
    };
  }
}
