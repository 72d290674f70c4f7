/**
 * Token requests routed through an initialised OS broker, with MSAL Python's semantics: the interactive
 * attempt order (known account by login hint, then the OS default account, then the broker's UI), local
 * caching of what the broker returns (access token, ID token and account, never a refresh token), and
 * broker failures returned as `broker_error` results, never a silent switch to the browser (rule 4).
 *
 * Every broker call runs under an `AbortSignal` combining the caller's signal with a timeout
 * (`_broker_call.ts`); answers become results, and are cached, in `_broker_result.ts`.
 *
 * @module
 */

import { lc } from "../core/_cache_schema.ts";
import type { PluginLogger } from "../core/log.ts";
import type { Account, AuthResult } from "../core/results.ts";
import type { TokenBinding } from "../core/token_binding.ts";
import type {
  BrokerAccount,
  BrokerInteractiveRequest,
  BrokerTokenRequest,
  WindowHandle,
} from "../brokers/broker.ts";
import {
  attempt,
  callBroker,
  isTimedOut,
  reasonOf,
  type TimedOut,
  timeoutDescription,
} from "./_broker_call.ts";
import { accountFromBroker, claimsOf, finish, readBrokerAccount, timeoutResult } from "./_broker_result.ts";
import { type BrokerContext, type CallOptions, claimsFor } from "./context.ts";
import type { InteractiveOptions } from "./interactive.ts";

/** The options of `acquireTokenInteractive` as the brokered flow sees them. */
export interface BrokeredInteractiveOptions extends InteractiveOptions {
  /** The parent window of the broker's UI, or `CONSOLE_WINDOW_HANDLE`. */
  parentWindowHandle: WindowHandle;
  /** A proof-of-possession token or an SSH certificate; only when the broker supports it. */
  binding?: TokenBinding;
}

/** Options of {@linkcode acquireTokenSilentViaBroker}. */
export interface BrokeredSilentOptions extends CallOptions {
  /** A claims challenge from a resource (JSON). */
  claimsChallenge?: string;
  /** A proof-of-possession token or an SSH certificate; only when the broker supports it. */
  binding?: TokenBinding;
}

/** Options of {@linkcode signOutViaBroker} and {@linkcode listBrokerAccounts}. */
export interface BrokeredCallOptions extends Pick<CallOptions, "signal"> {}

const ESCALATING_STATUSES = new Set(["AccountUnusable", "InteractionRequired"]);

/**
 * Acquires a token interactively through the broker, trying without UI first: a cached account matching
 * `loginHint`, then (without `prompt` or with `prompt: "none"`) the OS default account, then the broker's
 * UI. Broker failures come back as `broker_error` results.
 *
 * @throws {RedirectUriError} when the broker says the app has not registered its redirect URI.
 * @throws {AbortError} when `options.signal` aborts.
 * @example
 * ```ts
 * import { acquireTokenInteractiveViaBroker } from "./brokered.ts";
 * import type { BrokerContext } from "./context.ts";
 * import { CONSOLE_WINDOW_HANDLE } from "../brokers/broker.ts";
 *
 * declare const ctx: BrokerContext;
 * const result = await acquireTokenInteractiveViaBroker(ctx, ["User.Read"], {
 *   parentWindowHandle: CONSOLE_WINDOW_HANDLE,
 *   loginHint: "user@contoso.com",
 * });
 * ```
 */
export async function acquireTokenInteractiveViaBroker(
  ctx: BrokerContext,
  scopes: string[],
  options: BrokeredInteractiveOptions,
): Promise<AuthResult> {
  const { prompt, signal, binding } = options;
  const correlationId = options.correlationId ?? crypto.randomUUID();
  const claims = claimsFor(ctx, options.claimsChallenge);
  warnAboutIgnoredOptions(ctx.logger, options);
  let loginHint = options.loginHint;

  // (a) An account this cache already knows by that name; if it needs interaction, the broker's UI is
  // asked to sign in that account again (c).
  let knownAccount: BrokerAccount | undefined;
  if (loginHint && prompt !== "select_account") {
    const accountId = await cachedBrokerAccountId(ctx, loginHint);
    const found = accountId && await findBrokerAccount(ctx, accountId, correlationId, signal);
    if (found && !isTimedOut(found)) {
      knownAccount = found;
      const result = await silentWithAccount(ctx, scopes, found, { claims, correlationId, signal, binding });
      if ("access_token" in result) return result;
    }
  }

  const withMaxAge = extraParameters(ctx, options.maxAge);
  // (b) The OS's default account.
  if (!prompt || prompt === "none") {
    const response = await callBroker(
      ctx.brokerDeadlines.silentMs,
      signal,
      (s) =>
        ctx.broker.signInSilently(
          tokenRequest(ctx, scopes, { claims, correlationId, signal: s, binding }, withMaxAge),
        ),
    );
    const wrongAccount = response.ok && !!loginHint &&
      loginHint.toLowerCase() !== String(claimsOf(response)?.preferred_username ?? "").toLowerCase();
    if (prompt === "none") {
      if (wrongAccount) {
        return {
          error: "broker_error",
          error_description: `prompt="none" will not work for login_hint="${loginHint}"`,
          correlation_id: correlationId,
        };
      }
      return await finish(ctx, scopes, response, correlationId, binding);
    }
    const escalate = wrongAccount ||
      (!response.ok && !isTimedOut(response) &&
        ESCALATING_STATUSES.has(response.status.replace(/^Status_/, "")));
    if (!escalate) return await finish(ctx, scopes, response, correlationId, binding);
  }

  // (c) The broker's UI.
  if (prompt === "select_account" && loginHint) {
    ctx.logger.warning("Using both select_account and login_hint is ambiguous. Ignoring login_hint.");
    loginHint = undefined;
  }
  options.onBeforeLaunchingUi?.({ ui: "broker" });
  const response = await callBroker(ctx.brokerDeadlines.interactiveMs, signal, (s) => {
    const request: BrokerInteractiveRequest = {
      ...tokenRequest(ctx, scopes, { claims, correlationId, signal: s, binding }, withMaxAge),
      windowHandle: options.parentWindowHandle,
    };
    if (prompt === "select_account") request.prompt = prompt;
    if (loginHint) request.loginHint = loginHint;
    if (knownAccount) request.account = knownAccount;
    return ctx.broker.acquireTokenInteractive(request);
  });
  return await finish(ctx, scopes, response, correlationId, binding);
}

/**
 * Signs a user in with a username and password through the broker (MSAL Python does this on Windows
 * and macOS, passing `MSALRuntime_Username` / `MSALRuntime_Password` to a silent sign-in). The account
 * is recorded as a broker account.
 *
 * @throws {RedirectUriError} when the broker says the app has not registered its redirect URI.
 * @throws {AbortError} when `options.signal` aborts.
 * @example
 * ```ts
 * import { acquireTokenByUsernamePasswordViaBroker } from "./brokered.ts";
 * import type { BrokerContext } from "./context.ts";
 *
 * declare const ctx: BrokerContext;
 * declare const pw: string;
 * const result = await acquireTokenByUsernamePasswordViaBroker(ctx, ["User.Read"], "ada@contoso.com", pw, {});
 * ```
 */
export async function acquireTokenByUsernamePasswordViaBroker(
  ctx: BrokerContext,
  scopes: string[],
  username: string,
  password: string,
  options: BrokeredSilentOptions,
): Promise<AuthResult> {
  const correlationId = options.correlationId ?? crypto.randomUUID();
  const claims = claimsFor(ctx, options.claimsChallenge);
  const credentials = {
    ...extraParameters(ctx),
    MSALRuntime_Username: username,
    MSALRuntime_Password: password,
  };
  const response = await callBroker(
    ctx.brokerDeadlines.silentMs,
    options.signal,
    (signal) =>
      ctx.broker.signInSilently(tokenRequest(ctx, scopes, { claims, correlationId, signal }, credentials)),
  );
  return await finish(ctx, scopes, response, correlationId, undefined);
}

/**
 * Acquires a token without UI for an account the broker established, by its broker id
 * (`account.local_account_id`). Resolves `null` when the broker does not know the account.
 *
 * @throws {RedirectUriError} when the broker says the app has not registered its redirect URI.
 * @throws {AbortError} when `options.signal` aborts.
 * @example
 * ```ts
 * import { acquireTokenSilentViaBroker } from "./brokered.ts";
 * import type { BrokerContext } from "./context.ts";
 * import type { Account } from "../core/results.ts";
 *
 * declare const ctx: BrokerContext;
 * declare const account: Account;
 * const result = await acquireTokenSilentViaBroker(ctx, ["User.Read"], account, {});
 * if (result === null) {
 *   // try the refresh token
 * }
 * ```
 */
export async function acquireTokenSilentViaBroker(
  ctx: BrokerContext,
  scopes: string[],
  account: Account,
  options: BrokeredSilentOptions,
): Promise<AuthResult | null> {
  return await silentByAccountId(ctx, scopes, account.local_account_id, {
    claims: claimsFor(ctx, options.claimsChallenge),
    correlationId: options.correlationId ?? crypto.randomUUID(),
    signal: options.signal,
    binding: options.binding,
  });
}

/**
 * Signs the account out of this app in the broker. Failures (unknown account, broker error, timeout)
 * are logged, not thrown, so local sign-out can proceed.
 *
 * @throws {AbortError} when `options.signal` aborts.
 * @example
 * ```ts
 * import { signOutViaBroker } from "./brokered.ts";
 * import type { BrokerContext } from "./context.ts";
 * import type { Account } from "../core/results.ts";
 *
 * declare const ctx: BrokerContext;
 * declare const account: Account;
 * await signOutViaBroker(ctx, account);
 * ```
 */
export async function signOutViaBroker(
  ctx: BrokerContext,
  account: Account,
  options: BrokeredCallOptions = {},
): Promise<void> {
  const correlationId = crypto.randomUUID();
  const found = await findBrokerAccount(ctx, account.local_account_id, correlationId, options.signal);
  if (isTimedOut(found)) {
    ctx.logger.warning(`Broker sign-out skipped: ${timeoutDescription(found.timedOutMs)}`);
    return;
  }
  if (!found) {
    ctx.logger.verbose("Broker sign-out skipped: the broker does not know the account");
    return;
  }
  const signedOut = await attempt(
    ctx.logger,
    ctx.brokerDeadlines.silentMs,
    options.signal,
    (signal) => ctx.broker.signOut({ clientId: ctx.clientId, account: found, correlationId, signal }),
  );
  if (!signedOut.ok) ctx.logger.warning(`Broker sign-out failed: ${reasonOf(signedOut)}`);
}

/**
 * Lists the accounts the broker knows for this app (in the app's cloud), for merging into
 * `getAccounts`. A failing or slow broker yields `[]` and a warning.
 *
 * @throws {AbortError} when `options.signal` aborts.
 * @example
 * ```ts
 * import { listBrokerAccounts } from "./brokered.ts";
 * import type { BrokerContext } from "./context.ts";
 *
 * declare const ctx: BrokerContext;
 * const fromBroker = await listBrokerAccounts(ctx);
 * ```
 */
export async function listBrokerAccounts(
  ctx: BrokerContext,
  options: BrokeredCallOptions = {},
): Promise<Account[]> {
  const correlationId = crypto.randomUUID();
  const listed = await attempt(
    ctx.logger,
    ctx.brokerDeadlines.silentMs,
    options.signal,
    (signal) => ctx.broker.getAccounts({ clientId: ctx.clientId, correlationId, signal }),
  );
  if (!listed.ok) {
    ctx.logger.warning(`Could not list the broker's accounts: ${reasonOf(listed)}`);
    return [];
  }
  const environments = new Set(ctx.authority.environments.map(lc));
  const accounts = Array.isArray(listed.value) ? listed.value.map(readBrokerAccount) : [];
  return accounts
    .filter((account) => account && (!account.environment || environments.has(lc(account.environment))))
    .map((account) => accountFromBroker(ctx, account!));
}

// ---------------------------------------------------------------------------------------------------

interface BrokerCall {
  claims?: string;
  correlationId: string;
  signal?: AbortSignal;
  binding?: TokenBinding;
}

function tokenRequest(
  ctx: BrokerContext,
  scopes: string[],
  call: BrokerCall & { signal: AbortSignal },
  extra: Record<string, string>,
): BrokerTokenRequest {
  const request: BrokerTokenRequest = {
    clientId: ctx.clientId,
    authority: `https://${ctx.authority.host}/${ctx.authority.realm}`,
    scopes: [...scopes],
    correlationId: call.correlationId,
    redirectUri: ctx.broker.redirectUri(ctx.clientId),
    signal: call.signal,
  };
  if (call.claims) request.claims = call.claims;
  if (Object.keys(extra).length) request.extraParameters = extra;
  if (call.binding?.type === "pop") request.pop = { ...call.binding.pop };
  if (call.binding?.type === "ssh-cert") {
    request.tokenType = "ssh-cert";
    request.keyId = call.binding.keyId;
    request.reqCnf = call.binding.reqCnf;
  }
  return request;
}

function extraParameters(ctx: BrokerContext, maxAge?: number): Record<string, string> {
  const extra: Record<string, string> = {};
  if (maxAge !== undefined) extra.max_age = String(maxAge);
  if (ctx.authority.knownToDeveloper) extra.validateAuthority = "no";
  return extra;
}

/** Looks the account up in the broker, then asks for a token; `null` when the broker does not know it. */
async function silentByAccountId(
  ctx: BrokerContext,
  scopes: string[],
  accountId: string,
  call: BrokerCall,
): Promise<AuthResult | null> {
  const account = await findBrokerAccount(ctx, accountId, call.correlationId, call.signal);
  if (isTimedOut(account)) return timeoutResult(account, call.correlationId);
  if (!account) return null;
  return await silentWithAccount(ctx, scopes, account, call);
}

/** Asks the broker for a token for an account it returned. */
async function silentWithAccount(
  ctx: BrokerContext,
  scopes: string[],
  account: BrokerAccount,
  call: BrokerCall,
): Promise<AuthResult> {
  const response = await callBroker(
    ctx.brokerDeadlines.silentMs,
    call.signal,
    (signal) =>
      ctx.broker.acquireTokenSilent({
        ...tokenRequest(ctx, scopes, { ...call, signal }, extraParameters(ctx)),
        account,
      }),
  );
  return await finish(ctx, scopes, response, call.correlationId, call.binding);
}

/** The broker's account with that id; `undefined` when it does not know it or the lookup failed. */
async function findBrokerAccount(
  ctx: BrokerContext,
  accountId: string,
  correlationId: string,
  signal: AbortSignal | undefined,
): Promise<BrokerAccount | undefined | TimedOut> {
  const { broker, clientId } = ctx;
  const found = await attempt(
    ctx.logger,
    ctx.brokerDeadlines.silentMs,
    signal,
    async (s) =>
      broker.readAccount
        ? await broker.readAccount({ clientId, correlationId, signal: s, accountId })
        : await broker.getAccounts({ clientId, correlationId, signal: s }),
  );
  if (found.ok) {
    return Array.isArray(found.value) ? found.value.find((account) => account.id === accountId) : found.value;
  }
  if (isTimedOut(found)) return found;
  ctx.logger.verbose(`Could not read the broker account: ${reasonOf(found)}`);
  return undefined;
}

/**
 * The broker id of the one cached account (per home account) signed in as `username`. Read through
 * `cache.access`, so a persistence plugin loads the accounts other processes stored.
 */
async function cachedBrokerAccountId(ctx: BrokerContext, username: string): Promise<string | undefined> {
  const environments = [...ctx.authority.environments];
  const entries = await ctx.cache.access(() => ctx.cache.getAccounts({ environments, username }), {
    readOnly: true,
  });
  const byHome = new Map(entries.map((entry) => [entry.home_account_id, entry.local_account_id]));
  return byHome.size === 1 ? [...byHome.values()][0] : undefined;
}

/** Options of the browser flow that mean nothing to a broker: logged, never silently dropped. */
const BROWSER_ONLY_OPTIONS = [
  "domainHint",
  "extraScopesToConsent",
  "port",
  "timeoutMs",
  "timeout",
  "openBrowser",
  "successTemplate",
  "errorTemplate",
  "responseMode",
] as const satisfies readonly (keyof BrokeredInteractiveOptions)[];

function warnAboutIgnoredOptions(logger: PluginLogger, options: BrokeredInteractiveOptions): void {
  for (const name of BROWSER_ONLY_OPTIONS) {
    const value = options[name];
    if (value === undefined || (Array.isArray(value) && value.length === 0)) continue;
    logger.warning(`Ignoring parameter ${name}, which is not supported by broker`);
  }
  if (options.prompt && !["none", "select_account"].includes(options.prompt)) {
    logger.warning(`prompt=${options.prompt} is not supported by broker; it is ignored`);
  }
}
