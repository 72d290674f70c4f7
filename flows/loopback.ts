/**
 * The loopback redirect listener of the interactive flow: a small hono app on `127.0.0.1` that receives
 * the identity provider's authorization response, checks its `state`, shows the user a page, and then
 * shuts itself down so the process can exit.
 *
 * What arrives around the real redirect never keeps it out:
 * - A request whose `Host` is not the redirect URI's (`localhost:<port>` by default) or the bound
 *   address (`127.0.0.1:<port>`) is refused with 421 before anything reads it: a page on another site cannot
 *   reach the listener through DNS rebinding.
 * - With the sign-in's `state` known from the start ({@linkcode LoopbackOptions.state}), a response with
 *   another state is refused at once and never held, so junk can never fill the place of the real one.
 * - Whatever a request makes fail (a missing `Host`, a malformed URL or body) becomes a 400 page and a
 *   log line, in every runtime: nothing reaches the console.
 *
 * @module
 */

import { AbortError, ConfigurationError, messageOf, TimeoutError } from "../core/errors.ts";
import { LogWriter, type PluginLogger } from "../core/log.ts";
import { type RunningServer, serve } from "./serve.ts";

/** Options for {@linkcode startLoopbackListener}. */
export interface LoopbackOptions {
  /** The port to listen on; 0 (the default) picks a free ephemeral port. */
  port?: number;
  /**
   * The redirect URI to listen for: `http://localhost` (the default) or `http://127.0.0.1`, with an
   * optional path and port (its port wins over `port`; without one a free port is picked, which RFC
   * 8252 §7.3 requires servers to accept). The listener binds 127.0.0.1 either way.
   */
  redirectUri?: string;
  /**
   * How the identity provider returns the response. `"form_post"` (the default, as MSAL Python) takes a
   * form POST and also a GET with the parameters in the query, since some providers ignore
   * `response_mode`; `"query"` takes only the GET and answers POSTs with 405.
   */
  responseMode?: "form_post" | "query";
  /** HTML shown after a successful sign-in, instead of the default page. */
  successTemplate?: string;
  /** HTML shown after a failed sign-in; `$error` and `$error_description` are replaced, HTML-escaped. */
  errorTemplate?: string;
  /** The largest request body accepted, in bytes (default 64 KiB); larger ones get 413 and are ignored. */
  maxBodyBytes?: number;
  /** Receives progress and warnings, such as a state mismatch. */
  logger?: PluginLogger;
  /**
   * The `state` of the sign-in, when known before the listener starts: responses with another state
   * are refused at once instead of being held for {@linkcode LoopbackListener.waitForResponse}.
   */
  state?: string;
}

/** The parameters of an authorization response: `code`, `state`, `error`, `error_description`, ... */
export interface AuthorizationResponse {
  /** Each parameter by its wire name; the first value wins when one is repeated. */
  [param: string]: string;
}

/**
 * Takes a loopback redirect URI apart: `http`, host `localhost` or `127.0.0.1`, optional port and path,
 * no query or fragment.
 *
 * @throws {ConfigurationError} for anything else.
 */
function loopbackRedirect(uri: string): { host: string; port?: number; path: string } {
  let url: URL | undefined;
  try {
    url = new URL(uri);
  } catch {
    url = undefined;
  }
  if (
    !url || url.protocol !== "http:" || !["localhost", "127.0.0.1"].includes(url.hostname) ||
    url.search || url.hash || url.username || url.password
  ) {
    throw new ConfigurationError(
      `redirectUri must be a loopback http URL such as http://127.0.0.1:8400/callback or http://localhost, ` +
        `without query or fragment (RFC 8252 §7.3): ${uri}`,
    );
  }
  return { host: url.hostname, port: url.port ? Number(url.port) : undefined, path: url.pathname || "/" };
}

/** Options for {@linkcode LoopbackListener.waitForResponse}. */
export interface WaitOptions {
  /** The `state` sent in the authorization request; responses with another state are rejected. */
  state: string;
  /** Give up after this many milliseconds; by default wait until `signal` aborts. */
  timeoutMs?: number;
  /** Ends the wait with an {@linkcode AbortError}. */
  signal?: AbortSignal;
}

/** A listening redirect receiver. */
export interface LoopbackListener {
  /** The redirect URI to send in the authorization request, e.g. `http://localhost:<port>`. */
  readonly redirectUri: string;
  /** The port the listener is bound to on 127.0.0.1. */
  readonly port: number;
  /** The response mode the listener expects; send it as `response_mode`. */
  readonly responseMode: "form_post" | "query";
  /**
   * Resolves with the first authorization response whose `state` matches, whether it carries a `code`
   * or an `error`, then closes the listener once the user's page has been sent. Responses that arrived
   * before this call are held and considered in order.
   *
   * @throws {TimeoutError} "User did not complete the flow in time" after `timeoutMs`.
   * @throws {AbortError} when `signal` aborts or the listener is closed while waiting.
   */
  waitForResponse(options: WaitOptions): Promise<AuthorizationResponse>;
  /** Stops listening and closes every connection, after any final page has been sent; idempotent. */
  close(): Promise<void>;
}

const DEFAULT_MAX_BODY_BYTES = 64 * 1024;
// Responses that arrive before waitForResponse() are held; cap them so a hostile page cannot pile up
// (past the cap the oldest is answered and dropped, so the latest arrival is always held).
const MAX_HELD_RESPONSES = 16;
// Upper bound on how long close() waits for the browser to take the final page.
const PAGE_SEND_LIMIT_MS = 2000;
// setTimeout fires at once for delays past 2^31 - 1 ms.
const MAX_TIMER_MS = 2 ** 31 - 1;

interface Waiter {
  state: string;
  resolve: (response: AuthorizationResponse) => void;
  reject: (error: Error) => void;
}

interface Held {
  params: AuthorizationResponse;
  respond: (response: Response) => void;
}

/**
 * Starts the redirect listener on 127.0.0.1 and resolves once it is listening, so the browser can be
 * opened right after.
 *
 * @throws {PortInUseError} "Can't listen on port N. You may try port 0." when `port` is taken.
 * @example
 * ```ts
 * import { openSystemBrowser } from "./browser.ts";
 *
 * const state = crypto.randomUUID();
 * const listener = await startLoopbackListener({ state });
 * const authorize = new URL("https://login.microsoftonline.com/common/oauth2/v2.0/authorize");
 * authorize.search = new URLSearchParams({ redirect_uri: listener.redirectUri, state }).toString();
 * await openSystemBrowser(authorize.href);
 * const response = await listener.waitForResponse({ state, timeoutMs: 300_000 });
 * await listener.close();
 * const code = response.error ? undefined : response.code; // redeem it at the token endpoint
 * ```
 */
export async function startLoopbackListener(options: LoopbackOptions = {}): Promise<LoopbackListener> {
  const log = options.logger ?? new LogWriter();
  const wanted = loopbackRedirect(options.redirectUri ?? "http://localhost");
  const responseMode = options.responseMode ?? "form_post";
  // Loaded on first use: importing hono costs more than the rest of the library, and most apps that
  // start never sign in interactively.
  const [{ Hono }, { bodyLimit }, { html }] = await Promise.all([
    import("hono"),
    import("hono/body-limit"),
    import("hono/html"),
  ]);
  const { page, successPage, notFoundPage, alreadyCompletedPage, errorPage } = pagesWith(html);
  const held: Held[] = [];
  let waiter: Waiter | null = null;
  let finished = false;
  let pageSent: Promise<void> = Promise.resolve();
  let closing: Promise<void> | null = null;

  /** Holds a response that arrives before waitForResponse(), else decides on it at once. */
  const receive = (params: AuthorizationResponse): Promise<Response> | Response => {
    if (finished || waiter) return decide(params);
    if (options.state !== undefined && params.state !== options.state) return stateMismatch();
    if (held.length >= MAX_HELD_RESPONSES) {
      held.shift()!.respond(page(429, "Too many requests", "Please try again."));
    }
    log.verbose("Holding a redirect until waitForResponse() is called");
    return new Promise<Response>((respond) => held.push({ params, respond }));
  };

  const stateMismatch = (): Response => {
    log.warning("Ignored a redirect whose state does not match this sign-in (state_mismatch)");
    return errorPage(options.errorTemplate, 400, {
      error: "state_mismatch",
      error_description: "This response does not belong to the sign-in in progress.",
    });
  };

  /** Decides what an authorization response means for the flow and what page the browser gets. */
  const decide = (params: AuthorizationResponse): Response => {
    if (finished || !waiter) return alreadyCompletedPage();
    if (params.state !== waiter.state) return stateMismatch();
    const response = params.error
      ? errorPage(options.errorTemplate, 200, params)
      : options.successTemplate !== undefined
      ? htmlResponse(200, options.successTemplate, false)
      : successPage();
    const tracked = trackDelivery(response);
    pageSent = tracked.sent;
    log.info(
      params.error
        ? "Received an error response from the identity provider"
        : "Received the authorization code",
    );
    waiter.resolve(params);
    return tracked.response;
  };

  const app = new Hono();
  app.get(wanted.path, (c) => {
    // HEAD (which hono routes here too) must never complete the flow: the browser would get no page.
    if (c.req.method !== "GET") return notFoundPage();
    const params = firstValues(new URL(c.req.url).searchParams);
    if (!params.code && !params.error) return notFoundPage();
    return receive(params);
  });
  app.post(
    wanted.path,
    (c, next) => {
      if (responseMode !== "form_post") {
        return Promise.resolve(page(405, "Not allowed", "Nothing to see here."));
      }
      const type = (c.req.header("content-type") ?? "").split(";")[0].trim().toLowerCase();
      if (type !== "application/x-www-form-urlencoded") {
        log.verbose("Ignored a POST to the redirect listener that is not a form");
        return Promise.resolve(page(415, "Unsupported content", "Expected a form post."));
      }
      return next();
    },
    bodyLimit({
      maxSize: options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES,
      onError: () => {
        log.warning("Ignored a redirect whose body is larger than maxBodyBytes");
        return page(413, "Request too large", "The response was too large and was ignored.");
      },
    }),
    async (c) => {
      const params = firstValues(new URLSearchParams(await c.req.text()));
      if (!params.code && !params.error) {
        return page(400, "Nothing to do", "The form has no authorization response.");
      }
      return receive(params);
    },
  );
  /** The answer to whatever a request makes fail, inside hono or around it: a page and a log line. */
  const badRequest = (error: unknown): Response => {
    log.warning(`The redirect listener failed to handle a request: ${messageOf(error)}`);
    return page(400, "Bad request", "The request could not be read.");
  };
  app.notFound(() => notFoundPage());
  app.onError(badRequest);

  let hosts = new Set<string>();
  /** Checks `Host` before hono sees the request. */
  const handle = (request: Request): Response | Promise<Response> => {
    const host = request.headers.get("host")?.toLowerCase();
    if (!host || !hosts.has(host)) {
      log.warning("Refused a request to the redirect listener for another host (DNS rebinding?)");
      return page(421, "Misdirected request", "This address only receives a sign-in response.");
    }
    return app.fetch(request);
  };
  const server: RunningServer = await serve(handle, {
    port: wanted.port ?? options.port ?? 0,
    hostname: "127.0.0.1",
    onError: badRequest,
  });
  hosts = new Set([`${wanted.host}:${server.port}`, `127.0.0.1:${server.port}`]);
  const redirectUri = `http://${wanted.host}:${server.port}${wanted.path === "/" ? "" : wanted.path}`;
  log.info(`Listening for the redirect on ${redirectUri}`);

  const shutdown = async (): Promise<void> => {
    let limit: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([
      pageSent,
      new Promise<void>((resolve) => limit = setTimeout(resolve, PAGE_SEND_LIMIT_MS)),
    ]);
    clearTimeout(limit);
    // One more turn so the runtime flushes the last bytes before connections are torn down.
    await new Promise<void>((resolve) => setTimeout(resolve, 20));
    try {
      await server.close();
      log.verbose("The redirect listener is closed");
    } catch (error) {
      log.warning(`Could not close the redirect listener: ${messageOf(error)}`);
    }
  };

  const close = (): Promise<void> => {
    if (closing) return closing;
    finished = true;
    closing = shutdown();
    waiter?.reject(new AbortError("The loopback listener was closed"));
    for (const request of held.splice(0)) request.respond(alreadyCompletedPage());
    return closing;
  };

  const waitForResponse = (wait: WaitOptions): Promise<AuthorizationResponse> => {
    if (finished) {
      return Promise.reject(
        new ConfigurationError("This loopback listener has already completed or been closed"),
      );
    }
    if (waiter) return Promise.reject(new ConfigurationError("waitForResponse() is already waiting"));
    return new Promise<AuthorizationResponse>((resolve, reject) => {
      const { signal, timeoutMs } = wait;
      let timer: ReturnType<typeof setTimeout> | undefined;
      const onAbort = (): void => settle(() => reject(new AbortError(undefined, { cause: signal?.reason })));
      const settle = (finish: () => void): void => {
        if (waiter !== current) return;
        waiter = null;
        finished = true;
        clearTimeout(timer);
        signal?.removeEventListener("abort", onAbort);
        finish();
        void close();
      };
      const current: Waiter = {
        state: wait.state,
        resolve: (response) => settle(() => resolve(response)),
        reject: (error) => settle(() => reject(error)),
      };
      waiter = current;
      if (signal?.aborted) return onAbort();
      signal?.addEventListener("abort", onAbort, { once: true });
      if (timeoutMs !== undefined && Number.isFinite(timeoutMs)) {
        timer = setTimeout(
          () => settle(() => reject(new TimeoutError("User did not complete the flow in time"))),
          Math.min(Math.max(timeoutMs, 0), MAX_TIMER_MS),
        );
      }
      for (const request of held.splice(0)) request.respond(decide(request.params));
    });
  };

  return { redirectUri, port: server.port, responseMode, waitForResponse, close };
}

function firstValues(params: URLSearchParams): AuthorizationResponse {
  const result: AuthorizationResponse = {};
  for (const [key, value] of params) {
    if (key !== "__proto__" && !Object.hasOwn(result, key)) result[key] = value;
  }
  return result;
}

/** Wraps a response so we learn when the runtime has taken its whole body from us. */
function trackDelivery(response: Response): { response: Response; sent: Promise<void> } {
  let markSent!: () => void;
  const sent = new Promise<void>((resolve) => markSent = resolve);
  const body = response.body;
  if (!body) {
    markSent();
    return { response, sent };
  }
  const reader = body.getReader();
  const stream = new ReadableStream<Uint8Array>({
    async pull(controller) {
      const { done, value } = await reader.read();
      if (done) {
        controller.close();
        markSent();
      } else {
        controller.enqueue(value);
      }
    },
    cancel() {
      markSent();
    },
  }, { highWaterMark: 0 });
  const headers = new Headers(response.headers);
  headers.delete("content-length");
  return { response: new Response(stream, { status: response.status, headers }), sent };
}

function htmlResponse(status: number, html: string, strict: boolean): Response {
  const headers: Record<string, string> = {
    "content-type": "text/html; charset=utf-8",
    "cache-control": "no-store",
    "referrer-policy": "no-referrer",
    "x-content-type-options": "nosniff",
  };
  // The built-in pages need nothing from anywhere; app templates may load their own images or styles.
  if (strict) headers["content-security-policy"] = "default-src 'none'; style-src 'unsafe-inline'";
  return new Response(html, { status, headers });
}

/**
 * The listener's pages, escaped with hono's `html`: built once the listener has loaded hono, so the
 * escaper stays off the app's import path.
 */
interface Pages {
  page(status: number, title: string, message: string): Response;
  successPage(): Response;
  notFoundPage(): Response;
  alreadyCompletedPage(): Response;
  errorPage(template: string | undefined, status: number, params: AuthorizationResponse): Response;
}

function pagesWith(html: (strings: TemplateStringsArray, ...values: unknown[]) => unknown): Pages {
  const escapeHtml = (text: string): string => String(html`${text}`);

  function document(title: string, body: string): string {
    return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title>
<style>
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;margin:0;min-height:100vh;display:flex;align-items:center;justify-content:center;background:#f5f5f5;color:#1b1b1b}
main{background:#fff;padding:2rem 2.5rem;border-radius:8px;box-shadow:0 2px 8px rgba(0,0,0,.12);max-width:36rem}
h1{font-size:1.4rem;margin:0 0 .75rem}p{margin:.5rem 0;line-height:1.5}code{word-break:break-all}
</style>
</head>
<body><main>${body}</main></body>
</html>
`;
  }

  function page(status: number, title: string, message: string): Response {
    return htmlResponse(
      status,
      document(title, `<h1>${escapeHtml(title)}</h1><p>${escapeHtml(message)}</p>`),
      true,
    );
  }

  function successPage(): Response {
    return page(200, "Authentication complete", "You can close this window and return to the application.");
  }

  function notFoundPage(): Response {
    return page(404, "Not found", "This address only receives a sign-in response.");
  }

  function alreadyCompletedPage(): Response {
    return page(
      410,
      "Sign-in already completed",
      "This sign-in has already completed. You can close this window.",
    );
  }

  function errorPage(template: string | undefined, status: number, params: AuthorizationResponse): Response {
    const error = params.error ?? "";
    const description = params.error_description ?? "";
    if (template !== undefined) {
      // One pass, so an error description that itself contains "$error" is not substituted again.
      const filled = template.replace(
        /\$(error_description|error)/g,
        (_, name: string) => escapeHtml(name === "error" ? error : description),
      );
      return htmlResponse(status, filled, false);
    }
    const body = `<h1>Authentication failed</h1>
<p>Error: <code>${escapeHtml(error)}</code></p>
${description ? `<p>${escapeHtml(description)}</p>` : ""}
<p>You can close this window and return to the application.</p>`;
    return htmlResponse(status, document("Authentication failed", body), true);
  }

  return { page, successPage, notFoundPage, alreadyCompletedPage, errorPage };
}
