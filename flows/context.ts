/**
 * The one context every flow receives: what the app knows once it has loaded its broker, with the
 * authority as the cache sees it (no network when the authority allows). Flows that talk to the
 * identity provider take its discovered form, {@linkcode OnlineContext}, from
 * {@linkcode AppContext.online}: discovery runs there, once per app. `PublicClientApplication` builds
 * each once and hands the same objects to every call.
 *
 * @module
 */

import type { Broker } from "../brokers/broker.ts";
import type { CacheView, ResolvedAuthority } from "../core/authority.ts";
import type { TokenCache } from "../core/cache.ts";
import type { HttpClient } from "../core/http.ts";
import type { PluginLogger } from "../core/log.ts";
import type { Platform } from "../core/platform.ts";
import type { AuthResult } from "../core/results.ts";
import { mergeClaims } from "../core/scopes.ts";
import type { SharedWork } from "../core/abort.ts";

/**
 * What every call that goes to the network or the broker takes: the base of the app's per-method
 * option types and of the flows' own options.
 */
export interface CallOptions {
  /** Cancels the call; the promise then rejects with `AbortError`. */
  signal?: AbortSignal;
  /** Sent as `client-request-id`, to find the request in the identity provider's logs; random by default. */
  correlationId?: string;
}

/** How long a broker call may take before it is cancelled, in milliseconds. */
export interface BrokerDeadlines {
  /** Calls without UI: silent, default account, sign-out, account listing, start-up. */
  readonly silentMs: number;
  /** Calls that may show the broker's UI. */
  readonly interactiveMs: number;
}

/** What every flow needs from the app; one object per app. */
export interface AppContext {
  /** The app's client id. */
  readonly clientId: string;
  /**
   * The authority as the cache sees it (environments, realm): built without the network when the
   * authority allows (`cacheViewOf`), the discovered authority otherwise or once discovery ran.
   */
  readonly authority: CacheView;
  /**
   * This context with the authority's discovered metadata, for requests to the identity provider.
   * Discovery runs on the first call and is shared by every call after it; a failed one is retried.
   *
   * @throws {AuthorityError} when discovery fails; {@linkcode NetworkError} when it cannot reach the server.
   * @throws {AbortError} when `signal` aborts (discovery itself goes on for the other callers).
   */
  online(signal?: AbortSignal): Promise<OnlineContext>;
  /** The app's HTTP client for the identity provider. */
  readonly http: HttpClient;
  /** The app's token cache. */
  readonly cache: TokenCache;
  /** The app's logger; PII scrubbed unless the app allowed it. */
  readonly logger: PluginLogger;
  /** Client capabilities, e.g. `["CP1"]`; merged into every request's claims by {@linkcode claimsFor}. */
  readonly clientCapabilities?: readonly string[];
  /** The initialised OS broker, when the app uses one. */
  readonly broker?: Broker;
  /** Deadlines of broker calls. */
  readonly brokerDeadlines: BrokerDeadlines;
  /** The platform the app runs on (detected on first read). */
  readonly platform: Platform;
  /** Silent attempts in progress, shared by identical concurrent calls. */
  readonly silentAttempts: SharedWork<AuthResult | null>;
}

/** The app context once the authority is discovered: what flows that reach the identity provider take. */
export interface OnlineContext extends AppContext {
  /** The app's authority with its discovered metadata (endpoints, issuer). */
  readonly authority: ResolvedAuthority;
}

/** The app context when a broker is in use: what the brokered flows take. */
export type BrokerContext = AppContext & { readonly broker: Broker };

/** Whether the app uses a broker. */
export function hasBroker(context: AppContext): context is BrokerContext {
  return context.broker !== undefined;
}

/**
 * The `claims` of a request: the app's client capabilities merged with a claims challenge, MSAL
 * Python's way (capabilities under `access_token.xms_cc.values`). The one place they are merged.
 *
 * @param context the app context, for its client capabilities
 * @param claimsChallenge a claims challenge from a resource, as JSON
 * @returns the claims JSON, or `undefined` when there is nothing to send
 * @throws {ConfigurationError} when `claimsChallenge` is not a JSON object and capabilities must be merged.
 */
export function claimsFor(context: AppContext, claimsChallenge: string | undefined): string | undefined {
  return mergeClaims(context.clientCapabilities, claimsChallenge);
}
