/**
 * The client for the identity provider's endpoints: JSON GETs for discovery and form POSTs for
 * tokens, over an injected `fetch`, with per-request correlation ids, timeouts, one `Retry-After`
 * retry, and MSAL Python's throttling of identical failing requests.
 *
 * Redirects: a form POST carries a credential (a refresh token, an authorization code and its PKCE
 * verifier, a device code, a password), so it is sent with `redirect: "manual"` and a 3xx answer is
 * never followed: it comes back as an `http_error` result naming the status. The body would otherwise
 * be re-posted to wherever `Location` points (307/308), or the answer of another server taken as a
 * token (301/302/303). Discovery GETs carry nothing secret; they follow at most
 * {@linkcode MAX_DISCOVERY_REDIRECTS} redirects, and only within the origin (scheme, host and port)
 * first asked, so metadata naming the token endpoint can only come from the authority's own origin.
 *
 * Bodies: at most `maxResponseBytes` (1 MiB by default) of an answer are read; a larger one is
 * cancelled, not buffered, and reported as a typed failure.
 *
 * @module
 */

import { sleep } from "./abort.ts";
import { AbortError, NetworkError } from "./errors.ts";
import type { ErrorResult } from "./results.ts";
import { isJsonObject } from "./_json.ts";

/** The library's name and version as sent in `x-client-sku` / `x-client-ver`. */
export const CLIENT_SKU = "authbroker.msal";
/** The library version, as in package.json and deno.json (public as `VERSION`). */
export const CLIENT_VERSION = "0.1.0";

/** Options of {@linkcode HttpClient}. */
export interface HttpClientOptions {
  /** The fetch to use; default the global one. */
  fetch?: typeof fetch;
  /** Per-request timeout in milliseconds; default 30,000. */
  timeoutMs?: number;
  /** Longest `Retry-After` (seconds) worth waiting for before the single retry; default 60. */
  maxRetryAfterSeconds?: number;
  /** How long (seconds) an identical request that failed with `invalid_grant`/`interaction_required` is throttled; default 60. */
  throttleSeconds?: number;
  /** Extra headers on every request, e.g. `x-client-os`. */
  headers?: Record<string, string>;
  /** The largest answer body read, in bytes; default 1 MiB (Entra's token responses are a few KiB). */
  maxResponseBytes?: number;
  /** Clock in epoch milliseconds, for tests. */
  now?: () => number;
}

/** Per-request options. */
export interface RequestOptions {
  /** Cancels the request. */
  signal?: AbortSignal;
  /** Sent as `client-request-id`; a random UUID when omitted. */
  correlationId?: string;
  /** Extra headers for this request, e.g. `X-AnchorMailbox`. */
  headers?: Record<string, string>;
}

/** A successful token-endpoint answer: the raw JSON plus the correlation id used. */
export interface TokenResponse {
  /** The server's JSON. */
  readonly body: Record<string, unknown>;
  /** The correlation id of the request. */
  readonly correlationId: string;
}

const RETRYABLE = (status: number) => status === 429 || status >= 500;
const UI_REQUIRED_ERRORS = new Set(["invalid_grant", "interaction_required"]);
// MSAL Python's default throttle for a 429/5xx that named no Retry-After.
const DEFAULT_RETRY_THROTTLE_SECONDS = 60;
const MAX_THROTTLED_REQUESTS = 1_000;
const MAX_RETRY_AFTER_SECONDS = 3_600;
const DEFAULT_MAX_RESPONSE_BYTES = 1024 * 1024;

/** How many same-origin redirects a discovery GET follows before it fails. */
const MAX_DISCOVERY_REDIRECTS = 3;

/** Talks to the identity provider. One instance per app, so throttling spans the app's requests. */
export class HttpClient {
  readonly #fetch: typeof fetch;
  readonly #timeoutMs: number;
  readonly #maxRetryAfterSeconds: number;
  readonly #throttleSeconds: number;
  readonly #headers: Record<string, string>;
  readonly #maxResponseBytes: number;
  readonly #now: () => number;
  readonly #throttled = new Map<string, { until: number; result: ErrorResult }>();

  /** Creates a client. */
  constructor(options: HttpClientOptions = {}) {
    this.#fetch = options.fetch ?? ((input, init) => globalThis.fetch(input, init));
    this.#timeoutMs = options.timeoutMs ?? 30_000;
    this.#maxRetryAfterSeconds = options.maxRetryAfterSeconds ?? 60;
    this.#throttleSeconds = options.throttleSeconds ?? 60;
    this.#headers = { "x-client-sku": CLIENT_SKU, "x-client-ver": CLIENT_VERSION, ...options.headers };
    this.#maxResponseBytes = options.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES;
    this.#now = options.now ?? Date.now;
  }

  /**
   * GETs a JSON document (discovery). Resolves with the status and parsed body. Follows at most
   * {@linkcode MAX_DISCOVERY_REDIRECTS} redirects, each within the origin of `url`.
   *
   * @throws {NetworkError} on transport failure, a body that is not JSON or larger than
   *   `maxResponseBytes`, a redirect to another origin, or too many redirects.
   */
  async getJson(url: string, options: RequestOptions = {}): Promise<{ status: number; body: unknown }> {
    const origin = new URL(url).origin;
    let target = url;
    for (let hops = 0;; hops++) {
      const response = await this.#send(target, { method: "GET" }, options);
      if (response.redirect === undefined) {
        if (response.text === undefined) {
          throw new NetworkError(
            `${origin} answered with a body larger than ${this.#maxResponseBytes} bytes`,
          );
        }
        try {
          return { status: response.status, body: JSON.parse(response.text) };
        } catch (cause) {
          throw new NetworkError(`${origin} answered HTTP ${response.status} with a body that is not JSON`, {
            cause,
          });
        }
      }
      const next = response.redirect === null ? undefined : safeUrl(response.redirect, target);
      if (next?.origin !== origin) {
        throw new NetworkError(
          `${origin} redirected discovery (HTTP ${response.status}) to ${
            next ? next.origin : "an invalid location"
          }; discovery follows redirects within its own origin only`,
        );
      }
      if (hops >= MAX_DISCOVERY_REDIRECTS) {
        throw new NetworkError(`${origin} redirected discovery more than ${MAX_DISCOVERY_REDIRECTS} times`);
      }
      target = next.href;
    }
  }

  /**
   * POSTs a form to a token-style endpoint. Protocol failures come back as an {@linkcode ErrorResult}
   * (with `http_status` when the server sent an error page rather than OAuth JSON); only transport
   * failures and aborts throw.
   *
   * @throws {NetworkError} when the server cannot be reached or the request times out.
   * @throws {AbortError} when `options.signal` aborts.
   */
  async postForm(
    url: string,
    form: Record<string, string>,
    options: RequestOptions = {},
  ): Promise<TokenResponse | ErrorResult> {
    const correlationId = options.correlationId ?? crypto.randomUUID();
    const body = { ...form, client_info: "1" };
    const throttleKeys = this.#throttleKeys(url, body);
    const throttled = this.#throttledResult(throttleKeys);
    if (throttled) return { ...throttled, correlation_id: correlationId };

    let attempt = await this.#postOnce(url, body, { ...options, correlationId });
    if (!attempt.ok) {
      const delay = retryDelaySeconds(attempt.status, attempt.retryAfter, this.#maxRetryAfterSeconds);
      if (delay !== undefined) {
        await sleep(delay * 1000, options.signal);
        attempt = await this.#postOnce(url, body, { ...options, correlationId });
      }
    }
    if (attempt.ok) return { body: attempt.body, correlationId };
    this.#throttle(throttleKeys, attempt);
    return attempt.result;
  }

  async #postOnce(
    url: string,
    form: Record<string, string>,
    options: RequestOptions & { correlationId: string },
  ): Promise<PostOutcome> {
    const response = await this.#send(url, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded;charset=utf-8" },
      body: new URLSearchParams(form).toString(),
    }, options);
    const json = response.redirect === undefined && response.text !== undefined
      ? parseJsonObject(response.text)
      : undefined;
    if (response.ok && json && !("error" in json)) return { ok: true, body: json };
    const result: ErrorResult = typeof json?.error === "string" ? { ...json, error: json.error } : {
      error: response.ok ? "invalid_response" : "http_error",
      error_description: response.redirect !== undefined
        ? `The server answered HTTP ${response.status} with a redirect${
          redirectTarget(response.redirect, url)
        }. A request carrying a credential is never sent anywhere but the endpoint the authority named`
        : response.text === undefined
        ? `The server answered with a body larger than ${this.#maxResponseBytes} bytes`
        : response.ok
        ? `The server answered HTTP ${response.status} with a body that is not a token response`
        : `The server answered HTTP ${response.status} ${response.statusText}`.trim(),
    };
    result.correlation_id ??= options.correlationId;
    if (!response.ok) result.http_status ??= response.status;
    return {
      ok: false,
      result,
      status: response.status,
      retryAfter: parseRetryAfter(response.headers.get("retry-after"), this.#now()),
    };
  }

  /**
   * Sends a request without following redirects and reads the whole answer (up to `maxResponseBytes`),
   * so a stall or reset mid-body is a typed error too.
   */
  async #send(url: string, init: RequestInit, options: RequestOptions): Promise<HttpAnswer> {
    if (options.signal?.aborted) throw new AbortError(undefined, { cause: options.signal.reason });
    const timeout = AbortSignal.timeout(this.#timeoutMs);
    const signal = options.signal ? AbortSignal.any([options.signal, timeout]) : timeout;
    const headers = {
      ...this.#headers,
      ...(init.headers as Record<string, string> | undefined),
      ...options.headers,
      "client-request-id": options.correlationId ?? crypto.randomUUID(),
      "return-client-request-id": "true",
      "x-ms-lib-capability": "retry-after, h429",
    };
    try {
      const response = await this.#fetch(url, { ...init, headers, signal, redirect: "manual" });
      const answer = {
        ok: response.ok,
        status: response.status,
        statusText: response.statusText,
        headers: response.headers,
      };
      // A fetch that followed anyway (an injected one may ignore `redirect`) must not have left the origin.
      if (response.redirected && safeUrl(response.url, url)?.origin !== new URL(url).origin) {
        await response.body?.cancel().catch(() => {});
        return { ...answer, ok: false, redirect: response.url };
      }
      if (response.type === "opaqueredirect" || (response.status >= 300 && response.status < 400)) {
        await response.body?.cancel().catch(() => {});
        return { ...answer, ok: false, redirect: response.headers.get("location") };
      }
      return { ...answer, text: await readText(response, this.#maxResponseBytes) };
    } catch (cause) {
      if (options.signal?.aborted) throw new AbortError(undefined, { cause: options.signal.reason });
      const origin = new URL(url).origin;
      if (timeout.aborted) {
        throw new NetworkError(`${origin} did not answer within ${this.#timeoutMs} ms`, { cause });
      }
      throw new NetworkError(`Could not reach ${origin}: ${describeNetworkFailure(cause)}`, { cause });
    }
  }

  // MSAL Python's ThrottledHttpClient keys: 429/5xx per (url, client, scope, "account"); UI-required
  // errors per identical request.
  #throttleKeys(url: string, form: Record<string, string>): { retryKey: string; uiKey: string } {
    const account = form.refresh_token ?? form.code ?? form.username ?? "";
    const sorted = Object.keys(form).sort().map((key) => `${key}=${form[key]}`).join("&");
    return {
      retryKey: `POST ${url} client_id=${form.client_id} scope=${form.scope} account=${account}`,
      uiKey: `POST ${url} ${sorted}`,
    };
  }

  #throttledResult(keys: { retryKey: string; uiKey: string }): ErrorResult | undefined {
    const now = this.#now();
    for (const key of [keys.retryKey, keys.uiKey]) {
      const entry = this.#throttled.get(key);
      if (!entry) continue;
      if (entry.until > now) return entry.result;
      this.#throttled.delete(key);
    }
    return undefined;
  }

  #throttle(keys: { retryKey: string; uiKey: string }, failure: PostFailure): void {
    let key: string;
    let seconds: number;
    if (RETRYABLE(failure.status) || failure.retryAfter !== undefined) {
      key = keys.retryKey;
      seconds = failure.retryAfter ?? DEFAULT_RETRY_THROTTLE_SECONDS;
    } else if (failure.status === 400 && UI_REQUIRED_ERRORS.has(failure.result.error)) {
      key = keys.uiKey;
      seconds = this.#throttleSeconds;
    } else {
      return;
    }
    if (seconds <= 0) return;
    const now = this.#now();
    if (this.#throttled.size >= MAX_THROTTLED_REQUESTS) {
      for (const [stale, entry] of this.#throttled) if (entry.until <= now) this.#throttled.delete(stale);
    }
    this.#throttled.set(key, { until: now + seconds * 1000, result: failure.result });
  }
}

/** A whole HTTP answer: its body, or where it redirects to. */
interface HttpAnswer {
  ok: boolean;
  status: number;
  statusText: string;
  headers: Headers;
  /** The body; absent for a redirect, or when it is larger than the limit. */
  text?: string;
  /** Set (to `Location`, or `null` without one) when the answer is a redirect, which is never followed. */
  redirect?: string | null;
}

interface PostFailure {
  ok: false;
  result: ErrorResult;
  status: number;
  retryAfter?: number;
}
type PostOutcome = { ok: true; body: Record<string, unknown> } | PostFailure;

function parseJsonObject(text: string): Record<string, unknown> | undefined {
  try {
    const json = JSON.parse(text);
    return isJsonObject(json) ? json : undefined;
  } catch {
    return undefined;
  }
}

/** One retry: after `Retry-After` when it is short enough, at once for a 5xx without one; never for others. */
function retryDelaySeconds(status: number, retryAfter: number | undefined, max: number): number | undefined {
  if (retryAfter !== undefined) return RETRYABLE(status) && retryAfter <= max ? retryAfter : undefined;
  return status >= 500 ? 0 : undefined;
}

/** `Retry-After` in seconds (delta or HTTP date), capped at an hour as MSAL Python does. */
function parseRetryAfter(header: string | null, now: number): number | undefined {
  if (!header) return undefined;
  const seconds = Number(header);
  const date = Date.parse(header);
  const parsed = Number.isFinite(seconds) && seconds >= 0
    ? seconds
    : Number.isNaN(date)
    ? undefined
    : Math.max(0, Math.ceil((date - now) / 1000));
  return parsed === undefined ? undefined : Math.min(parsed, MAX_RETRY_AFTER_SECONDS);
}

function safeUrl(location: string, base: string): URL | undefined {
  try {
    return new URL(location, base);
  } catch {
    return undefined;
  }
}

/** Where a redirect points, as an origin only: a `Location` may carry anything in its path or query. */
function redirectTarget(location: string | null | undefined, base: string): string {
  const target = location ? safeUrl(location, base) : undefined;
  return target ? ` to ${target.origin}` : "";
}

/** Reads a body as text, or `undefined` (after cancelling the rest) once it passes `maxBytes`. */
async function readText(response: Response, maxBytes: number): Promise<string | undefined> {
  const declared = Number(response.headers.get("content-length"));
  if (declared > maxBytes || !response.body) {
    await response.body?.cancel().catch(() => {});
    return declared > maxBytes ? undefined : "";
  }
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > maxBytes) {
      await reader.cancel().catch(() => {});
      return undefined;
    }
    chunks.push(value);
  }
  const bytes = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return new TextDecoder().decode(bytes);
}

// Root causes by the codes and messages of Node (undici), Deno (hyper/rustls) and Bun, most specific first.
const NETWORK_FAILURES: readonly { reason: string; pattern: RegExp }[] = [
  { reason: "connection refused", pattern: /ECONNREFUSED|connection refused|unable to connect/i },
  {
    reason: "DNS lookup failed: the host name could not be resolved",
    pattern:
      /ENOTFOUND|EAI_AGAIN|EAI_NONAME|dns error|getaddrinfo|failed to lookup address|name or service not known/i,
  },
  { reason: "port not allowed for fetch", pattern: /bad port|port \d+ (are|is) blocked/i },
  {
    reason: "TLS failed (certificate or handshake)",
    pattern:
      /CERT|certificate|ERR_SSL|ERR_TLS|EPROTO|\bTLS\b|\bSSL\b|handshake|InvalidContentType|corrupt message/i,
  },
  { reason: "connection timed out", pattern: /ETIMEDOUT|CONNECT_TIMEOUT|timed out/i },
  {
    reason: "connection reset",
    pattern: /ECONNRESET|EPIPE|connection reset|socket hang up|other side closed|connection closed/i,
  },
];

/**
 * The root cause of a failed fetch in words, from the whole `cause` chain: Node says only "fetch
 * failed" with the reason two causes down, Deno puts it at the end of a long message.
 */
function describeNetworkFailure(error: unknown): string {
  const parts: string[] = [];
  let innermost = "";
  let innermostCode: string | undefined;
  for (let e = error, depth = 0; e && depth < 8; e = (e as { cause?: unknown }).cause, depth++) {
    const { code, message } = e as { code?: unknown; message?: unknown };
    if (typeof code === "string") {
      parts.push(code);
      innermostCode = code;
    }
    if (typeof message === "string" && message) {
      parts.push(message);
      innermost = message;
    } else if (typeof e !== "object") {
      parts.push(String(e));
      innermost = String(e);
    }
  }
  const text = parts.join(" | ");
  const found = NETWORK_FAILURES.find(({ pattern }) => pattern.test(text));
  // The innermost code (ECONNREFUSED...), else the last clause of the innermost message: the runtime's
  // own wording of the root cause (Deno prefixes it with the whole URL).
  const detail = innermostCode ?? innermost.split(": ").at(-1)?.trim().split("\n")[0] ?? "";
  if (!found) return detail || "the request failed";
  return detail && detail.toLowerCase() !== found.reason.toLowerCase()
    ? `${found.reason} (${detail})`
    : found.reason;
}
