/** `serve()` on Bun: `Bun.serve`, stopped with its active connections on close. */

import type { FetchHandler, RunningServer } from "./_serve_types.ts";

interface BunServe {
  serve(options: { port: number; hostname: string; fetch: FetchHandler }): {
    port: number;
    stop(closeActiveConnections?: boolean): Promise<void> | void;
  };
}

/** Serves with `Bun.serve`. */
export function serveBun(handler: FetchHandler, port: number, hostname: string): RunningServer {
  const bun = (globalThis as unknown as { Bun: BunServe }).Bun;
  const server = bun.serve({ port, hostname, fetch: handler });
  return {
    port: server.port,
    hostname,
    async close() {
      // `true` closes keep-alive sockets too: a process must not hang on one after sign-in.
      await server.stop(true);
    },
  };
}
