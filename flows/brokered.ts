/**
 * Token requests routed through an initialised OS broker, with MSAL Python's semantics: the interactive
 * attempt order (known account by login hint, then the OS default account, then the broker's UI), local
 * caching of what the broker returns (access token, ID token and account, never a refresh token), and
 * broker failures returned as `broker_error` results, never a silent switch to the browser (rule 4).
 *
 * Every broker call runs under an `AbortSignal` combining the caller's signal with a timeout.
 *
 * @module
 */

import { AbortError, InvalidInputError, RedirectUriError } from "../core/errors.ts";
import { decodeIdToken } from "../core/jwt.ts";
import type { LogWriter } from "../core/log.ts";
import type { Account, AuthResult, ErrorResult, IdTokenClaims, TokenResult } from "../core/results.ts";
import { mergeClaims } from "../core/scopes.ts";
import type { TokenCache } from "../core/cache.ts";
import type { TokenBinding } from "../core/token_binding.ts";
import type {
  Broker,
  BrokerAccount,
  BrokerError,
  BrokerInteractiveRequest,
  BrokerTokenRequest,
  BrokerTokenResponse,
  BrokerTokenResult,
  WindowHandle,
} from "../brokers/broker.ts";

/** What the brokered flows need from the application. */
export interface BrokeredContext {
  /** The initialised broker. */
  broker: Broker;
  /** The app's client id. */
  clientId: string;
  /** Where warnings about ignored options and broker failures go. */
  logger: LogWriter;
  /** The app's token cache; broker results are written to it. */
  cache: TokenCache;
  /** The app's authority, resolved. */
  authority: {
    /** `https://<host>/<tenant>`, as the broker wants it. */
    url: string;
    /** The cache environment (host) tokens are stored under. */
    environment: string;
    /** Aliases of `environment`, searched for accounts. */
    environments: string[];
    /** The tenant, e.g. `common` or a GUID. */
    tenant: string;
    /** `validateAuthority: false` or `instanceDiscovery: false`: tells the broker not to validate it. */
    knownToDeveloper: boolean;
  };
  /** How long a broker call may take before it is cancelled. */
  timeouts: {
    /** For calls without UI. */
    silentMs: number;
    /** For calls that may show the broker's UI. */
    interactiveMs: number;
  };
  /** Client capabilities (e.g. `["CP1"]`), merged into the claims of every request. */
  clientCapabilities?: string[];
}

/** The options of `acquireTokenInteractive` as the brokered flow sees them. */
export interface BrokeredInteractiveOptions {
  /** The parent window of the broker's UI, or `CONSOLE_WINDOW_HANDLE`. */
  parentWindowHandle: WindowHandle;
  /** OIDC `prompt`; the broker honours `none` and `select_account`. */
  prompt?: "none" | "login" | "consent" | "select_account" | "create";
  /** The sign-in name to use or pre-fill. */
  loginHint?: string;
  /** Not supported by the broker; logged and ignored. */
  domainHint?: string;
  /** A claims challenge from a resource (JSON). */
  claimsChallenge?: string;
  /** Maximum age in seconds of the user's authentication. */
  maxAge?: number;
  /** Not supported by the broker; logged and ignored. */
  extraScopesToConsent?: string[];
  /** Called right before the broker's UI may appear. */
  onBeforeLaunchingUi?: (info: { ui: "broker" | "browser"; url?: string }) => void;
  /** Correlates the broker calls with the identity provider's logs; random by default. */
  correlationId?: string;
  /** Cancels the flow; the promise then rejects with `AbortError`. */
  signal?: AbortSignal;
  /** The loopback port of the browser flow; ignored with a warning. */
  port?: number;
  /** The browser flow's timeout; ignored with a warning (the broker has its own). */
  timeout?: number;
  /** A proof-of-possession token or an SSH certificate; only when the broker supports it. */
  binding?: TokenBinding;
}

/** Options of {@linkcode acquireTokenSilentViaBroker}. */
export interface BrokeredSilentOptions {
  /** A claims challenge from a resource (JSON). */
  claimsChallenge?: string;
  /** Correlates the broker calls with the identity provider's logs; random by default. */
  correlationId?: string;
  /** Cancels the call; the promise then rejects with `AbortError`. */
  signal?: AbortSignal;
  /** A proof-of-possession token or an SSH certificate; only when the broker supports it. */
  binding?: TokenBinding;
}

/** Options of {@linkcode signOutViaBroker} and {@linkcode listBrokerAccounts}. */
export interface BrokeredCallOptions {
  /** Cancels the call; the promise then rejects with `AbortError`. */
  signal?: AbortSignal;
}

const ESCALATING_STATUSES = new Set(["AccountUnusable", "InteractionRequired"]);
const REDIRECT_URI_NOT_REGISTERED = /AADSTS50011|AADSTS7000218/;

/**
 * Acquires a token interactively through the broker, trying without UI first: a cached account matching
 * `loginHint`, then (without `prompt` or with `prompt: "none"`) the OS default account, then the broker's
 * UI. Broker failures come back as `broker_error` results.
 *
 * @throws {RedirectUriError} when the broker says the app has not registered its redirect URI.
 * @throws {AbortError} when `options.signal` aborts.
 * @example
 * ```ts ignore
 * const result = await acquireTokenInteractiveViaBroker(ctx, ["User.Read"], {
 *   parentWindowHandle: CONSOLE_WINDOW_HANDLE,
 *   loginHint: "user@contoso.com",
 * });
 * ```
 */
export async function acquireTokenInteractiveViaBroker(
  ctx: BrokeredContext,
  scopes: string[],
  options: BrokeredInteractiveOptions,
): Promise<AuthResult> {
  const { prompt, signal, binding } = options;
  const correlationId = options.correlationId ?? crypto.randomUUID();
  const claims = mergeClaims(ctx.clientCapabilities, options.claimsChallenge);
  warnAboutIgnoredOptions(ctx.logger, options);
  let loginHint = options.loginHint;

  // (a) An account this cache already knows by that name.
  if (loginHint && prompt !== "select_account") {
    const accountId = cachedBrokerAccountId(ctx, loginHint);
    if (accountId) {
      const result = await silentByAccountId(ctx, scopes, accountId, {
        claims,
        correlationId,
        signal,
        binding,
      });
      if (result && "access_token" in result) return result;
    }
  }

  const withMaxAge = extraParameters(ctx, options.maxAge);
  // (b) The OS's default account.
  if (!prompt || prompt === "none") {
    const response = await callBroker(
      ctx.timeouts.silentMs,
      signal,
      (s) =>
        ctx.broker.signInSilently(
          tokenRequest(ctx, scopes, { claims, correlationId, signal: s, binding }, withMaxAge),
        ),
    );
    const wrongAccount = response.ok && !!loginHint &&
      loginHint.toLowerCase() !== (claimsOf(response)?.preferred_username ?? "").toLowerCase();
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
      (!response.ok && !("timeout" in response) &&
        ESCALATING_STATUSES.has(response.status.replace(/^Status_/, "")));
    if (!escalate) return await finish(ctx, scopes, response, correlationId, binding);
  }

  // (c) The broker's UI.
  if (prompt === "select_account" && loginHint) {
    ctx.logger.warning("Using both select_account and login_hint is ambiguous. Ignoring login_hint.");
    loginHint = undefined;
  }
  options.onBeforeLaunchingUi?.({ ui: "broker" });
  const response = await callBroker(ctx.timeouts.interactiveMs, signal, (s) => {
    const request: BrokerInteractiveRequest = {
      ...tokenRequest(ctx, scopes, { claims, correlationId, signal: s, binding }, withMaxAge),
      windowHandle: options.parentWindowHandle,
    };
    if (prompt === "select_account") request.prompt = prompt;
    if (loginHint) request.loginHint = loginHint;
    return ctx.broker.acquireTokenInteractive(request);
  });
  return await finish(ctx, scopes, response, correlationId, binding);
}

/**
 * Acquires a token without UI for an account the broker established, by its broker id
 * (`account.local_account_id`). Resolves `null` when the broker does not know the account.
 *
 * @throws {RedirectUriError} when the broker says the app has not registered its redirect URI.
 * @throws {AbortError} when `options.signal` aborts.
 * @example
 * ```ts ignore
 * const result = await acquireTokenSilentViaBroker(ctx, ["User.Read"], account, {});
 * if (result === null) {
 *   // try the refresh token
 * }
 * ```
 */
export async function acquireTokenSilentViaBroker(
  ctx: BrokeredContext,
  scopes: string[],
  account: Account,
  options: BrokeredSilentOptions,
): Promise<AuthResult | null> {
  return await silentByAccountId(ctx, scopes, account.local_account_id, {
    claims: mergeClaims(ctx.clientCapabilities, options.claimsChallenge),
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
 * ```ts ignore
 * await signOutViaBroker(ctx, account);
 * ```
 */
export async function signOutViaBroker(
  ctx: BrokeredContext,
  account: Account,
  options: BrokeredCallOptions = {},
): Promise<void> {
  const correlationId = crypto.randomUUID();
  const found = await findBrokerAccount(ctx, account.local_account_id, correlationId, options.signal);
  if (found === TIMED_OUT) {
    ctx.logger.warning(`Broker sign-out skipped: ${timeoutDescription(ctx.timeouts.silentMs)}`);
    return;
  }
  if (!found) {
    ctx.logger.verbose("Broker sign-out skipped: the broker does not know the account");
    return;
  }
  let outcome: BrokerError | undefined | typeof TIMED_OUT;
  try {
    outcome = await withDeadline(
      ctx.timeouts.silentMs,
      options.signal,
      (signal) => ctx.broker.signOut({ clientId: ctx.clientId, account: found, correlationId, signal }),
    );
  } catch (error) {
    if (error instanceof AbortError) throw error;
    ctx.logger.warning(`Broker sign-out failed: ${messageOf(error)}`);
    return;
  }
  if (outcome === TIMED_OUT) {
    ctx.logger.warning(`Broker sign-out failed: ${timeoutDescription(ctx.timeouts.silentMs)}`);
  } else if (outcome) {
    ctx.logger.warning(`Broker sign-out failed: ${describeBrokerError(ctx.logger, outcome)}`);
  }
}

/**
 * Lists the accounts the broker knows for this app (in the app's cloud), for merging into
 * `getAccounts`. A failing or slow broker yields `[]` and a warning.
 *
 * @throws {AbortError} when `options.signal` aborts.
 * @example
 * ```ts ignore
 * const fromBroker = await listBrokerAccounts(ctx);
 * ```
 */
export async function listBrokerAccounts(
  ctx: BrokeredContext,
  options: BrokeredCallOptions = {},
): Promise<Account[]> {
  const correlationId = crypto.randomUUID();
  let accounts: BrokerAccount[] | BrokerError | typeof TIMED_OUT;
  try {
    accounts = await withDeadline(
      ctx.timeouts.silentMs,
      options.signal,
      (signal) => ctx.broker.getAccounts({ clientId: ctx.clientId, correlationId, signal }),
    );
  } catch (error) {
    if (error instanceof AbortError) throw error;
    ctx.logger.warning(`Could not list the broker's accounts: ${messageOf(error)}`);
    return [];
  }
  if (accounts === TIMED_OUT) {
    ctx.logger.warning(`Could not list the broker's accounts: ${timeoutDescription(ctx.timeouts.silentMs)}`);
    return [];
  }
  if (!Array.isArray(accounts)) {
    ctx.logger.warning(`Could not list the broker's accounts: ${describeBrokerError(ctx.logger, accounts)}`);
    return [];
  }
  const environments = new Set([ctx.authority.environment, ...ctx.authority.environments].map(lower));
  return accounts
    .filter((account) => !account.environment || environments.has(lower(account.environment)))
    .map((account) => accountFromBroker(ctx, account));
}

// ---------------------------------------------------------------------------------------------------

interface CallOptions {
  claims?: string;
  correlationId: string;
  signal?: AbortSignal;
  binding?: TokenBinding;
}

const TIMED_OUT: unique symbol = Symbol("timed out");

/**
 * Runs `call` under a signal that aborts when the caller's does or after `timeoutMs`. Does not rely on
 * the plugin honouring the signal: the race settles on the deadline regardless.
 */
async function withDeadline<T>(
  timeoutMs: number,
  callerSignal: AbortSignal | undefined,
  call: (signal: AbortSignal) => Promise<T>,
): Promise<T | typeof TIMED_OUT> {
  const abortError = () => new AbortError(undefined, { cause: callerSignal?.reason });
  if (callerSignal?.aborted) throw abortError();
  const controller = new AbortController();
  let timer: ReturnType<typeof setTimeout> | undefined;
  let onAbort = (): void => {};
  // Settle the race before aborting the plugin, so a plugin rejecting on abort cannot win it.
  const stopped = new Promise<typeof TIMED_OUT>((resolve, reject) => {
    timer = setTimeout(() => {
      resolve(TIMED_OUT);
      controller.abort(new Error(timeoutDescription(timeoutMs)));
    }, timeoutMs);
    onAbort = () => {
      reject(abortError());
      controller.abort(callerSignal?.reason);
    };
    callerSignal?.addEventListener("abort", onAbort, { once: true });
  });
  const pending = Promise.resolve().then(() => call(controller.signal));
  pending.catch(() => {}); // A plugin settling after the deadline must not become an unhandled rejection.
  try {
    return await Promise.race([pending, stopped]);
  } finally {
    clearTimeout(timer);
    callerSignal?.removeEventListener("abort", onAbort);
  }
}

/** A token call: a timeout becomes a `broker_error` result with `broker_status: "Timeout"`. */
async function callBroker(
  timeoutMs: number,
  signal: AbortSignal | undefined,
  call: (signal: AbortSignal) => Promise<BrokerTokenResult>,
): Promise<BrokerTokenResult | TimeoutResult> {
  const result = await withDeadline(timeoutMs, signal, call);
  return result === TIMED_OUT ? { ok: false, timeout: true, timeoutMs } : result;
}

interface TimeoutResult {
  ok: false;
  timeout: true;
  timeoutMs: number;
}

function timeoutDescription(timeoutMs: number): string {
  return `The broker did not answer within ${timeoutMs} ms; the request was cancelled.`;
}

function tokenRequest(
  ctx: BrokeredContext,
  scopes: string[],
  call: CallOptions & { signal: AbortSignal },
  extra: Record<string, string>,
): BrokerTokenRequest {
  const request: BrokerTokenRequest = {
    clientId: ctx.clientId,
    authority: ctx.authority.url,
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

function extraParameters(ctx: BrokeredContext, maxAge?: number): Record<string, string> {
  const extra: Record<string, string> = {};
  if (maxAge !== undefined) extra.max_age = String(maxAge);
  if (ctx.authority.knownToDeveloper) extra.validateAuthority = "no";
  return extra;
}

/** Looks the account up in the broker, then asks for a token; `null` when the broker does not know it. */
async function silentByAccountId(
  ctx: BrokeredContext,
  scopes: string[],
  accountId: string,
  call: CallOptions,
): Promise<AuthResult | null> {
  const account = await findBrokerAccount(ctx, accountId, call.correlationId, call.signal);
  if (account === TIMED_OUT) return timeoutResult(ctx.timeouts.silentMs, call.correlationId);
  if (!account) return null;
  const response = await callBroker(
    ctx.timeouts.silentMs,
    call.signal,
    (signal) =>
      ctx.broker.acquireTokenSilent({
        ...tokenRequest(ctx, scopes, { ...call, signal }, extraParameters(ctx)),
        account,
      }),
  );
  return await finish(ctx, scopes, response, call.correlationId, call.binding);
}

async function findBrokerAccount(
  ctx: BrokeredContext,
  accountId: string,
  correlationId: string,
  signal: AbortSignal | undefined,
): Promise<BrokerAccount | undefined | typeof TIMED_OUT> {
  try {
    return await withDeadline(ctx.timeouts.silentMs, signal, async (s) => {
      const request = { clientId: ctx.clientId, correlationId, signal: s };
      if (ctx.broker.readAccount) return await ctx.broker.readAccount({ ...request, accountId });
      const accounts = await ctx.broker.getAccounts(request);
      if (!Array.isArray(accounts)) {
        ctx.logger.verbose(`Could not read the broker account: ${describeBrokerError(ctx.logger, accounts)}`);
        return undefined;
      }
      return accounts.find((account) => account.id === accountId);
    });
  } catch (error) {
    if (error instanceof AbortError) throw error;
    ctx.logger.verbose(`Could not read the broker account: ${messageOf(error)}`);
    return undefined;
  }
}

/** The broker id of the one cached account (per home account) signed in as `username`. */
function cachedBrokerAccountId(ctx: BrokeredContext, username: string): string | undefined {
  const environments = [...new Set([ctx.authority.environment, ...ctx.authority.environments])];
  const byHome = new Map<string, string>();
  for (const entry of ctx.cache.getAccounts({ environments, username })) {
    if (lower(entry.username) !== lower(username)) continue;
    byHome.set(entry.home_account_id, entry.local_account_id);
  }
  return byHome.size === 1 ? [...byHome.values()][0] : undefined;
}

async function finish(
  ctx: BrokeredContext,
  scopes: string[],
  response: BrokerTokenResult | TimeoutResult,
  correlationId: string,
  binding: TokenBinding | undefined,
): Promise<AuthResult> {
  if ("timeout" in response) return timeoutResult(response.timeoutMs, correlationId);
  if (!response.ok) return errorResult(ctx, response, correlationId);
  return await cacheAndReturn(ctx, scopes, response, binding);
}

function timeoutResult(timeoutMs: number, correlationId: string): ErrorResult {
  return {
    error: "broker_error",
    error_description: timeoutDescription(timeoutMs),
    broker_status: "Timeout",
    correlation_id: correlationId,
  };
}

function errorResult(ctx: BrokeredContext, error: BrokerError, correlationId: string): ErrorResult {
  if (REDIRECT_URI_NOT_REGISTERED.test(error.context)) {
    throw new RedirectUriError(ctx.broker.redirectUri(ctx.clientId), error.context);
  }
  return {
    error: "broker_error",
    error_description: describeBrokerError(undefined, error),
    broker_status: error.status,
    broker_error_code: error.errorCode,
    broker_tag: error.tag,
    correlation_id: correlationId,
  };
}

/** MSAL Python's wording; with a logger, the context (which may name the user) is scrubbed for logs. */
function describeBrokerError(logger: LogWriter | undefined, error: BrokerError): string {
  const context = logger ? logger.pii(error.context) : error.context;
  return `${context}. Status: ${error.status}, Error code: ${error.errorCode}, Tag: ${error.tag}`;
}

/**
 * Caches the access token, ID token and account (no refresh token: the broker keeps it). An SSH
 * certificate is cached under its key id; a proof-of-possession token, bound to one request, is not.
 *
 * @throws {InvalidInputError} when an SSH certificate was asked for and the broker returned something else.
 */
async function cacheAndReturn(
  ctx: BrokeredContext,
  requestedScopes: string[],
  response: BrokerTokenResponse,
  binding: TokenBinding | undefined,
): Promise<TokenResult> {
  const now = Math.floor(Date.now() / 1000);
  const tokenType = binding?.type ?? response.tokenType ?? "Bearer";
  if (binding?.type === "ssh-cert" && !response.accessToken.startsWith("AAAA")) {
    // MSAL Python's TokenTypeError: SSH certificates start with "AAAA" (a base64 length prefix).
    throw new InvalidInputError(`Broker could not get an SSH Cert: ${response.accessToken.slice(0, 8)}...`);
  }
  const expiresIn = Math.max(0, Math.floor(response.expiresOn - now));
  const scopes = response.grantedScopes?.length ? response.grantedScopes : requestedScopes;
  const wire: Record<string, unknown> = { token_type: tokenType, expires_in: expiresIn };
  if (binding?.type !== "pop") wire.access_token = response.accessToken;
  if (response.grantedScopes?.length) wire.scope = response.grantedScopes.join(" ");
  if (response.idToken) wire.id_token = response.idToken;
  if (response.idTokenClaims) wire.id_token_claims = response.idTokenClaims;
  if (response.clientInfo) wire.client_info = response.clientInfo;

  const added = await ctx.cache.access(() =>
    ctx.cache.addTokenResponse({
      clientId: ctx.clientId,
      environment: ctx.authority.environment,
      realm: ctx.authority.tenant,
      scopes,
      response: wire,
      accountSource: "broker",
      brokerAccountId: response.account.id,
      ...(binding?.type === "ssh-cert" && { keyId: binding.keyId }),
      now,
    })
  );
  const claims: IdTokenClaims | undefined = response.idTokenClaims ?? added.idTokenClaims;
  const account: Account = added.account
    ? {
      home_account_id: added.account.home_account_id,
      environment: added.account.environment,
      username: added.account.username,
      realm: added.account.realm,
      local_account_id: response.account.id,
      authority_type: added.account.authority_type,
      account_source: "broker",
      ...(added.account.name ? { name: added.account.name } : {}),
    }
    : accountFromBroker(ctx, response.account, claims);
  const result: TokenResult = {
    access_token: response.accessToken,
    token_type: tokenType,
    expires_in: expiresIn,
    token_source: "broker",
    account,
  };
  if (wire.scope) result.scope = wire.scope as string;
  if (response.idToken) result.id_token = response.idToken;
  if (claims) result.id_token_claims = claims;
  if (response.clientInfo) result.client_info = response.clientInfo;
  return result;
}

function accountFromBroker(ctx: BrokeredContext, account: BrokerAccount, claims?: IdTokenClaims): Account {
  const result: Account = {
    home_account_id: account.homeAccountId ?? "",
    environment: account.environment ?? ctx.authority.environment,
    username: account.username ?? claims?.preferred_username ?? "",
    realm: account.realm ?? claims?.tid ?? ctx.authority.tenant,
    local_account_id: account.id,
    authority_type: "MSSTS",
    account_source: "broker",
  };
  if (typeof claims?.name === "string") result.name = claims.name;
  return result;
}

function claimsOf(response: BrokerTokenResponse): IdTokenClaims | undefined {
  if (response.idTokenClaims) return response.idTokenClaims;
  if (!response.idToken) return undefined;
  try {
    return decodeIdToken(response.idToken);
  } catch {
    return undefined;
  }
}

function warnAboutIgnoredOptions(logger: LogWriter, options: BrokeredInteractiveOptions): void {
  const ignored: [string, unknown][] = [
    ["domainHint", options.domainHint],
    ["extraScopesToConsent", options.extraScopesToConsent?.length ? options.extraScopesToConsent : undefined],
    ["port", options.port],
    ["timeout", options.timeout],
  ];
  for (const [name, value] of ignored) {
    if (value !== undefined) logger.warning(`Ignoring parameter ${name}, which is not supported by broker`);
  }
  if (options.prompt && !["none", "select_account"].includes(options.prompt)) {
    logger.warning(`prompt=${options.prompt} is not supported by broker; it is ignored`);
  }
}

function lower(value: unknown): string {
  return typeof value === "string" ? value.toLowerCase() : "";
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
