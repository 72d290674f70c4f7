/**
 * A Web-standard `fetch` handler served on 127.0.0.1, the same way in Deno, Bun and Node: the adapter
 * the loopback redirect listener runs on, made public for tests, for the servers they need beside
 * `FakeAuthority` (which is served with it too): a fake resource API that checks the access token, a
 * server that misbehaves on purpose. It is not a web framework; pass it a hono app's `fetch` for routing.
 *
 * The server binds the loopback interface (127.0.0.1 unless `hostname` says otherwise) on an ephemeral
 * port unless `port` names one, and `close()` also closes every open connection, so no keep-alive socket
 * holds a test process open after it ends. A port that is taken throws `PortInUseError` (exported by the
 * main entry). It never prints: a handler that throws is answered with a bare 500, unless `onError`
 * records the error or returns the answer.
 *
 * @example A fake resource API that echoes the caller's token
 * ```ts
 * import { serve } from "@authbroker/msal/serve";
 *
 * const api = await serve((request) => Response.json({ authorization: request.headers.get("authorization") }));
 * try {
 *   const answer = await fetch(`http://127.0.0.1:${api.port}/me`, { headers: { authorization: "Bearer t" } });
 *   const body: { authorization: string | null } = await answer.json();
 * } finally {
 *   await api.close();
 * }
 * ```
 *
 * @module
 */

export {
  type FetchHandler,
  type RunningServer,
  serve,
  type ServeErrorHandler,
  type ServeOptions,
} from "./flows/serve.ts";
