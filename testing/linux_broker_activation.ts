/**
 * D-Bus activation of the fake Linux broker: a `.service` entry for {@linkcode startPrivateBus} that
 * starts a {@linkcode FakeLinuxBroker} in a process of its own on the first call to
 * `com.microsoft.identity.broker1`, as `/usr/share/dbus-1/services/com.microsoft.identity.broker1.service`
 * does for the real broker.
 *
 * @module
 */

import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import process from "node:process";
import { fileURLToPath, pathToFileURL } from "node:url";
import { LINUX_BROKER_NAME } from "./linux_broker.ts";
import type { ActivatableService } from "./private_bus.ts";
import type { LinuxBrokerServiceOptions } from "./_types.ts";

export type { LinuxBrokerServiceOptions } from "./_types.ts";

// The kit's entry module: beside this file in a source checkout or on JSR (mod.ts), in dist/testing/ of
// the npm build (mod.js), whose shared chunks live in dist/.
function kitEntry(): URL {
  const here = new URL(import.meta.url);
  const candidates = here.pathname.endsWith(".ts") ? ["./mod.ts"] : ["./mod.js", "./testing/mod.js"];
  for (const candidate of candidates) {
    const url = new URL(candidate, here);
    if (url.protocol !== "file:" || existsSync(fileURLToPath(url))) return url;
  }
  throw new Error(`The test kit's entry module is missing next to ${here.href}`);
}

// The program the service runs: start a broker with `options` on the bus that activated it. One line of
// plain characters (the settings travel in base64), as a .service file's Exec= line wants.
function program(entry: URL, options: LinuxBrokerServiceOptions): string {
  const { requestLog, ...brokerOptions } = options;
  const settings = JSON.stringify({ entry: entry.href, log: requestLog ?? null, options: brokerOptions });
  const bytes = new TextEncoder().encode(settings);
  const base64 = btoa(Array.from(bytes, (byte) => String.fromCharCode(byte)).join(""));
  return [
    `const s = JSON.parse(new TextDecoder().decode(Uint8Array.from(atob("${base64}"), (c) => c.charCodeAt(0))));`,
    `const { FakeLinuxBroker } = await import(s.entry);`,
    `const { appendFileSync } = await import("node:fs");`,
    `const { env } = (await import("node:process")).default;`,
    `const line = (r) => JSON.stringify(r) + String.fromCharCode(10);`,
    `await FakeLinuxBroker.start({ ...s.options, address: env.DBUS_STARTER_ADDRESS ?? env.DBUS_SESSION_BUS_ADDRESS,`,
    `onRequest: s.log ? (r) => appendFileSync(s.log, line(r)) : undefined });`,
  ].join(" ");
}

// The command line evaluating `code` with the runtime running the tests, from any working directory.
function runtimeCommand(entry: URL, code: string): string[] {
  if ("Deno" in globalThis) {
    const config = entry.protocol === "file:" ? fileURLToPath(new URL("../deno.json", entry)) : "";
    return [process.execPath, "eval", ...(config && existsSync(config) ? ["--config", config] : []), code];
  }
  if ("Bun" in globalThis) return [process.execPath, "-e", code];
  const tsx = entry.pathname.endsWith(".ts")
    ? ["--import", pathToFileURL(createRequire(import.meta.url).resolve("tsx")).href]
    : [];
  return [process.execPath, ...tsx, "--input-type=module", "-e", code];
}

/**
 * The activatable service of a fake Linux broker, for {@linkcode startPrivateBus}'s `services`: the bus
 * starts it (with the runtime running the tests) when a message is first sent to
 * `com.microsoft.identity.broker1`, so a client sees the name as activatable
 * (`ListActivatableNames`) before it is owned, as with a real installed broker. The activated broker
 * runs until the bus stops.
 *
 * @example
 * ```ts
 * import { linuxBrokerService, startPrivateBus } from "@authbroker/msal/testing";
 *
 * const bus = await startPrivateBus({
 *   services: [linuxBrokerService({ profile: "2.0.1", exportDelayMs: 300, requestLog: "/tmp/calls.jsonl" })],
 * });
 * // the first getAccounts call starts the broker; during its first 300 ms calls get UnknownObject
 * ```
 *
 * @param options the broker's profile, accounts, default account, environment, token lifetime (seconds),
 *   start-up race (`exportDelayMs`, milliseconds) and a `requestLog` file (one JSON call per line).
 * @returns the service for `services`: the name `com.microsoft.identity.broker1` and the command line
 *   that starts the broker.
 * @throws {Error} when the kit's entry module cannot be found.
 */
export function linuxBrokerService(options: LinuxBrokerServiceOptions = {}): ActivatableService {
  const entry = kitEntry();
  return { name: LINUX_BROKER_NAME, exec: runtimeCommand(entry, program(entry, options)) };
}
