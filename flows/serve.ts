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
  /**
   * Answers a request whose handler threw or rejected, like hono's `app.onError`: record the error (a
   * test's server would otherwise fail without a trace) and return the answer, or nothing for a bare
   * 500. Without it the answer is that bare 500, and nothing is printed either way. What `onError`
   * itself throws is answered with the bare 500 too.
   */
  onError?: ServeErrorHandler;
}

/**
 * What {@linkcode ServeOptions.onError} is: it gets the error and the request that led to it, and
 * returns the answer, or nothing for a bare 500.
 */
export type ServeErrorHandler = (
  error: unknown,
  request: Request,
) => Response | void | Promise<Response | void>;

/** The answer to a request whose handler threw, when `onError` gives none: a bare 500. */
function internalError(): Response {
  return new Response(null, { status: 500 });
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
 * @param options the port (0, the default: an ephemeral one), the interface (`127.0.0.1`), and
 *   `onError`, the answer to a handler that threw
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
  const { onError } = options;
  // Answered here, the one place, rather than by each runtime's own hook: those differ (Node's answers
  // an error named TimeoutError with 504; Deno and Bun print what they catch) and never see the request.
  const guarded: FetchHandler = async (request) => {
    try {
      return await handler(request);
    } catch (error) {
      try {
        return await onError?.(error, request) ?? internalError();
      } catch {
        return internalError();
      }
    }
  };
  try {
    return await adapters[detectRuntime()](guarded, port, hostname);
  } catch (error) {
    if (isAddressInUse(error)) throw new PortInUseError(port, { cause: error });
    throw error;
  }
}
