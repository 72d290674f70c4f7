/**
 * Builds the `PublicClientApplication` a command uses: the persisted token cache, the broker flags, and
 * a logger to stderr for `--verbose`.
 *
 * @module
 */

import { BrokerDependencyError, type Logger, PublicClientApplication, TokenCache } from "../mod.ts";
import { FileCachePlugin } from "../persistence/mod.ts";
import type { CachePaths } from "./_paths.ts";
import type { Terminal } from "./_terminal.ts";

/** Microsoft's multi-tenant authority: MSAL's default. */
export const DEFAULT_AUTHORITY = "https://login.microsoftonline.com/common";

/** What a command needs to build its app. */
export interface AppSettings {
  /** The app's client id. */
  clientId: string;
  /** The authority; {@linkcode DEFAULT_AUTHORITY} when absent. */
  authority?: string;
  /** Opt in to the broker on every platform (the four `enableBrokerOn*` flags). */
  broker?: boolean;
  /** Where the caches live. */
  paths: CachePaths;
  /** Log lines go to stderr. */
  verbose?: boolean;
}

/**
 * Creates the app; the caller closes it (`app.close()` releases the broker). With `broker`, a missing plugin dependency rejects here (rule 2).
 *
 * @throws {BrokerDependencyError} when `broker` is set and the platform's plugin dependency is missing; it
 *   names the global install of the command with the package (`npm install -g @authbroker/msal dbus-next`).
 * @throws {ConfigurationError} for a malformed authority.
 */
export async function openApp(settings: AppSettings, terminal: Terminal): Promise<PublicClientApplication> {
  const broker = settings.broker === true;
  const authority = settings.authority ?? DEFAULT_AUTHORITY;
  try {
    return await PublicClientApplication.create(settings.clientId, {
      authority,
      // A local test authority (plain http is allowed only on loopback) has no Microsoft instance
      // discovery; turning it off also lets a cached token be served with no request at all.
      instanceDiscovery: isLoopback(authority) ? false : undefined,
      tokenCache: persistedCache(settings.paths.tokenCache, terminal),
      logger: settings.verbose ? stderrLogger(terminal) : undefined,
      enableBrokerOnWindows: broker,
      enableBrokerOnWsl: broker,
      enableBrokerOnMac: broker,
      enableBrokerOnLinux: broker,
    });
  } catch (error) {
    if (error instanceof BrokerDependencyError) throw commandDependencyError(error);
    throw error;
  }
}

/**
 * The same error, naming the command that installs the package where `authbroker` itself is installed:
 * the library's `npm install dbus-next` is for an app's project, which the command does not have.
 */
function commandDependencyError(error: BrokerDependencyError): BrokerDependencyError {
  const pkg = error.installCommand.split(" ").pop()!.replace(/^npm:/, "");
  return new BrokerDependencyError(commandInstall(pkg), { cause: error });
}

/**
 * The command that installs the npm package `pkg` next to the `authbroker` command: a global install
 * with it for Node and Bun; for Deno, which resolves npm packages for the script it runs, `deno add`.
 */
export function commandInstall(pkg: string): string {
  const global = globalThis as { Deno?: unknown; Bun?: unknown };
  if (global.Deno) return `deno add npm:${pkg}`;
  return global.Bun ? `bun add -g @authbroker/msal ${pkg}` : `npm install -g @authbroker/msal ${pkg}`;
}

/**
 * The token cache in `path`, shared safely with other processes (`FileCachePlugin`). A corrupt file is
 * moved aside, said once on stderr, and the command goes on with an empty cache (a new sign-in).
 */
export function persistedCache(path: string, terminal: Terminal): TokenCache {
  return new TokenCache({
    plugin: new FileCachePlugin(path, {
      onCorruptCache: (error) => terminal.err(`warning: ${error.message}\n`),
    }),
  });
}

function isLoopback(authority: string): boolean {
  try {
    return ["127.0.0.1", "localhost", "[::1]"].includes(new URL(authority).hostname);
  } catch {
    return false; // the app reports the malformed authority
  }
}

function stderrLogger(terminal: Terminal): Logger {
  const line = (level: string) => (message: string): void => terminal.err(`${level} ${message}\n`);
  return { error: line("error"), warning: line("warning"), info: line("info"), verbose: line("verbose") };
}
