// A small identity provider for tests of authority types the fake authority does not play (B2C, ADFS,
// CIAM, generic OIDC): it serves one OpenID configuration and a token endpoint on 127.0.0.1, and its
// `fetch` sends requests for the public origin there. Unsigned JWTs: the library reads, never verifies.
import { Hono } from "hono";
import { type RunningServer, serve } from "../serve.ts";

/** A request the mini identity provider received. */
export interface MiniRequest {
  method: string;
  /** The public URL. */
  url: string;
  form: Record<string, string>;
}

/** How the mini identity provider answers. */
export interface MiniIdpOptions {
  /** Public origin, e.g. `https://fabrikamb2c.b2clogin.com`. */
  origin: string;
  /** Path of the OpenID configuration (case-insensitive). */
  configurationPath: string;
  /** The OpenID configuration it serves. */
  metadata: Record<string, unknown>;
  /** Answers a POST to the metadata's `token_endpoint`; a number is an error status. */
  token: (form: Record<string, string>) => Record<string, unknown> | Promise<Record<string, unknown>>;
  /** Answers other requests (e.g. userinfo), or `undefined` for 404. */
  other?: (request: Request, url: URL) => Response | undefined | Promise<Response | undefined>;
}

const encoder = new TextEncoder();

/** Base64url of a string's UTF-8 bytes, unpadded. */
export function b64url(text: string): string {
  let binary = "";
  for (const byte of encoder.encode(text)) binary += String.fromCharCode(byte);
  return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

/** An unsigned JWT carrying `claims`. */
export function jwt(claims: Record<string, unknown>): string {
  return `${b64url(JSON.stringify({ typ: "JWT", alg: "RS256", kid: "k" }))}.${
    b64url(JSON.stringify(claims))
  }.c2ln`;
}

/** Entra's `client_info`. */
export function clientInfo(uid: string, utid: string): string {
  return b64url(JSON.stringify({ uid, utid }));
}

/** The mini identity provider; `close()` it when done. */
export class MiniIdp {
  readonly requests: MiniRequest[] = [];
  readonly fetch: typeof fetch;
  readonly #server: RunningServer;
  readonly #local: string;

  private constructor(server: RunningServer, options: MiniIdpOptions) {
    this.#server = server;
    this.#local = `http://127.0.0.1:${server.port}`;
    const origin = new URL(options.origin).origin;
    this.fetch = (async (input: RequestInfo | URL, init?: RequestInit) => {
      const request = new Request(input, init);
      const url = new URL(request.url);
      if (url.origin !== origin) throw new TypeError(`mini idp: unexpected request to ${url.href}`);
      const body = request.method === "GET" ? undefined : await request.text();
      const form = body && /x-www-form-urlencoded/.test(request.headers.get("content-type") ?? "")
        ? Object.fromEntries(new URLSearchParams(body))
        : {};
      this.requests.push({ method: request.method, url: url.href, form });
      return await globalThis.fetch(this.#local + url.pathname + url.search, {
        method: request.method,
        headers: request.headers,
        body,
      });
    }) as typeof fetch;
  }

  /** Starts serving `options`. */
  static async start(options: MiniIdpOptions): Promise<MiniIdp> {
    const app = new Hono();
    const tokenPath = new URL(String(options.metadata.token_endpoint)).pathname.toLowerCase();
    app.all("*", async (c) => {
      const url = new URL(c.req.url);
      const path = url.pathname.toLowerCase();
      if (c.req.method === "GET" && path === options.configurationPath.toLowerCase()) {
        return c.json(options.metadata);
      }
      if (c.req.method === "POST" && path === tokenPath) {
        const form = Object.fromEntries(new URLSearchParams(await c.req.text()));
        return c.json(await options.token(form));
      }
      return await options.other?.(c.req.raw, url) ?? c.json({ error: "not_found" }, 404);
    });
    const server = await serve((request) => app.fetch(request));
    return new MiniIdp(server, options);
  }

  /** Requests to the token endpoint so far. */
  get tokenRequests(): MiniRequest[] {
    return this.requests.filter((r) => r.method === "POST");
  }

  /** Stops serving. */
  close(): Promise<void> {
    return this.#server.close();
  }
}
