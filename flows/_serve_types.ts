/**
 * What every runtime adapter of `serve()` shares: the request handler and running-server types, and
 * the one signature each adapter implements. The handler an adapter gets never throws: `serve()`
 * answers its failures.
 *
 * @module
 */

/** A Web-standard request handler, such as a hono app's `fetch`. */
export type FetchHandler = (request: Request) => Response | Promise<Response>;

/** A running server. */
export interface RunningServer {
  /** The port the server listens on. */
  readonly port: number;
  /** The interface the server is bound to. */
  readonly hostname: string;
  /** Stops listening and closes every connection, idle or not. */
  close(): Promise<void>;
}

/** Starts `handler` on `hostname:port` (0: ephemeral); rejects or throws when it cannot listen. */
export type ServeAdapter = (
  handler: FetchHandler,
  port: number,
  hostname: string,
) => RunningServer | Promise<RunningServer>;
