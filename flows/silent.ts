/**
 * The silent decision: a token without user interaction, from the cache, the broker or a refresh
 * token; MSAL Python's `_acquire_token_silent_from_cache_and_possibly_refresh_it`.
 *
 * 1. A cached access token that lives more than five minutes longer and is not due for a refresh is
 *    served at once (the hot path: no shared attempt, no network).
 * 2. Otherwise identical concurrent calls share one attempt: the broker for accounts it established
 *    (or of unknown origin), then the account's refresh tokens.
 * 3. A cached token that is only due for a refresh ("aging") is still served when the renewal fails,
 *    including on a network error.
 *
 * @module
 */

import { NetworkError } from "../core/errors.ts";
import type { Account, AuthResult, TokenResult } from "../core/results.ts";
import { bindingUnavailableError, brokerCanBind, type TokenBinding } from "../core/token_binding.ts";
import { acquireTokenSilentViaBroker } from "./brokered.ts";
import { findCachedToken } from "./cached.ts";
import { type AppContext, type CallOptions, claimsFor, hasBroker, type OnlineContext } from "./context.ts";
import { refreshSilently } from "./refresh.ts";

/** A silent request, its input already validated by the app. */
export interface SilentRequest extends CallOptions {
  /** The account, as `getAccounts` returned it. */
  account: Account;
  /** The scopes, validated and undecorated. */
  scopes: string[];
  /** Skip the cached access token and ask for a new one. */
  forceRefresh?: boolean;
  /** A claims challenge from a resource (also skips the cached access token). */
  claimsChallenge?: string;
  /** A proof-of-possession token or an SSH certificate, which only a broker can issue. */
  binding?: TokenBinding;
}

// MSAL Python: only accounts the broker established (or of unknown origin) go to the broker.
const BROKER_ACCOUNT_SOURCES = new Set(["broker", undefined]);

/**
 * A token without user interaction: a cached access token, the broker, or a refresh token. `null`
 * when there was nothing to try; the last error when the attempts failed. Identical concurrent calls
 * share one network attempt; each caller may stop waiting on its own.
 *
 * @param context the app context
 * @param request what to acquire, for whom
 * @returns the token, the error of the last attempt, or `null`
 * @throws {ConfigurationError} for a bound token (`binding`) no broker in use can issue.
 * @throws {AbortError} when `request.signal` aborts.
 * @throws {NetworkError} when the identity provider cannot be reached and no cached token can stand in.
 * @throws {IdTokenError} when a refreshed ID token fails its checks.
 * @throws {RedirectUriError} when the broker says the app has not registered its redirect URI.
 */
export async function acquireTokenSilent(
  context: AppContext,
  request: SilentRequest,
): Promise<AuthResult | null> {
  const { account, scopes, binding } = request;
  const viaBroker = hasBroker(context) && brokerCanBind(context.broker, binding) &&
    BROKER_ACCOUNT_SOURCES.has(account.account_source);
  // Bound tokens come only from a broker: no refresh-token fallback for them.
  if (binding && !viaBroker) throw bindingUnavailableError(binding, context.platform);

  // The hot path, outside the shared attempt below and without the network (the cache's view of the
  // authority needs no discovery). A PoP token is bound to one request, so it is never served from the
  // cache; SSH certificates are, per key.
  let aging: TokenResult | undefined;
  if (!request.forceRefresh && !request.claimsChallenge && binding?.type !== "pop") {
    const keyId = binding?.type === "ssh-cert" ? binding.keyId : undefined;
    const cached = await findCachedToken(context, account, scopes, { keyId });
    if (cached && (cached.refresh_on === undefined || cached.refresh_on > Date.now() / 1000)) return cached;
    aging = cached;
  }

  const key = JSON.stringify([
    account.home_account_id,
    [...scopes].sort(),
    !!request.forceRefresh,
    request.claimsChallenge ?? "",
    binding ?? null,
  ]);
  return await context.silentAttempts.run(
    key,
    async (signal) => renew(await context.online(signal), { ...request, signal }, viaBroker, aging),
    request.signal,
  );
}

/**
 * The network half of a silent call, once the authority is discovered: the broker, then refresh
 * tokens; `aging` is the fallback.
 */
async function renew(
  context: OnlineContext,
  request: SilentRequest,
  viaBroker: boolean,
  aging: TokenResult | undefined,
): Promise<AuthResult | null> {
  const { account, scopes, binding } = request;
  try {
    if (viaBroker && hasBroker(context)) {
      const brokered = await acquireTokenSilentViaBroker(context, scopes, account, request);
      if (binding) return brokered && "access_token" in brokered ? brokered : aging ?? brokered;
      if (brokered && (account.account_source === "broker" || "access_token" in brokered)) return brokered;
    }
    const refreshed = await refreshSilently(context, account, scopes, {
      claims: claimsFor(context, request.claimsChallenge),
      correlationId: request.correlationId,
      signal: request.signal,
    });
    if (refreshed && "access_token" in refreshed) return refreshed;
    return aging ?? refreshed;
  } catch (error) {
    if (aging && error instanceof NetworkError) return aging;
    throw error;
  }
}
