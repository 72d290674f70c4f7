/** `serve()` on Node: `@hono/node-server`, loaded on first use, every connection closed on close. */

import type { FetchHandler, RunningServer } from "./_serve_types.ts";

/** Serves with `@hono/node-server`. */
export async function serveNode(
  handler: FetchHandler,
  port: number,
  hostname: string,
): Promise<RunningServer> {
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
        // Idle keep-alive sockets would otherwise keep the process alive after sign-in.
        (server as { closeAllConnections?: () => void }).closeAllConnections?.();
      });
    },
  };
}
