/**
 * Builds the `PublicClientApplication` a command uses: the persisted token cache, the persisted
 * discovery documents, the broker flags, and a logger to stderr for `--verbose`.
 *
 * @module
 */

import { type Logger, PublicClientApplication, TokenCache } from "../mod.ts";
import { FileCachePlugin } from "../persistence/mod.ts";
import { DiscoveryCache } from "./_http_cache.ts";
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

/** An app and what must happen before the process ends. */
export interface OpenedApp {
  /** The app. */
  app: PublicClientApplication;
  /** Saves the discovery documents learnt and releases the broker. */
  close(): Promise<void>;
}

/**
 * Creates the app. With `broker`, a missing plugin dependency rejects here (rule 2).
 *
 * @throws {BrokerDependencyError} when `broker` is set and the platform's plugin dependency is missing.
 * @throws {ConfigurationError} for a malformed authority.
 */
export async function openApp(settings: AppSettings, terminal: Terminal): Promise<OpenedApp> {
  const discovery = new DiscoveryCache(settings.paths.httpCache);
  const broker = settings.broker === true;
  const app = await PublicClientApplication.create(settings.clientId, {
    authority: settings.authority ?? DEFAULT_AUTHORITY,
    tokenCache: persistedCache(settings.paths.tokenCache, terminal),
    fetch: discovery.fetch,
    logger: settings.verbose ? stderrLogger(terminal) : undefined,
    enableBrokerOnWindows: broker,
    enableBrokerOnWsl: broker,
    enableBrokerOnMac: broker,
    enableBrokerOnLinux: broker,
  });
  return {
    app,
    close: async () => {
      await Promise.allSettled([discovery.save(), app.close()]);
    },
  };
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

function stderrLogger(terminal: Terminal): Logger {
  const line = (level: string) => (message: string): void => terminal.err(`${level} ${message}\n`);
  return { error: line("error"), warning: line("warning"), info: line("info"), verbose: line("verbose") };
}
