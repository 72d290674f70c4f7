/**
 * The `authbroker` command line: parses arguments with `node:util`'s `parseArgs` (the same in Deno,
 * Bun and Node), runs one command, and turns what happened into an exit code.
 *
 * @module
 */

import { parseArgs, type ParseArgsConfig } from "node:util";
import { VERSION } from "../mod.ts";
import { EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE } from "./exit_codes.ts";
import { accounts, logout } from "./accounts.ts";
import type { AppSettings } from "./_app.ts";
import { cachePaths } from "./_paths.ts";
import { exitCodeOfException, reportException, UsageError } from "./_report.ts";
import type { Terminal } from "./_terminal.ts";
import { token } from "./token.ts";

export type { Terminal } from "./_terminal.ts";

/** The text `authbroker --help` prints. */
const USAGE: string =
  `authbroker: Microsoft Entra ID tokens from the command line, with OS broker single sign-on.

Usage:
  authbroker token --client-id ID --scope S [--scope S2 ...] [--authority URL] [--broker]
                   [--device-code] [--username U] [--silent] [--json]
  authbroker accounts [--client-id ID [--authority URL] [--broker]] [--username U] [--json]
  authbroker logout --client-id ID [--authority URL] [--broker] [--username U]
  authbroker doctor [--client-id ID] [--json]
  authbroker demo
  authbroker --version | -V
  authbroker --help | -h

token     Prints an access token: from the cache or the broker silently, else after signing in
          through the broker, the browser, or (--device-code) a code entered on another device.
          --json prints the whole result. --silent never asks the person (exit 3 when needed).
accounts  Lists signed-in accounts: every account in the cache, or (with --client-id) the app's,
          including the broker's accounts with --broker.
logout    Signs the app's accounts (or --username's) out of the cache, and out of the broker for
          broker accounts.
doctor    What this machine offers: runtime, OS, session bus, each broker opt-in flag, redirect
          URIs, the cache, and what an app falls back to. Each problem line ends with its fix.
demo      Runs the whole story offline: a fake identity provider, a fake Linux broker on a private
          D-Bus, the console sample, and the four broker fallback rules.

Options:
  --client-id ID    the app (client) id; env AUTHBROKER_CLIENT_ID
  --authority URL   default https://login.microsoftonline.com/common; env AUTHBROKER_AUTHORITY.
                    Plain http is accepted only for 127.0.0.1 / localhost (a local test authority).
  --broker          opt in to the OS broker (all four enableBrokerOn* flags)
  --verbose, -v     the library's log lines on stderr (no personal data)
  --cache-dir DIR   where the token cache lives; env AUTHBROKER_CACHE_DIR. Default: $XDG_CACHE_HOME
                    or ~/.cache + /authbroker (macOS ~/Library/Caches, Windows %LOCALAPPDATA%)
Each option takes one value, given once; only --scope may be repeated.

stdout carries only the answer; messages and progress go to stderr (progress only on a terminal).

Exit codes: 0 ok; 1 refused by the identity provider or broker; 2 bad usage; 3 a person must act
(sign in, consent, install a dependency); 4 network or service unavailable; 130 interrupted.
`;

const COMMON = {
  "client-id": { type: "string" },
  authority: { type: "string" },
  broker: { type: "boolean" },
  username: { type: "string" },
  json: { type: "boolean" },
  verbose: { type: "boolean", short: "v" },
  "cache-dir": { type: "string" },
  help: { type: "boolean", short: "h" },
} as const satisfies ParseArgsConfig["options"];

const DOCTOR = {
  "client-id": COMMON["client-id"],
  json: COMMON.json,
  "cache-dir": COMMON["cache-dir"],
  help: COMMON.help,
} as const satisfies ParseArgsConfig["options"];

const TOKEN = {
  ...COMMON,
  scope: { type: "string", multiple: true },
  "device-code": { type: "boolean" },
  silent: { type: "boolean" },
} as const satisfies ParseArgsConfig["options"];

/**
 * Runs the command line `args` (without the program name) and resolves with the exit code. Never
 * rejects: failures are written to `terminal` and mapped to an exit code. `signal` is Ctrl-C.
 *
 * @param args The command line without the program name, e.g. `["accounts", "--json"]`.
 * @param terminal Where the answer (stdout) and messages (stderr) go, and the environment read.
 * @param signal Aborts the pending request (listener, broker call, device-code polling).
 * @returns The exit code: 0 on success, 1 failed, 2 usage, 3 user action needed, 4 network, 130 interrupted.
 */
export async function run(args: string[], terminal: Terminal, signal: AbortSignal): Promise<number> {
  const [command, ...rest] = args;
  try {
    switch (command) {
      case "token":
        return await runToken(rest, terminal, signal);
      case "accounts": {
        const { values } = parse(rest, COMMON);
        if (values.help) return help(terminal);
        const clientId = clientIdOf(values, terminal);
        if (!clientId && (values.authority || values.broker)) {
          throw new UsageError("--authority and --broker choose an app's accounts: add --client-id");
        }
        return await accounts(
          {
            ...settings(values, terminal),
            clientId,
            username: values.username,
            json: values.json,
          },
          terminal,
          signal,
        );
      }
      case "logout": {
        const { values } = parse(rest, COMMON);
        if (values.help) return help(terminal);
        return await logout(
          {
            ...settings(values, terminal),
            clientId: requiredClientId(values, terminal),
            username: values.username,
          },
          terminal,
          signal,
        );
      }
      case "doctor": {
        const { values } = parse(rest, DOCTOR);
        if (values.help) return help(terminal);
        const { doctor } = await import("./doctor.ts");
        return await doctor(
          {
            clientId: clientIdOf(values, terminal),
            paths: cachePaths(terminal.env, values["cache-dir"]),
            json: values.json,
          },
          terminal,
          signal,
        );
      }
      case "demo": {
        parse(rest, {});
        const { demo } = await import("./demo.ts");
        return await demo(terminal, signal);
      }
      case undefined:
        // Nothing to do is a usage error (exit 2), as an unknown command is; asking for help is not.
        terminal.err(USAGE);
        return EXIT_USAGE;
      case "help":
      case "--help":
      case "-h":
        return help(terminal);
      case "--version":
      case "-V":
        parse(rest, {});
        terminal.out(`${VERSION}\n`);
        return EXIT_OK;
      default:
        throw new UsageError(`Unknown command "${command}". Run authbroker --help.`);
    }
  } catch (error) {
    if (signal.aborted) return EXIT_INTERRUPTED;
    if (error instanceof UsageError) {
      terminal.err(`authbroker: ${error.message}\n`);
      return EXIT_USAGE;
    }
    reportException(terminal, error, args.includes("--json"));
    return exitCodeOfException(error);
  }
}

async function runToken(args: string[], terminal: Terminal, signal: AbortSignal): Promise<number> {
  const { values } = parse(args, TOKEN);
  if (values.help) return help(terminal);
  const clientId = requiredClientId(values, terminal);
  const scopes = (values.scope ?? []).flatMap((scope) => scope.split(/\s+/)).filter(Boolean);
  if (scopes.length === 0) throw new UsageError("--scope is required, e.g. --scope User.Read");
  if (values["device-code"] && values.silent) {
    throw new UsageError("--device-code and --silent exclude each other");
  }
  return await token(
    {
      ...settings(values, terminal),
      clientId,
      scopes,
      deviceCode: values["device-code"],
      username: values.username,
      silent: values.silent,
      json: values.json,
    },
    terminal,
    signal,
  );
}

/**
 * `args` read against `options`. `parseArgs` keeps the last of a repeated option; here a value given
 * twice (`--client-id a --client-id b`) is bad usage, since which one the person meant is unknown.
 */
function parse<O extends NonNullable<ParseArgsConfig["options"]>>(args: string[], options: O) {
  let parsed;
  try {
    parsed = parseArgs({ args, options, strict: true, allowPositionals: false, tokens: true });
  } catch (error) {
    throw new UsageError(`${(error as Error).message.replace(/\.$/, "")}. Run authbroker --help.`);
  }
  const seen = new Set<string>();
  for (const token of parsed.tokens) {
    if (token.kind !== "option" || token.value === undefined) continue;
    if (seen.has(token.name)) {
      throw new UsageError(`--${token.name} is given more than once. Run authbroker --help.`);
    }
    if (!options[token.name]?.multiple) seen.add(token.name);
  }
  return parsed;
}

/** The options every command shares. */
interface CommonValues {
  "client-id"?: string;
  authority?: string;
  broker?: boolean;
  verbose?: boolean;
  "cache-dir"?: string;
}

function clientIdOf(values: CommonValues, terminal: Terminal): string | undefined {
  return values["client-id"] || terminal.env.AUTHBROKER_CLIENT_ID || undefined;
}

function requiredClientId(values: CommonValues, terminal: Terminal): string {
  const clientId = clientIdOf(values, terminal);
  if (!clientId) throw new UsageError("--client-id is required (or set AUTHBROKER_CLIENT_ID)");
  return clientId;
}

function settings(values: CommonValues, terminal: Terminal): Omit<AppSettings, "clientId"> {
  return {
    authority: values.authority ?? terminal.env.AUTHBROKER_AUTHORITY,
    broker: values.broker,
    verbose: values.verbose,
    paths: cachePaths(terminal.env, values["cache-dir"]),
  };
}

function help(terminal: Terminal): number {
  terminal.out(USAGE);
  return EXIT_OK;
}
