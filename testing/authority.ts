/**
 * A fake Microsoft Entra ID authority on 127.0.0.1: instance and tenant discovery, JWKS, device code,
 * authorization code with PKCE (real HTML sign-in pages and SSO cookies), refresh token rotation with
 * FOCI, ROPC, RS256-signed tokens, request recording and fault injection.
 *
 * @module
 */

import { Hono } from "hono";
import { type RunningServer, serve } from "../serve.ts";
import { AuthorityContext, authorityContexts, type Ctx, type HonoEnv } from "./_context.ts";
import { authorizeFault, registerAuthorize } from "./_authorize.ts";
import { approve, registerDeviceCode } from "./_device.ts";
import { aliasesOf, registerDiscovery } from "./_discovery.ts";
import { Delays, FaultQueue, faultResponse } from "./_faults.ts";
import { SigningKey } from "./_jwt.ts";
import { errorPage } from "./_pages.ts";
import type { DeviceCodeRecord, ResolvedUser } from "./_state.ts";
import { registerToken } from "./_token.ts";
import { registerUserinfo } from "./_userinfo.ts";
import { signInAt } from "./_user_agent.ts";
import { checkTimes } from "./_times.ts";
import {
  DEFAULT_TENANT_ID,
  type FakeAuthorityOptions,
  type FakeEndpoint,
  type FakeFault,
  type FakeGrantType,
  type FakeUser,
  type RecordedRequest,
} from "./_types.ts";

export { DEFAULT_TENANT_ID } from "./_types.ts";
export type {
  FakeAuthorityOptions,
  FakeClient,
  FakeEndpoint,
  FakeFault,
  FakeGrantType,
  FakeUser,
  RecordedRequest,
} from "./_types.ts";

const DEFAULT_USERS: FakeUser[] = [{ username: "alice@contoso.com", password: "password", name: "Alice" }];

const ENDPOINT_PATHS: [RegExp, FakeEndpoint][] = [
  [/^\/[^/]+\/discovery\/instance$/, "instance_discovery"],
  [/^\/[^/]+\/v2\.0\/\.well-known\/openid-configuration$/, "openid_configuration"],
  [/^\/[^/]+\/discovery(?:\/v2\.0)?\/keys$/, "jwks"],
  [/^\/[^/]+\/oauth2\/v2\.0\/token$/, "token"],
  [/^\/[^/]+\/oauth2\/v2\.0\/devicecode$/, "devicecode"],
  [/^\/[^/]+\/oauth2\/v2\.0\/authorize$/, "authorize"],
  [/^\/[^/]+\/openid\/userinfo$/, "userinfo"],
];

function endpointOf(path: string): FakeEndpoint | "other" {
  return ENDPOINT_PATHS.find(([pattern]) => pattern.test(path))?.[1] ?? "other";
}

function nonNegativeInteger(name: string, value: number | undefined, fallback: number): number {
  const result = value ?? fallback;
  if (!Number.isInteger(result) || result < 0) throw new RangeError(`${name} must be a whole number >= 0`);
  return result;
}

function resolveUsers(users: FakeUser[], tenantId: string): ResolvedUser[] {
  return users.map((u) => ({
    username: u.username,
    password: u.password,
    name: u.name ?? u.username.split("@")[0],
    oid: u.oid ?? crypto.randomUUID(),
    tenantId: (u.tenantId ?? tenantId).toLowerCase(),
  }));
}

const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);
const MAX_REDIRECTS = 20;

/**
 * A fake Entra ID authority serving on 127.0.0.1. Start one per test (or suite), point the app at
 * {@linkcode FakeAuthority.authority}, and close it when done.
 *
 * @example
 * ```ts
 * import { PublicClientApplication } from "@authbroker/msal";
 *
 * const idp = await FakeAuthority.start({ users: [{ username: "bob@contoso.com", password: "pw" }] });
 * const app = new PublicClientApplication("my-client", { authority: idp.authority(), fetch: idp.fetch });
 * // ... drive a flow; idp.approveDeviceCode(flow.user_code, "bob@contoso.com") ...
 * await idp.close();
 * ```
 */
export class FakeAuthority {
  /** Where it really listens: `http://127.0.0.1:<port>`. */
  readonly url: string;
  /** The public origin it claims to be (equal to `url` unless `options.origin` was set). */
  readonly origin: string;
  /** The default tenant id. */
  readonly tenantId: string;
  /**
   * A `fetch` that sends requests for {@linkcode FakeAuthority.origin} (and the other hosts of its
   * cloud, e.g. `login.windows.net` for `login.microsoftonline.com`) to {@linkcode FakeAuthority.url},
   * keeping method, headers and body; redirects back to those hosts are followed the same way. Anything
   * else goes to the global `fetch`. Give it to the app as its `fetch` option.
   */
  readonly fetch: typeof fetch;

  readonly #server: RunningServer;
  readonly #ctx: AuthorityContext;
  readonly #app: Hono<HonoEnv> = new Hono<HonoEnv>();
  readonly #faults: FaultQueue = new FaultQueue();
  readonly #delays: Delays = new Delays();
  readonly #baseFetch: typeof fetch;
  readonly #servedOrigins: Set<string>;
  #requests: RecordedRequest[] = [];
  #closing?: Promise<void>;

  private constructor(server: RunningServer, ctx: AuthorityContext) {
    this.#server = server;
    this.#ctx = ctx;
    authorityContexts.set(this, ctx);
    this.url = ctx.config.url;
    this.origin = ctx.config.origin;
    this.tenantId = ctx.config.defaultTenant;
    this.#baseFetch = globalThis.fetch.bind(globalThis);
    const protocol = new URL(this.origin).protocol;
    this.#servedOrigins = new Set(aliasesOf(this.origin).map((host) => `${protocol}//${host}`));
    this.fetch = ((input: RequestInfo | URL, init?: RequestInit) => this.#route(input, init)) as typeof fetch;
    this.#app.use("*", (c, next) => this.#intercept(c, next));
    registerDiscovery(this.#app, ctx);
    registerToken(this.#app, ctx);
    registerDeviceCode(this.#app, ctx);
    registerAuthorize(this.#app, ctx);
    registerUserinfo(this.#app, ctx);
    this.#app.notFound((c) =>
      c.html(errorPage(`Not found: ${c.req.method} ${new URL(c.req.url).pathname}`), 404)
    );
    this.#app.onError((error, c) => c.html(errorPage(`Internal error: ${String(error)}`), 500));
  }

  /**
   * Generates a signing key and starts serving on 127.0.0.1.
   *
   * @param options users, clients, tenant, public origin, port, and the token and device code lifetimes
   *   (in seconds); every field is optional.
   * @returns the started authority; {@linkcode FakeAuthority.close} it when done.
   * @throws {RangeError} when a lifetime or `deviceCodeInterval` is not a whole number >= 0.
   * @throws {TypeError} when `options.origin` is not an http(s) URL.
   * @throws {PortInUseError} when `options.port` is taken.
   */
  static async start(options: FakeAuthorityOptions = {}): Promise<FakeAuthority> {
    const tenantId = (options.tenantId ?? DEFAULT_TENANT_ID).toLowerCase();
    const lifetime = nonNegativeInteger("accessTokenLifetime", options.accessTokenLifetime, 3600);
    const interval = nonNegativeInteger("deviceCodeInterval", options.deviceCodeInterval, 5);
    const deviceLifetime = nonNegativeInteger("deviceCodeLifetime", options.deviceCodeLifetime, 900);
    let publicOrigin: string | undefined;
    if (options.origin !== undefined) {
      const parsed = new URL(options.origin);
      if (parsed.protocol !== "http:" && parsed.protocol !== "https:") {
        throw new TypeError(`origin must be an http(s) URL, got ${options.origin}`);
      }
      publicOrigin = parsed.origin;
    }
    const key = await SigningKey.generate();
    let handler: (request: Request) => Response | Promise<Response> = () =>
      new Response("Starting", { status: 503 });
    const server = await serve((request) => handler(request), { port: options.port ?? 0 });
    const url = `http://127.0.0.1:${server.port}`;
    const ctx = new AuthorityContext(
      {
        origin: publicOrigin ?? url,
        url,
        defaultTenant: tenantId,
        accessTokenLifetime: lifetime,
        refreshIn: options.refreshIn,
        deviceCodeInterval: interval,
        deviceCodeLifetime: deviceLifetime,
        strictOidc: options.strictOidc === true,
      },
      resolveUsers(options.users ?? DEFAULT_USERS, tenantId),
      options.clients ?? [],
      key,
    );
    const authority = new FakeAuthority(server, ctx);
    handler = (request) => authority.#app.fetch(request);
    return authority;
  }

  /** The configured users with defaults filled in (`oid`, `name`, `tenantId`). */
  get users(): Required<FakeUser>[] {
    return this.#ctx.users.map((u) => ({ ...u }));
  }

  /** Every request received so far, in order. */
  get requests(): RecordedRequest[] {
    return this.#requests;
  }

  /**
   * An authority URL for the app: `${origin}/${tenant ?? "common"}`.
   *
   * @param tenant a tenant id or domain, or `common` / `organizations` / `consumers`; default `"common"`.
   * @returns the URL, e.g. `http://127.0.0.1:41234/common`.
   */
  authority(tenant?: string): string {
    return `${this.origin}/${tenant ?? "common"}`;
  }

  /**
   * The requests received by one endpoint, in order.
   *
   * @param endpoint which endpoint, e.g. `"token"`.
   * @returns a new array of its recorded requests, oldest first.
   */
  requestsTo(endpoint: FakeEndpoint): RecordedRequest[] {
    return this.#requests.filter((r) => r.endpoint === endpoint);
  }

  /** Forgets the recorded requests (arrays returned earlier keep their contents). */
  clearRequests(): void {
    this.#requests = [];
  }

  /**
   * Makes the next `times` requests to `endpoint` get `fault` instead of their normal answer (after
   * being recorded). Faults queued for one endpoint apply in the order they were queued.
   *
   * @param endpoint the endpoint whose requests fail.
   * @param fault what they get instead: a server error, a 429 (`retryAfter` in seconds), an OAuth error,
   *   a delay (`delayMs` in milliseconds) or a raw body.
   * @param times how many requests; default 1; `Infinity` for all of them.
   * @throws {RangeError} when `times` is not a positive integer or `Infinity`.
   */
  fail(endpoint: FakeEndpoint, fault: FakeFault, times = 1): void {
    this.#faults.add(endpoint, fault, times);
  }

  /**
   * Like {@linkcode FakeAuthority.fail}, for token requests of one grant type only, e.g. to fail
   * refreshes while device code polls succeed. Endpoint faults on `"token"` apply first.
   *
   * @param grantType the grant whose token requests fail, e.g. `"refresh_token"`.
   * @param fault what they get instead, as for {@linkcode FakeAuthority.fail}.
   * @param times how many requests; default 1; `Infinity` for all of them.
   * @throws {RangeError} when `times` is not a positive integer or `Infinity`.
   */
  failGrant(grantType: FakeGrantType, fault: FakeFault, times = 1): void {
    this.#faults.add(`grant:${grantType}`, fault, times);
  }

  /**
   * Approves a device code as if the user had typed it at /devicelogin and signed in as `username`.
   *
   * @param userCode the `user_code` of the device authorization response.
   * @param username a configured user's sign-in name (case-insensitive).
   * @throws {Error} for an unknown user code or user, or a code that is no longer pending.
   */
  approveDeviceCode(userCode: string, username: string): void {
    const record = this.#pendingDeviceCode(userCode);
    const user = this.#ctx.findUser(username);
    if (!user) throw new Error(`Unknown user: ${username}`);
    approve(record, user);
  }

  /**
   * An `openBrowser` for `acquireTokenInteractive` (and a way to finish `initiateAuthCodeFlow`) that
   * acts as `username` at a browser: opens the authorization URL, signs in on the sign-in page with the
   * user's password, answers the consent page (`options.consent`, default `"accept"`), and delivers
   * the answer to the app's redirect URI (a redirect, or the auto-submitted `form_post` form).
   *
   * @example
   * ```ts
   * import type { PublicClientApplication } from "@authbroker/msal";
   * import type { FakeAuthority } from "@authbroker/msal/testing";
   *
   * declare const app: PublicClientApplication;
   * declare const idp: FakeAuthority;
   * const result = await app.acquireTokenInteractive(["User.Read"], {
   *   openBrowser: idp.signInAs("alice@contoso.com"),
   * });
   * ```
   * @param username a configured user's sign-in name (case-insensitive).
   * @param options `consent`: the answer on the consent page; default `"accept"`.
   * @returns a function that takes the authorization URL and resolves once the answer has reached the
   *   redirect URI.
   * @throws {Error} at once for an unknown user; the returned function rejects when a page is not one
   *   a user could answer (e.g. the fake's error page for a bad redirect URI), with the page's error text.
   */
  signInAs(
    username: string,
    options: { consent?: "accept" | "cancel" } = {},
  ): (url: string) => Promise<void> {
    const user = this.#ctx.findUser(username);
    if (!user) throw new Error(`Unknown user: ${username}`);
    return (url) =>
      signInAt(url, { fetch: this.fetch, username: user.username, password: user.password, ...options });
  }

  /**
   * Declines a device code: its next poll answers `authorization_declined`.
   *
   * @param userCode the `user_code` of the device authorization response.
   * @throws {Error} for an unknown user code, or a code that is no longer pending.
   */
  denyDeviceCode(userCode: string): void {
    this.#pendingDeviceCode(userCode).status = "denied";
  }

  /**
   * Makes the next `times` ID tokens carry `claims` over the real ones (a claim set to `undefined` is
   * removed), still correctly signed: to test how an app handles an ID token for another app
   * (`{ aud: "someone-else" }`), from another issuer (`{ iss: "https://mix-up.example" }`), or expired
   * (`{ exp: Math.floor(Date.now() / 1000) - 3600 }`). The library refuses each with an `IdTokenError`.
   *
   * @param claims claims to set (or, with `undefined`, remove), by claim name.
   * @param times how many ID tokens; default 1; `Infinity` for all of them.
   * @throws {RangeError} when `times` is not a positive integer or `Infinity`.
   */
  overrideIdTokenClaims(claims: Record<string, unknown>, times = 1): void {
    checkTimes(times);
    this.#ctx.state.idTokenOverrides.push({ claims: { ...claims }, remaining: times });
  }

  /**
   * Revokes refresh tokens: using one now gets `invalid_grant`.
   *
   * @param username whose tokens (case-insensitive); everyone's when omitted.
   */
  revokeRefreshTokens(username?: string): void {
    const wanted = username?.toLowerCase();
    for (const record of this.#ctx.state.refreshTokens.values()) {
      if (wanted === undefined || record.username.toLowerCase() === wanted) record.status = "revoked";
    }
  }

  /** Stops serving, ends pending delays and closes every connection; the port is free afterwards. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      this.#delays.releaseAll();
      await this.#server.close();
    })();
    return this.#closing;
  }

  #pendingDeviceCode(userCode: string): DeviceCodeRecord {
    const record = this.#ctx.state.deviceCodeByUserCode(userCode);
    if (!record) throw new Error(`Unknown user code: ${userCode}`);
    if (record.status !== "pending") {
      throw new Error(`User code ${userCode} is no longer pending (${record.status})`);
    }
    return record;
  }

  // Records every request, then applies any queued fault before the routes see it.
  async #intercept(c: Ctx, next: () => Promise<void>): Promise<Response | void> {
    const raw = c.req.raw;
    const url = new URL(raw.url);
    const headers: Record<string, string> = {};
    raw.headers.forEach((value, name) => headers[name.toLowerCase()] = value);
    const isForm = /^application\/x-www-form-urlencoded\b/i.test(headers["content-type"] ?? "");
    const recorded: RecordedRequest = {
      endpoint: endpointOf(url.pathname),
      method: raw.method,
      path: url.pathname,
      query: Object.fromEntries(url.searchParams),
      form: isForm ? Object.fromEntries(new URLSearchParams(await c.req.text())) : {},
      headers,
      at: Date.now(),
    };
    this.#requests.push(recorded);

    const traceId = crypto.randomUUID();
    const correlationId = headers["client-request-id"] ?? crypto.randomUUID();
    c.set("recorded", recorded);
    c.set("traceId", traceId);
    c.set("correlationId", correlationId);
    c.header("x-ms-request-id", traceId);
    if (headers["client-request-id"] !== undefined) c.header("client-request-id", correlationId);

    const fault = this.#faults.take(recorded.endpoint, recorded.form.grant_type);
    if (fault && "delayMs" in fault) {
      await this.#delays.wait(fault.delayMs);
    } else if (fault) {
      return faultResponse(c, fault, recorded.endpoint === "authorize" ? authorizeFault : undefined);
    }
    await next();
  }

  async #route(input: RequestInfo | URL, init: RequestInit | undefined, hops = 0): Promise<Response> {
    const href = input instanceof Request ? input.url : input instanceof URL ? input.href : String(input);
    let target: URL;
    try {
      target = new URL(href);
    } catch {
      return this.#baseFetch(input, init);
    }
    if (!this.#servedOrigins.has(target.origin)) return this.#baseFetch(input, init);

    const request = new Request(input, init);
    // Copied before the body is read: Bun derives content-type from the body lazily and loses it after.
    const headers = new Headers(request.headers);
    const body = request.method === "GET" || request.method === "HEAD"
      ? undefined
      : await request.arrayBuffer();
    const response = await this.#baseFetch(this.url + target.pathname + target.search, {
      method: request.method,
      headers,
      body,
      redirect: "manual",
      signal: request.signal,
    });
    const location = response.headers.get("location");
    if (!REDIRECT_STATUSES.has(response.status) || location === null || request.redirect === "manual") {
      return response;
    }
    await response.body?.cancel();
    if (request.redirect === "error") {
      throw new TypeError(`Redirect to ${location} refused (redirect: "error")`);
    }
    if (hops >= MAX_REDIRECTS) throw new TypeError("Too many redirects");
    const next = new URL(location, target).href;
    const keepsBody = response.status === 307 || response.status === 308;
    const nextHeaders = new Headers(headers);
    if (!keepsBody) {
      nextHeaders.delete("content-type");
      nextHeaders.delete("content-length");
    }
    const nextInit: RequestInit = {
      method: keepsBody || request.method === "HEAD" ? request.method : "GET",
      headers: nextHeaders,
      body: keepsBody ? body : undefined,
      redirect: "follow",
      signal: request.signal,
    };
    return this.#servedOrigins.has(new URL(next).origin)
      ? await this.#route(next, nextInit, hops + 1)
      : await this.#baseFetch(next, nextInit);
  }
}
