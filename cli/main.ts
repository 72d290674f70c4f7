#!/usr/bin/env node
/**
 * The `authbroker` executable: `npx authbroker`, `bunx authbroker`, `deno run -A
 * jsr:@authbroker/msal/cli`, or the single-file binary from `npm run compile`. Ctrl-C aborts the
 * pending request (the loopback listener, the broker call, the device-code polling) and exits 130.
 *
 * @example
 * ```sh
 * authbroker token --client-id 04b07795-8ddb-461a-bbee-02f9e1bf7b46 --scope https://graph.microsoft.com/.default
 * ```
 *
 * @module
 */

import process from "node:process";
import { EXIT_INTERRUPTED } from "./exit_codes.ts";
import { run, type Terminal } from "./run.ts";

const controller = new AbortController();
// `on`, not `once`: Deno restores the default action (die by the signal) when the last listener goes.
process.on("SIGINT", () => {
  if (controller.signal.aborted) process.exit(EXIT_INTERRUPTED); // a second Ctrl-C
  controller.abort();
  process.stderr.write("\nCancelled.\n");
  // Whatever was pending has been told to stop; do not wait for a slow server to notice.
  setTimeout(() => process.exit(EXIT_INTERRUPTED), 2000).unref?.();
});

const terminal: Terminal = {
  out: (text) => void process.stdout.write(text),
  err: (text) => void process.stderr.write(text),
  interactive: process.stderr.isTTY === true,
  env: process.env,
};

const code = await run(process.argv.slice(2), terminal, controller.signal);
await new Promise<void>((resolve) => process.stdout.write("", () => resolve()));
process.exit(controller.signal.aborted ? EXIT_INTERRUPTED : code);
