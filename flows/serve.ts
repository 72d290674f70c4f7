/**
 * Serves a Web-standard `fetch` handler on 127.0.0.1 with whichever runtime is running:
 * `Deno.serve`, `Bun.serve`, or `@hono/node-server` on Node. Closing a server also closes every open
 * connection, so a process never hangs on a keep-alive socket after a flow ends.
 *
 * @module
 */

import { PortInUseError } from "../core/errors.ts";
import { detectRuntime, type Runtime } from "../core/platform.ts";
import { serveBun } from "./_serve_bun.ts";
import { serveDeno } from "./_serve_deno.ts";
import { serveNode } from "./_serve_node.ts";
import type { FetchHandler, RunningServer, ServeAdapter } from "./_serve_types.ts";

export type { FetchHandler, RunningServer } from "./_serve_types.ts";

/** Where and how to serve. */
export interface ServeOptions {
  /** The port to listen on; 0 (the default) picks a free ephemeral port. */
  port?: number;
  /** The interface to bind; defaults to `127.0.0.1`. Never bind anything wider for a redirect. */
  hostname?: string;
}

function isAddressInUse(error: unknown): boolean {
  const e = error as { code?: string; name?: string; message?: string } | null;
  return e?.code === "EADDRINUSE" || e?.name === "AddrInUse" ||
    /address.*in use|EADDRINUSE/i.test(e?.message ?? "");
}

const adapters: Record<Runtime, ServeAdapter> = { deno: serveDeno, bun: serveBun, node: serveNode };

/**
 * Serves `handler` and resolves once the server is listening.
 *
 * @param handler the request handler, e.g. a hono app's `fetch`
 * @param options the port (0, the default: an ephemeral one) and the interface (`127.0.0.1`)
 * @returns the running server, with the port it listens on; `close()` it when done
 * @throws {PortInUseError} when a requested port is taken.
 * @throws the runtime's own error for any other failure to listen, e.g. Deno's `PermissionDenied`
 * without `--allow-net`.
 * @example
 * ```ts
 * const server = await serve((req) => new Response("hi"), { port: 0 });
 * const url = `http://127.0.0.1:${server.port}/`;
 * await server.close();
 * ```
 */
export async function serve(handler: FetchHandler, options: ServeOptions = {}): Promise<RunningServer> {
  const port = options.port ?? 0;
  const hostname = options.hostname ?? "127.0.0.1";
  try {
    return await adapters[detectRuntime()](handler, port, hostname);
  } catch (error) {
    if (isAddressInUse(error)) throw new PortInUseError(port, { cause: error });
    throw error;
  }
}
