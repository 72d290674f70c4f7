/**
 * The authorization-code flow with PKCE: building the authorize URL, redeeming the code, and the
 * whole interactive sign-in through the system browser and a loopback redirect listener.
 *
 * @module
 */

import { DEFAULT_INTERACTIVE_TIMEOUT_MS } from "../core/abort.ts";
import { issuerMatches } from "../core/authority.ts";
import { BrowserLaunchError, ConfigurationError, IssuerMismatchError, MsalError } from "../core/errors.ts";
import type { Prompt } from "../core/prompt.ts";
import type { AuthResult, ErrorResult } from "../core/results.ts";
import { decorateScopes } from "../core/scopes.ts";
import { decodeClientInfo } from "../core/jwt.ts";
import { openSystemBrowser } from "./browser.ts";
import { type CallOptions, claimsFor, type OnlineContext } from "./context.ts";
import { anchorMailbox, redeem } from "./grant.ts";
import { type AuthorizationResponse, startLoopbackListener } from "./loopback.ts";
import { createPkce, randomToken } from "./pkce.ts";

export type { AuthorizationResponse } from "./loopback.ts";

/** The account source MSAL Python records for authorization-code sign-ins. */
const AUTH_CODE_ACCOUNT_SOURCE = "authorization_code";

/** What shapes the authorization request. */
export interface AuthorizationRequestOptions {
  /** Forces a behaviour of the sign-in page. */
  prompt?: Prompt;
  /** Pre-fills the username (also sent as `X-AnchorMailbox`). */
  loginHint?: string;
  /** Skips home-realm discovery, e.g. `"contoso.com"` or `"consumers"`. */
  domainHint?: string;
  /** A claims challenge from a resource. */
  claimsChallenge?: string;
  /**
   * The longest time since the user last signed in, in seconds: sent as OpenID Connect's `max_age`
   * (Core 1.0 §3.1.2.1), in its unit; older sessions must sign in again.
   */
  maxAge?: number;
  /** More scopes to consent to now, for later silent calls. */
  extraScopesToConsent?: string[];
  /** `form_post` (POST to the redirect URI) or `query`. */
  responseMode?: "form_post" | "query";
}

/**
 * What an authorization URL is built from: the base that `initiateAuthCodeFlow`'s and
 * `getAuthorizationRequestUrl`'s options share.
 */
export interface AuthorizationUrlOptions extends AuthorizationRequestOptions {
  /** Where the identity provider sends the user back. */
  redirectUri: string;
  /** Your own `state`; random when omitted. */
  state?: string;
  /** Your own `nonce`; random when omitted. */
  nonce?: string;
}

/** A started authorization-code flow; keep it until the redirect arrives. */
export interface AuthCodeFlow {
  /** Send the user here. */
  auth_uri: string;
  /** The `state` the response must carry. */
  state: string;
  /** The `nonce` the ID token must carry. */
  nonce: string;
  /** The PKCE verifier. */
  code_verifier: string;
  /** The redirect URI of the request. */
  redirect_uri: string;
  /** The scopes asked for (undecorated). */
  scope: string[];
  /** The claims sent, if any. */
  claims?: string;
  /** `maxAge` of the request, in seconds, for the `auth_time` check. */
  max_age?: number;
}

/** Options of the interactive browser sign-in. */
export interface InteractiveOptions extends AuthorizationRequestOptions, CallOptions {
  /** Loopback port; 0 (default) picks a free one. */
  port?: number;
  /**
   * The host of the loopback redirect URI. Default `"localhost"` for Entra ID, B2C, CIAM and ADFS (their
   * app registrations use `http://localhost`, as MSAL does) and `"127.0.0.1"` for generic OIDC
   * authorities (RFC 8252 §8.3 calls `localhost` NOT RECOMMENDED; strict servers refuse it). The
   * listener binds 127.0.0.1 either way.
   */
  redirectHost?: "localhost" | "127.0.0.1";
  /**
   * The whole loopback redirect URI, as registered, e.g. `http://127.0.0.1/callback` (its port, if any,
   * wins over `port`; without one a free port is used). Wins over `redirectHost`.
   */
  redirectUri?: string;
  /**
   * Milliseconds to wait for the user; default {@linkcode DEFAULT_INTERACTIVE_TIMEOUT_MS} (10 minutes,
   * as the broker's interactive calls), so a sign-in page that never redirects (an error page, a user
   * who walked away) ends in a `TimeoutError`. `Infinity` waits until `signal` aborts.
   */
  timeoutMs?: number;
  /** @deprecated Seconds; use `timeoutMs` (milliseconds, like every other duration). */
  timeout?: number;
  /** The page the browser shows after a successful sign-in. */
  successTemplate?: string;
  /** The page the browser shows after a failed sign-in (`$error`, `$error_description` are replaced). */
  errorTemplate?: string;
  /**
   * Opens the URL yourself instead of the system browser. What it throws before the sign-in ends fails
   * the flow ({@linkcode BrowserLaunchError}, whose message leads with it, unless it is already one of this
   * library's errors); the flow never waits for it once the redirect, the timeout or an abort has come.
   */
  openBrowser?: (url: string) => void | Promise<void>;
  /** Called right before the UI appears, e.g. to print the URL. */
  onBeforeLaunchingUi?: (info: { ui: "browser" | "broker"; url?: string }) => void;
  /**
   * Called when no browser could be opened: show `error.url` to the user (`error.cause` is the launch
   * failure). The flow keeps listening for the redirect until it comes, the timeout passes or `signal`
   * aborts, as MSAL Python does. Without this callback or `onBeforeLaunchingUi` nobody could show the
   * URL, so a failed launch ends the flow with the {@linkcode BrowserLaunchError}.
   */
  onBrowserUnavailable?: (error: BrowserLaunchError) => void;
}

/**
 * OpenID Connect Core 1.0 §11: a provider honours `offline_access` (the refresh token) only with
 * `prompt=consent`, and strict ones drop it otherwise. The library always asks for `offline_access`, so
 * a generic OIDC authority gets `prompt=consent` unless the app chose a prompt. Entra ID (and B2C,
 * CIAM, ADFS) issue refresh tokens without it: no prompt is added there.
 */
function defaultPrompt(context: OnlineContext): Prompt | undefined {
  return context.authority.type === "OIDC" ? "consent" : undefined;
}

/**
 * Builds the authorize URL with the given state, nonce and PKCE challenge. A generic OIDC authority
 * gets `prompt=consent` when `options.prompt` is unset (see `defaultPrompt`).
 */
export function buildAuthorizationUrl(
  context: OnlineContext,
  scopes: readonly string[],
  options: AuthorizationUrlOptions & { codeChallenge?: string; clientInfo?: boolean },
): string {
  const url = new URL(context.authority.authorizationEndpoint);
  const params = url.searchParams;
  params.set("client_id", context.clientId);
  params.set("response_type", "code");
  params.set("redirect_uri", options.redirectUri);
  params.set("scope", decorateScopes([...scopes, ...(options.extraScopesToConsent ?? [])]));
  params.set("state", options.state ?? randomToken());
  if (options.nonce) params.set("nonce", options.nonce);
  if (options.codeChallenge) {
    params.set("code_challenge", options.codeChallenge);
    params.set("code_challenge_method", "S256");
  }
  if (options.responseMode) params.set("response_mode", options.responseMode);
  // Entra then returns the user's client_info with the code, for X-AnchorMailbox on the redemption.
  if (options.clientInfo) params.set("client_info", "1");
  const prompt = options.prompt ?? defaultPrompt(context);
  if (prompt) params.set("prompt", prompt);
  if (options.loginHint) {
    params.set("login_hint", options.loginHint);
    params.set("X-AnchorMailbox", `UPN:${options.loginHint}`);
  }
  if (options.domainHint) params.set("domain_hint", options.domainHint);
  if (options.maxAge !== undefined) params.set("max_age", String(options.maxAge));
  const claims = claimsFor(context, options.claimsChallenge);
  if (claims) params.set("claims", claims);
  return url.href;
}

/** Starts a flow: fresh PKCE, state and nonce, and the URL to send the user to. */
export async function initiateAuthCodeFlow(
  context: OnlineContext,
  scopes: readonly string[],
  options: AuthorizationUrlOptions,
): Promise<AuthCodeFlow> {
  const pkce = await createPkce();
  const state = options.state ?? randomToken();
  const nonce = options.nonce ?? randomToken();
  const claims = claimsFor(context, options.claimsChallenge);
  const flow: AuthCodeFlow = {
    auth_uri: buildAuthorizationUrl(context, scopes, {
      ...options,
      state,
      nonce,
      codeChallenge: pkce.challenge,
      clientInfo: true,
    }),
    state,
    nonce,
    code_verifier: pkce.verifier,
    redirect_uri: options.redirectUri,
    scope: [...scopes],
  };
  if (claims) flow.claims = claims;
  if (options.maxAge !== undefined) flow.max_age = options.maxAge;
  return flow;
}

function anchorFromClientInfo(clientInfo: string | undefined): Record<string, string> | undefined {
  if (!clientInfo) return undefined;
  try {
    const { uid, utid } = decodeClientInfo(clientInfo);
    return anchorMailbox(`${uid}.${utid}`);
  } catch {
    return undefined;
  }
}

/**
 * RFC 9207 §2.4: an `iss` in the authorization response (success or error) must be the authority's
 * issuer, and must be there when the metadata says `authorization_response_iss_parameter_supported`.
 */
function checkResponseIssuer(context: OnlineContext, response: AuthorizationResponse): void {
  const { issuer, issParameterSupported } = context.authority;
  if (issuer === undefined) return;
  const iss = response.iss;
  if (iss === undefined ? issParameterSupported : !issuerMatches(issuer, iss)) {
    throw new IssuerMismatchError(issuer, iss);
  }
}

/**
 * Redeems the code in `response` for tokens.
 *
 * @throws {ConfigurationError} `state mismatch` when the response does not belong to `flow`.
 * @throws {IssuerMismatchError} when the response names another issuer (RFC 9207).
 */
export async function acquireTokenByAuthCodeFlow(
  context: OnlineContext,
  flow: AuthCodeFlow,
  response: AuthorizationResponse,
  options: CallOptions = {},
): Promise<AuthResult> {
  if (response.state !== flow.state) {
    throw new ConfigurationError(`state mismatch: ${flow.state} vs ${response.state}`);
  }
  checkResponseIssuer(context, response);
  if (response.error) {
    const result: ErrorResult = { error: response.error };
    if (response.error_description) result.error_description = response.error_description;
    if (response.error_uri) result.error_uri = response.error_uri;
    return result;
  }
  if (!response.code) {
    return { error: "invalid_response", error_description: "The authorization response has no code" };
  }
  const form: Record<string, string> = {
    grant_type: "authorization_code",
    code: response.code,
    redirect_uri: flow.redirect_uri,
    code_verifier: flow.code_verifier,
  };
  if (flow.claims) form.claims = flow.claims;
  return await redeem(context, form, {
    scopes: flow.scope,
    accountSource: AUTH_CODE_ACCOUNT_SOURCE,
    expectedNonce: flow.nonce,
    maxAge: flow.max_age,
    correlationId: options.correlationId,
    signal: options.signal,
    headers: anchorFromClientInfo(response.client_info),
  });
}

/**
 * Signs the user in through the system browser: listens on a loopback port first, opens the browser,
 * waits for the redirect, and redeems the code. When the browser cannot be opened and the app can show
 * the URL (`onBrowserUnavailable` or `onBeforeLaunchingUi`), it keeps waiting for the user to open it.
 *
 * @throws {BrowserLaunchError} when no browser could be opened and the app has no way to show the URL.
 * @throws {TimeoutError} when `timeoutMs` passes; {@linkcode AbortError} when `signal` aborts.
 */
export async function runBrowserFlow(
  context: OnlineContext,
  scopes: readonly string[],
  options: InteractiveOptions,
): Promise<AuthResult> {
  const host = options.redirectHost ?? (context.authority.type === "OIDC" ? "127.0.0.1" : "localhost");
  // Known before listening, so the listener refuses other states at once and junk never holds a place.
  const state = randomToken();
  const listener = await startLoopbackListener({
    state,
    port: options.port,
    redirectUri: options.redirectUri ?? `http://${host}`,
    responseMode: options.responseMode ?? "form_post",
    successTemplate: options.successTemplate,
    errorTemplate: options.errorTemplate,
    logger: context.logger,
  });
  try {
    const flow = await initiateAuthCodeFlow(context, scopes, {
      ...options,
      state,
      redirectUri: listener.redirectUri,
      responseMode: listener.responseMode,
    });
    const waiting = listener.waitForResponse({
      state: flow.state,
      timeoutMs: options.timeoutMs ??
        (options.timeout === undefined ? DEFAULT_INTERACTIVE_TIMEOUT_MS : options.timeout * 1000),
      signal: options.signal,
    });
    waiting.catch(() => {}); // observed below; a failed launch must not leave it unhandled
    options.onBeforeLaunchingUi?.({ ui: "browser", url: flow.auth_uri });
    // Without a way to show the URL, a failed launch ends the flow, and its error must say so.
    const listening = options.onBrowserUnavailable !== undefined || options.onBeforeLaunchingUi !== undefined;
    const launcher = options.openBrowser ? "openBrowser" : undefined;
    const launch = (async () => {
      try {
        if (options.openBrowser) await options.openBrowser(flow.auth_uri);
        else await openSystemBrowser(flow.auth_uri, { logger: context.logger });
      } catch (cause) {
        if (cause instanceof MsalError && !(cause instanceof BrowserLaunchError)) throw cause;
        // A BrowserLaunchError (openSystemBrowser's) is told again, with whether the flow still listens.
        const reason = cause instanceof BrowserLaunchError ? cause.cause : cause;
        throw new BrowserLaunchError(flow.auth_uri, { cause: reason, launcher, listening });
      }
    })();
    const launched = launch.then(() => waiting, (error) => {
      if (!(error instanceof BrowserLaunchError) || !listening) throw error;
      context.logger.warning("Could not open a browser; waiting for the user to open the sign-in URL");
      options.onBrowserUnavailable?.(error);
      return waiting;
    });
    // An `openBrowser` may return late or never (e.g. it waits for the browser to exit): the response,
    // the timeout or the abort ends the wait all the same. A launch failure counts only before that.
    const response = await Promise.race([launched, waiting]);
    return await acquireTokenByAuthCodeFlow(context, flow, response, {
      signal: options.signal,
      correlationId: options.correlationId,
    });
  } finally {
    await listener.close();
  }
}
