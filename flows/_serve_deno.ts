/** `serve()` on Deno: `Deno.serve`, aborted and shut down on close. */

import type { FetchHandler, RunningServer } from "./_serve_types.ts";

interface DenoServe {
  serve(
    options: {
      port: number;
      hostname: string;
      onListen?: () => void;
      signal?: AbortSignal;
    },
    handler: FetchHandler,
  ): { addr: { port: number }; shutdown(): Promise<void> };
}

/** Serves with `Deno.serve`. */
export function serveDeno(handler: FetchHandler, port: number, hostname: string): RunningServer {
  const deno = (globalThis as unknown as { Deno: DenoServe }).Deno;
  const controller = new AbortController();
  // onListen prints by default.
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
