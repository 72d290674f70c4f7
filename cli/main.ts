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

import { realpathSync } from "node:fs";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { EXIT_INTERRUPTED } from "./exit_codes.ts";
import { run, type Terminal } from "./run.ts";

export { run, type Terminal } from "./run.ts";

/**
 * What the executable does: runs the command line `argv` (without the program name) on the process's
 * stdout and stderr, with Ctrl-C aborting the pending request, and resolves with the exit code
 * (130 when interrupted). It exits the process only on a second Ctrl-C, or when the cancelled request
 * has not stopped 2 s after the first; {@linkcode run} is the same with your own output and abort signal.
 *
 * @param argv The command line without the program name, e.g. `["token", "--scope", "User.Read"]`.
 * @returns The exit code: 0 on success, 1 failed, 2 usage, 3 user action needed, 4 network, 130 interrupted.
 *
 * @example
 * ```ts
 * import { main } from "./main.ts";
 *
 * const code = await main(["doctor", "--json"]);
 * ```
 */
export async function main(argv: string[]): Promise<number> {
  const controller = new AbortController();
  // `on`, not `once`: Deno restores the default action (die by the signal) when the last listener goes.
  const onInterrupt = (): void => {
    if (controller.signal.aborted) process.exit(EXIT_INTERRUPTED); // a second Ctrl-C
    controller.abort();
    process.stderr.write("\nCancelled.\n");
    // Whatever was pending has been told to stop; do not wait for a slow server to notice.
    setTimeout(() => process.exit(EXIT_INTERRUPTED), 2000).unref?.();
  };
  process.on("SIGINT", onInterrupt);
  try {
    const terminal: Terminal = {
      out: (text) => void process.stdout.write(text),
      err: (text) => void process.stderr.write(text),
      interactive: process.stderr.isTTY === true,
      env: process.env,
    };
    const code = await run(argv, terminal, controller.signal);
    await new Promise<void>((resolve) => process.stdout.write("", () => resolve()));
    return controller.signal.aborted ? EXIT_INTERRUPTED : code;
  } finally {
    process.off("SIGINT", onInterrupt);
  }
}

/**
 * Whether this module is the program being run, not an import: `import.meta.main` where the runtime
 * has it (Deno, Bun and its compiled binaries, Node 24.2+), else (older Node) the script Node was
 * given, symlinks resolved as for npm's `node_modules/.bin/authbroker`.
 */
function isProgram(): boolean {
  const meta = import.meta as ImportMeta & { main?: boolean };
  if (typeof meta.main === "boolean") return meta.main;
  const script = process.argv[1];
  if (!script || !import.meta.url.startsWith("file:")) return false;
  try {
    return realpathSync(script) === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}

if (isProgram()) process.exit(await main(process.argv.slice(2)));
