// The authorization endpoint and the pages behind it: sign-in, account picker, consent, single
// sign-on through a session cookie, and delivery of codes and errors to the redirect URI.

import type { Hono } from "hono";
import { deleteCookie, getCookie, setCookie } from "hono/cookie";
import { type AuthorityContext, type Ctx, type HonoEnv, status } from "./_context.ts";
import { type EntraError, estsTimestamp } from "./_errors.ts";
import { accountPickerPage, autoPostPage, consentPage, errorPage, loginPage, messagePage } from "./_pages.ts";
import { parseScopes } from "./_scopes.ts";
import { issuerOf } from "./_discovery.ts";
import { clientInfo } from "./_tokens.ts";
import {
  type AuthorizeParams,
  type PendingAuthorization,
  randomToken,
  type Session,
  type SessionAccount,
} from "./_state.ts";

const SESSION_COOKIE = "ESTSAUTH";
const NATIVE_CLIENT_REDIRECT = "https://login.microsoftonline.com/common/oauth2/nativeclient";
const PROMPTS = new Set(["none", "login", "consent", "select_account", "create"]);
const CODE_LIFETIME_MS = 10 * 60 * 1000;

/**
 * Whether the authority may send a browser to `uri`: loopback `http://localhost[:port][/path]` or
 * `http://127.0.0.1[:port][/path]`, or the native client page. Everything else gets an error page.
 */
function isAllowedRedirectUri(uri: string): boolean {
  if (uri === NATIVE_CLIENT_REDIRECT) return true;
  let url: URL;
  try {
    url = new URL(uri);
  } catch {
    return false;
  }
  return url.protocol === "http:" && (url.hostname === "localhost" || url.hostname === "127.0.0.1") &&
    !url.username && !url.password && !url.hash && !uri.includes("#");
}

/** Where and how to answer the client: enough of a request to deliver a code or an error. */
interface ReplyTo {
  redirectUri: string;
  responseMode: AuthorizeParams["responseMode"];
  state?: string;
  /** Strict OIDC: RFC 9207's `iss`. */
  iss?: string;
}

/** Sends `fields` (plus `state`) to the client's redirect URI in its response mode. */
function reply(c: Ctx, to: ReplyTo, fields: Record<string, string>): Response {
  const all = {
    ...fields,
    ...(to.state !== undefined && { state: to.state }),
    ...(to.iss !== undefined && { iss: to.iss }),
  };
  if (to.responseMode === "form_post") return c.html(autoPostPage(to.redirectUri, all));
  const url = new URL(to.redirectUri);
  if (to.responseMode === "fragment") {
    url.hash = new URLSearchParams(all).toString();
  } else {
    for (const [name, value] of Object.entries(all)) url.searchParams.set(name, value);
  }
  return c.redirect(url.href, 302);
}

function replyError(
  c: Ctx,
  to: ReplyTo,
  error: string,
  description: string,
  extra: Record<string, string> = {},
): Response {
  const details = `\r\nTrace ID: ${c.get("traceId")}\r\nCorrelation ID: ${
    c.get("correlationId")
  }\r\nTimestamp: ${estsTimestamp()}`;
  return reply(c, to, { error, error_description: description + details, ...extra });
}

function errorPageResponse(c: Ctx, message: string, code = 400): Response {
  return c.html(
    errorPage(message, `Trace ID: ${c.get("traceId")}\nCorrelation ID: ${c.get("correlationId")}`),
    status(code),
  );
}

/** Where to reply for this request, if its client id and redirect URI can be trusted. */
function trustedReplyTo(params: Record<string, string>): ReplyTo | undefined {
  const redirectUri = params.redirect_uri;
  if (!params.client_id || !redirectUri || !isAllowedRedirectUri(redirectUri)) return undefined;
  const mode = params.response_mode;
  const responseMode = mode === "form_post" || mode === "fragment" ? mode : "query";
  return { redirectUri, responseMode, state: params.state };
}

/**
 * Answers an injected OAuth error fault on the authorize endpoint: redirected to the client like a
 * real sign-in failure when the redirect URI is trusted, else an error page.
 */
export function authorizeFault(c: Ctx, error: EntraError): Response {
  const params = c.req.method === "POST" ? c.get("recorded").form : c.get("recorded").query;
  const to = trustedReplyTo(params);
  if (!to) return errorPageResponse(c, error.description, error.status ?? 400);
  return replyError(c, to, error.error, error.description);
}

type Validated = { params: AuthorizeParams } | { response: Response };

function validate(c: Ctx, ctx: AuthorityContext, tenant: string, raw: Record<string, string>): Validated {
  const fail = (response: Response): Validated => ({ response });
  if (!ctx.isKnownTenant(tenant)) {
    return fail(
      errorPageResponse(
        c,
        `AADSTS90002: Tenant '${tenant}' not found. Check to make sure you have the correct tenant ID.`,
      ),
    );
  }
  if (!raw.client_id) {
    return fail(
      errorPageResponse(
        c,
        "AADSTS900144: The request body must contain the following parameter: 'client_id'.",
      ),
    );
  }
  if (!raw.redirect_uri) {
    return fail(errorPageResponse(c, `AADSTS500113: No reply address is registered for the application.`));
  }
  const to = trustedReplyTo(raw);
  // RFC 8252 §8.3: a strict provider registers loopback IP literals, never `localhost`.
  const refused = to && ctx.config.strictOidc && new URL(to.redirectUri).hostname === "localhost";
  if (!to || refused) {
    return fail(errorPageResponse(
      c,
      `AADSTS50011: The redirect URI '${raw.redirect_uri}' specified in the request does not match the redirect URIs configured for the application '${raw.client_id}'.`,
    ));
  }
  if (ctx.config.strictOidc) to.iss = issuerOf(ctx, tenant);
  const invalid = (error: string, description: string) => fail(replyError(c, to, error, description));
  if (raw.response_mode !== undefined && !["query", "fragment", "form_post"].includes(raw.response_mode)) {
    return invalid("invalid_request", `AADSTS90023: Invalid response_mode '${raw.response_mode}'.`);
  }
  if (raw.response_type !== "code") {
    return invalid(
      "unsupported_response_type",
      `AADSTS700054: response_type '${raw.response_type ?? ""}' is not enabled for the application.`,
    );
  }
  const scopes = parseScopes(raw.scope);
  if (!scopes.length) {
    return invalid(
      "invalid_request",
      "AADSTS900144: The request body must contain the following parameter: 'scope'.",
    );
  }
  // Unlike the token endpoint, /authorize takes scopes of several resources: the user consents to all
  // of them at once (MSAL's extraScopesToConsent); the code is then redeemed for one resource.
  const challenge = raw.code_challenge;
  const method = raw.code_challenge_method;
  if (challenge !== undefined || method !== undefined) {
    if (challenge === undefined) {
      return invalid(
        "invalid_request",
        "AADSTS90023: code_challenge_method was sent without a code_challenge.",
      );
    }
    if (method !== "S256") {
      return invalid(
        "invalid_request",
        `AADSTS90023: Unsupported code_challenge_method '${method ?? "plain"}'. Only S256 is supported.`,
      );
    }
    if (!/^[A-Za-z0-9_-]{43}$/.test(challenge)) {
      return invalid("invalid_request", "AADSTS90023: The code_challenge is not a base64url SHA-256 value.");
    }
  }
  if (raw.prompt !== undefined && !PROMPTS.has(raw.prompt)) {
    return invalid("invalid_request", `AADSTS90023: Invalid prompt '${raw.prompt}'.`);
  }
  if (raw.max_age !== undefined && !/^\d+$/.test(raw.max_age)) {
    return invalid("invalid_request", `AADSTS90023: Invalid max_age '${raw.max_age}'.`);
  }
  return {
    params: {
      tenant,
      clientId: raw.client_id,
      redirectUri: to.redirectUri,
      responseMode: to.responseMode,
      scopes,
      state: raw.state,
      nonce: raw.nonce,
      codeChallenge: challenge,
      prompt: raw.prompt,
      loginHint: raw.login_hint,
      domainHint: raw.domain_hint,
      claims: raw.claims,
      maxAge: raw.max_age === undefined ? undefined : Number(raw.max_age),
      clientInfo: raw.client_info === "1",
      iss: to.iss,
    },
  };
}

/** Whether a sign-in is recent enough for `max_age` (0 always demands a new sign-in). */
function isFresh(params: AuthorizeParams, account: SessionAccount): boolean {
  if (params.maxAge === undefined) return true;
  return params.maxAge > 0 && Date.now() - account.authTime <= params.maxAge * 1000;
}

function sameUser(a: string, b: string): boolean {
  return a.toLowerCase() === b.toLowerCase();
}

/** The session a request's cookie points to, if it is still known. */
function currentSession(c: Ctx, ctx: AuthorityContext): Session | undefined {
  const id = getCookie(c, SESSION_COOKIE);
  return id === undefined ? undefined : ctx.state.sessions.get(id);
}

/** The accounts signed in to the request's browser session, oldest sign-in first. */
function sessionAccounts(c: Ctx, ctx: AuthorityContext): SessionAccount[] {
  return currentSession(c, ctx)?.accounts.filter((a) => ctx.findUser(a.username)) ?? [];
}

/** The pending request a page posted back, if any. */
function pendingFrom(c: Ctx, ctx: AuthorityContext): PendingAuthorization | undefined {
  const id = c.get("recorded").form.request;
  return id === undefined ? undefined : ctx.state.pending.get(id);
}

function expiredRequest(c: Ctx): Response {
  return errorPageResponse(
    c,
    "Your sign-in request has expired or is unknown. Go back to the application and try again.",
  );
}

/** Routes a validated authorization request to SSO, a page, or an error, as Entra would. */
class Authorizer {
  readonly #c: Ctx;
  readonly #ctx: AuthorityContext;

  constructor(c: Ctx, ctx: AuthorityContext) {
    this.#c = c;
    this.#ctx = ctx;
  }

  #pending(params: AuthorizeParams, pending?: PendingAuthorization): PendingAuthorization {
    if (pending) return pending;
    const created: PendingAuthorization = { id: randomToken(24), params };
    this.#ctx.state.pending.set(created.id, created);
    return created;
  }

  /** Shows the sign-in page (HTTP 200), optionally prefilled and with an error. */
  login(
    params: AuthorizeParams,
    pending?: PendingAuthorization,
    username?: string,
    error?: string,
  ): Response {
    const p = this.#pending(params, pending);
    p.account = undefined;
    return this.#c.html(loginPage({ requestId: p.id, username: username ?? params.loginHint, error }));
  }

  /** Shows the account picker for the session's accounts. */
  picker(params: AuthorizeParams, pending?: PendingAuthorization): Response {
    const p = this.#pending(params, pending);
    const accounts = sessionAccounts(this.#c, this.#ctx).map((a) => ({
      username: a.username,
      name: this.#ctx.findUser(a.username)?.name ?? a.username,
    }));
    return this.#c.html(accountPickerPage(p.id, accounts));
  }

  /** Decides what a fresh authorization request gets. */
  start(params: AuthorizeParams): Response {
    const accounts = sessionAccounts(this.#c, this.#ctx);
    const hint = params.loginHint;
    const hinted = hint === undefined ? undefined : accounts.find((a) => sameUser(a.username, hint));
    if (params.prompt === "none") return this.#silent(params, accounts, hinted);
    if (params.prompt === "login" || params.prompt === "create") return this.login(params);
    if (params.prompt === "select_account") return accounts.length ? this.picker(params) : this.login(params);
    const account = hinted ?? (hint === undefined && accounts.length === 1 ? accounts[0] : undefined);
    if (account) {
      return isFresh(params, account)
        ? this.proceed(params, account)
        : this.login(params, undefined, account.username);
    }
    if (hint === undefined && accounts.length > 1) return this.picker(params);
    return this.login(params);
  }

  #silent(params: AuthorizeParams, accounts: SessionAccount[], hinted?: SessionAccount): Response {
    const fail = (error: string, description: string) => replyError(this.#c, params, error, description);
    if (!accounts.length) {
      return fail(
        "login_required",
        "AADSTS50058: A silent sign-in request was sent but no user is signed in.",
      );
    }
    if (params.loginHint !== undefined && !hinted) {
      return fail(
        "interaction_required",
        "AADSTS16000: The account in login_hint is not signed in to this session; interaction is required.",
      );
    }
    const account = hinted ?? (accounts.length === 1 ? accounts[0] : undefined);
    if (!account) {
      return fail(
        "interaction_required",
        "AADSTS16000: More than one account is signed in; the user must select one.",
      );
    }
    if (!isFresh(params, account)) {
      return fail(
        "login_required",
        "AADSTS50058: The session is older than max_age; the user must sign in again.",
      );
    }
    return this.issueCode(params, account);
  }

  /** Continues once the user is known: consent page if asked for, else the code. */
  proceed(params: AuthorizeParams, account: SessionAccount, pending?: PendingAuthorization): Response {
    if (params.prompt === "consent") {
      const p = this.#pending(params, pending);
      p.account = account;
      return this.#c.html(consentPage(p.id, account.username, params.clientId, params.scopes));
    }
    if (pending) this.#ctx.state.pending.delete(pending.id);
    return this.issueCode(params, account);
  }

  /** Issues an authorization code and sends it to the client. */
  issueCode(params: AuthorizeParams, account: SessionAccount): Response {
    const code = `1.${randomToken(96)}`;
    this.#ctx.state.authCodes.set(code, {
      clientId: params.clientId,
      redirectUri: params.redirectUri,
      scopes: params.scopes,
      username: account.username,
      nonce: params.nonce,
      codeChallenge: params.codeChallenge,
      authTime: Math.floor(account.authTime / 1000),
      expiresAt: Date.now() + CODE_LIFETIME_MS,
      used: false,
      // OpenID Connect Core 1.0 §11: a strict provider honours offline_access only with prompt=consent.
      offlineAccess: params.scopes.includes("offline_access") &&
        (!this.#ctx.config.strictOidc || params.prompt === "consent"),
    });
    // Entra adds client_info (uid, utid) when asked: MSAL sends it back as X-AnchorMailbox with the code.
    const user = params.clientInfo && !this.#ctx.config.strictOidc
      ? this.#ctx.findUser(account.username)
      : undefined;
    return reply(this.#c, params, user ? { code, client_info: clientInfo(user) } : { code });
  }

  /** Records a successful sign-in in the browser session, creating it (and its cookie) if needed. */
  signIn(username: string): SessionAccount {
    let session = currentSession(this.#c, this.#ctx);
    if (!session) {
      session = { id: randomToken(32), accounts: [] };
      this.#ctx.state.sessions.set(session.id, session);
    }
    const account: SessionAccount = { username, authTime: Date.now() };
    session.accounts = [...session.accounts.filter((a) => !sameUser(a.username, username)), account];
    setCookie(this.#c, SESSION_COOKIE, session.id, {
      httpOnly: true,
      sameSite: "Lax",
      path: "/",
      secure: this.#ctx.origin.startsWith("https:"),
    });
    return account;
  }
}

/** Registers the authorize endpoint, its pages, logout and the native client page on `app`. */
export function registerAuthorize(app: Hono<HonoEnv>, ctx: AuthorityContext): void {
  const authorize = (c: Ctx, raw: Record<string, string>) => {
    const result = validate(c, ctx, c.req.param("tenant") ?? "", raw);
    if ("response" in result) return result.response;
    return new Authorizer(c, ctx).start(result.params);
  };
  app.get("/:tenant/oauth2/v2.0/authorize", (c) => authorize(c, c.get("recorded").query));
  app.post("/:tenant/oauth2/v2.0/authorize", (c) => authorize(c, c.get("recorded").form));

  app.post("/login", (c) => {
    const pending = pendingFrom(c, ctx);
    if (!pending) return expiredRequest(c);
    const form = c.get("recorded").form;
    const { params } = pending;
    const authorizer = new Authorizer(c, ctx);
    if (form.action === "cancel") {
      ctx.state.pending.delete(pending.id);
      return replyError(c, params, "access_denied", "AADSTS65004: The user canceled the sign-in.", {
        error_subcode: "cancel",
      });
    }
    const user = ctx.findUser(form.username);
    if (!user || user.password !== form.password) {
      const message = user
        ? "Your account or password is incorrect. If you don't remember your password, reset it now."
        : "This username may be incorrect. Make sure you typed it correctly.";
      return authorizer.login(params, pending, form.username ?? "", message);
    }
    return authorizer.proceed(params, authorizer.signIn(user.username), pending);
  });

  app.post("/select", (c) => {
    const pending = pendingFrom(c, ctx);
    if (!pending) return expiredRequest(c);
    const choice = c.get("recorded").form.account;
    const authorizer = new Authorizer(c, ctx);
    const accounts = sessionAccounts(c, ctx);
    const account = /^\d+$/.test(choice ?? "") ? accounts[Number(choice)] : undefined;
    if (!account) return authorizer.login(pending.params, pending);
    return isFresh(pending.params, account)
      ? authorizer.proceed(pending.params, account, pending)
      : authorizer.login(pending.params, pending, account.username);
  });

  app.post("/consent", (c) => {
    const pending = pendingFrom(c, ctx);
    if (!pending?.account) return expiredRequest(c);
    ctx.state.pending.delete(pending.id);
    if (c.get("recorded").form.action !== "accept") {
      return replyError(
        c,
        pending.params,
        "access_denied",
        "AADSTS65004: User declined to consent to access the app.",
      );
    }
    return new Authorizer(c, ctx).issueCode(pending.params, pending.account);
  });

  app.get("/:tenant/oauth2/v2.0/logout", (c) => {
    const session = currentSession(c, ctx);
    if (session) ctx.state.sessions.delete(session.id);
    deleteCookie(c, SESSION_COOKIE, { path: "/" });
    const target = c.req.query("post_logout_redirect_uri");
    if (target !== undefined && isAllowedRedirectUri(target)) {
      const url = new URL(target);
      const state = c.req.query("state");
      if (state !== undefined) url.searchParams.set("state", state);
      return c.redirect(url.href, 302);
    }
    return c.html(
      messagePage("You signed out of your account", "It's a good idea to close all browser windows."),
    );
  });

  app.get(
    "/:tenant/oauth2/nativeclient",
    (c) => c.html(messagePage("Sign in", "You can close this window now.")),
  );
}
