/**
 * The options of `PublicClientApplication` and of each of its methods, one type per method, named
 * after it. The library's own durations are in milliseconds and their names end in `Ms`; an option that
 * sets a protocol field keeps that field's unit, seconds, and is named after it (`maxAge`, OpenID
 * Connect's `max_age`). The deprecated interactive `timeout` is in seconds too: use `timeoutMs`.
 *
 * @module
 */

import type { WindowHandle } from "../brokers/broker.ts";
import type { BrokerOptIn, BrokerPluginSource, LinuxBrokerPlugin } from "../brokers/registry.ts";
import type { TokenCache } from "../core/cache.ts";
import type { Logger } from "../core/log.ts";
import type { Platform } from "../core/platform.ts";
import type { Account } from "../core/results.ts";
import type { TokenBindingOptions } from "../core/token_binding.ts";
import type { CallOptions } from "../flows/context.ts";
import type { AuthorizationUrlOptions, InteractiveOptions } from "../flows/interactive.ts";

export type { CallOptions };

/** Broker call timeouts, in milliseconds. */
export interface BrokerTimeouts {
  /** Calls without UI (silent, default account, sign-out, account listing, start-up), in ms. Default 30 s. */
  silentMs?: number;
  /** Calls that may show the broker's UI, in ms. Default 10 minutes. */
  interactiveMs?: number;
  /** @deprecated Use `silentMs` (same unit). */
  silent?: number;
  /** @deprecated Use `interactiveMs` (same unit). */
  interactive?: number;
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
  /** Broker plugins keyed by platform (e.g. `linux`), instead of the built-in ones (tests, custom brokers). */
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
  /**
   * Broker call timeouts in milliseconds: one number for both kinds, or per kind. Defaults: 30 s for
   * calls without UI, 10 minutes for calls that may show UI.
   */
  brokerTimeoutMs?: number | BrokerTimeouts;
  /** Timeout of each HTTP request in milliseconds. Default 30 s. */
  httpTimeoutMs?: number;
}

/** Options of `getAccounts`. */
export interface GetAccountsOptions extends Pick<CallOptions, "signal"> {
  /** Only accounts with this sign-in name (case-insensitive). */
  username?: string;
}

/**
 * Options of `acquireTokenSilent` and `acquireTokenSilentWithError`. `popParameters` and
 * `sshCertificate` ask for a bound token, which only a broker that supports it can issue.
 */
export interface AcquireTokenSilentOptions extends CallOptions, TokenBindingOptions {
  /** The account, as `getAccounts` returned it; without one the call resolves `null`. */
  account: Account | null | undefined;
  /** Skip the cached access token and ask for a new one. */
  forceRefresh?: boolean;
  /** A claims challenge from a resource, as JSON (also skips the cached access token). */
  claimsChallenge?: string;
}

/**
 * Options of `acquireTokenInteractive`. `popParameters` and `sshCertificate` ask for a bound token,
 * which only a broker that supports it can issue.
 */
export interface AcquireTokenInteractiveOptions extends CallOptions, InteractiveOptions, TokenBindingOptions {
  /** Required when a broker is on: your window's handle, or `CONSOLE_WINDOW_HANDLE` for console apps. */
  parentWindowHandle?: WindowHandle;
}

/** Options of `acquireTokenByRefreshToken`. */
export interface AcquireTokenByRefreshTokenOptions extends CallOptions {
  /** A claims challenge from a resource, as JSON. */
  claimsChallenge?: string;
}

/** Options of `initiateDeviceFlow`. */
export interface InitiateDeviceFlowOptions extends CallOptions {
  /** A claims challenge from a resource, as JSON. */
  claimsChallenge?: string;
}

/** Options of `acquireTokenByDeviceFlow`; its requests keep the flow's `correlation_id`. */
export interface AcquireTokenByDeviceFlowOptions extends Pick<CallOptions, "signal"> {
  /** A claims challenge from a resource, as JSON. */
  claimsChallenge?: string;
}

/** Options of `acquireTokenByUsernamePassword`. */
export interface AcquireTokenByUsernamePasswordOptions extends CallOptions {
  /** A claims challenge from a resource, as JSON. */
  claimsChallenge?: string;
}

/**
 * Options of `initiateAuthCodeFlow`. `signal` cancels the wait for the authority's discovery, which
 * the app's first call runs; no request of its own is sent, so there is no `correlationId`.
 */
export interface InitiateAuthCodeFlowOptions extends AuthorizationUrlOptions, Pick<CallOptions, "signal"> {}

/**
 * Options of `getAuthorizationRequestUrl`. `signal` cancels the wait for the authority's discovery,
 * which the app's first call runs; no request of its own is sent, so there is no `correlationId`.
 */
export interface GetAuthorizationRequestUrlOptions
  extends AuthorizationUrlOptions, Pick<CallOptions, "signal"> {}

/** Options of `acquireTokenByAuthCodeFlow`. */
export interface AcquireTokenByAuthCodeFlowOptions extends CallOptions {}

/** Options of `removeAccount`. */
export interface RemoveAccountOptions extends Pick<CallOptions, "signal"> {}

/** @deprecated Use {@linkcode AcquireTokenSilentOptions}. */
export type SilentOptions = AcquireTokenSilentOptions;
/** @deprecated Use the options type named after the method, e.g. {@linkcode InitiateDeviceFlowOptions}. */
export type FlowOptions = CallOptions & { claimsChallenge?: string };
/**
 * @deprecated Use {@linkcode InitiateAuthCodeFlowOptions} or {@linkcode GetAuthorizationRequestUrlOptions}
 * (the same fields).
 */
export type AuthCodeFlowOptions = InitiateAuthCodeFlowOptions;
/** @deprecated Use the options type named after the method, e.g. {@linkcode RemoveAccountOptions}. */
export type CancelOptions = Pick<CallOptions, "signal">;
