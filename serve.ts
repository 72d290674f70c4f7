/**
 * A Web-standard `fetch` handler served on 127.0.0.1, the same way in Deno, Bun and Node: the adapter
 * the loopback redirect listener runs on, for the servers your own tests need (a fake resource API that
 * checks the access token, a server that misbehaves on purpose). The testing kit's `FakeAuthority` is
 * served with it too.
 *
 * The server binds 127.0.0.1 on an ephemeral port unless told otherwise, and `close()` also closes every
 * open connection, so no keep-alive socket holds a test process open after it ends. A port that is taken
 * throws `PortInUseError` (exported by the main entry).
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

export { type FetchHandler, type RunningServer, serve, type ServeOptions } from "./flows/serve.ts";
