/**
 * Serves a Web-standard `fetch` handler on 127.0.0.1 with whichever runtime is running:
 * `Deno.serve`, `Bun.serve`, or `@hono/node-server` on Node. Closing a server also closes every open
 * connection, so a process never hangs on a keep-alive socket after a flow ends.
 *
 * @module
 */

import { PortInUseError } from "../core/errors.ts";

/** A Web-standard request handler, such as a hono app's `fetch`. */
export type FetchHandler = (request: Request) => Response | Promise<Response>;

/** Where and how to serve. */
export interface ServeOptions {
  /** The port to listen on; 0 (the default) picks a free ephemeral port. */
  port?: number;
  /** The interface to bind; defaults to `127.0.0.1`. Never bind anything wider for a redirect. */
  hostname?: string;
}

/** A running server. */
export interface RunningServer {
  /** The port the server listens on. */
  readonly port: number;
  /** The interface the server is bound to. */
  readonly hostname: string;
  /** Stops listening and closes every connection, idle or not. */
  close(): Promise<void>;
}

interface DenoServer {
  addr: { port: number };
  shutdown(): Promise<void>;
}
interface DenoLike {
  serve(
    options: { port: number; hostname: string; onListen?: () => void; signal?: AbortSignal },
    handler: FetchHandler,
  ): DenoServer;
}
interface BunServer {
  port: number;
  stop(closeActiveConnections?: boolean): Promise<void> | void;
}
interface BunLike {
  serve(options: { port: number; hostname: string; fetch: FetchHandler }): BunServer;
}

function isAddressInUse(error: unknown): boolean {
  const e = error as { code?: string; name?: string; message?: string } | null;
  return e?.code === "EADDRINUSE" || e?.name === "AddrInUse" ||
    /address.*in use|EADDRINUSE/i.test(e?.message ?? "");
}

/**
 * Serves `handler` and resolves once the server is listening.
 *
 * @throws {PortInUseError} when a requested port is taken.
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
  const runtime = globalThis as { Deno?: DenoLike; Bun?: BunLike };
  try {
    if (runtime.Deno) return serveDeno(runtime.Deno, handler, port, hostname);
    if (runtime.Bun) return serveBun(runtime.Bun, handler, port, hostname);
    return await serveNode(handler, port, hostname);
  } catch (error) {
    if (isAddressInUse(error)) throw new PortInUseError(port, { cause: error });
    throw error;
  }
}

function serveDeno(deno: DenoLike, handler: FetchHandler, port: number, hostname: string): RunningServer {
  const controller = new AbortController();
  const server = deno.serve({ port, hostname, signal: controller.signal, onListen: () => {} }, handler);
  return {
    port: server.addr.port,
    hostname,
    async close() {
      controller.abort();
      await server.shutdown().catch(() => {});
    },
  };
}

function serveBun(bun: BunLike, handler: FetchHandler, port: number, hostname: string): RunningServer {
  const server = bun.serve({ port, hostname, fetch: handler });
  return {
    port: server.port,
    hostname,
    async close() {
      await server.stop(true);
    },
  };
}

async function serveNode(handler: FetchHandler, port: number, hostname: string): Promise<RunningServer> {
  const { createAdaptorServer } = await import("@hono/node-server");
  const server = createAdaptorServer({ fetch: handler, hostname, port });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, hostname, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const address = server.address();
  return {
    port: typeof address === "object" && address ? address.port : port,
    hostname,
    close() {
      return new Promise<void>((resolve) => {
        server.close(() => resolve());
        (server as { closeAllConnections?: () => void }).closeAllConnections?.();
      });
    },
  };
}
