/**
 * {@linkcode SecretServiceCachePlugin}: the token cache as one secret in the desktop keyring (GNOME
 * Keyring, KWallet, KeePassXC) through the freedesktop Secret Service, over D-Bus with dbus-next.
 *
 * @module
 */

import type { CachePlugin, CachePluginContext, Logger } from "../mod.ts";
import { type CacheCorruptError, SecretServiceUnavailableError } from "./errors.ts";
import { FileCachePlugin } from "./file.ts";
import { persistenceFs } from "./_fs.ts";
import { persistenceLog } from "./_log.ts";
import { type Attributes, DEFAULT_COLLECTION, SecretServiceClient } from "./_secret_service.ts";
import { type CacheStore, SyncedCachePlugin } from "./_synced.ts";

/** The `xdg:schema` attribute of the items this plugin writes. */
export const SECRET_SERVICE_SCHEMA = "io.github.authbroker.TokenCache";

/** Options of {@linkcode SecretServiceCachePlugin}. */
export interface SecretServiceCachePluginOptions {
  /** Names the app: the item's `application` attribute and label, e.g. `"my-cli"`. */
  application: string;
  /** Tells several caches of one app apart: the item's `cache` attribute (default `"msal_token_cache"`). */
  cacheName?: string;
  /** The collection to store in (a D-Bus object path); libsecret's default collection by default. */
  collection?: string;
  /**
   * The folder of the lock and version files; default `$XDG_CACHE_HOME/authbroker` (or
   * `~/.cache/authbroker`), created 0700.
   */
  lockFolder?: string;
  /** The session bus address; `DBUS_SESSION_BUS_ADDRESS` by default. */
  busAddress?: string;
  /**
   * Where no Secret Service is reachable (headless server, SSH, container), keep the cache in this
   * file instead (with {@linkcode FileCachePlugin}), logging one warning. Without it, the first cache
   * access throws {@linkcode SecretServiceUnavailableError}.
   */
  fallbackToFile?: string;
  /** Receives the fallback warning and the corrupt-cache report; PII-free. */
  logger?: Logger;
  /** Deadline of each D-Bus call (ms, default 10,000). */
  timeoutMs?: number;
  /** How long the user has to answer the keyring's unlock prompt (ms, default 120,000). */
  promptTimeoutMs?: number;
  /** How long a writer waits for another live process's lock before throwing (ms, default 10,000). */
  lockTimeoutMs?: number;
  /** A lock whose owner cannot be probed is broken once it is this old (ms, default 5,000). */
  staleLockMs?: number;
  /** Called instead of throwing when the stored cache was corrupt (see {@linkcode FileCachePlugin}). */
  onCorruptCache?: (error: CacheCorruptError) => void;
}

function safeName(text: string): string {
  return text.replace(/[^\w.-]/g, "_");
}

function defaultLockFolder(): string {
  const env = (globalThis as { process?: { env: Record<string, string | undefined> } }).process?.env ?? {};
  const base = env.XDG_CACHE_HOME || (env.HOME ? `${env.HOME}/.cache` : undefined);
  if (!base) {
    throw new SecretServiceUnavailableError(
      "Neither XDG_CACHE_HOME nor HOME is set: pass lockFolder to SecretServiceCachePlugin",
    );
  }
  return `${base}/authbroker`;
}

/**
 * Persists a {@linkcode TokenCache} as one secret in the desktop keyring, through the freedesktop
 * Secret Service (`org.freedesktop.secrets`), in pure TypeScript over dbus-next (an optional peer
 * dependency: without it the first access throws a `DependencyError` naming the install command).
 *
 * - The item carries libsecret-style schema attributes, so `secret-tool` finds it:
 *   `xdg:schema` = `io.github.authbroker.TokenCache`, `application` = your app, `cache` = the cache
 *   name. E.g. `secret-tool lookup application my-cli cache msal_token_cache` prints the cache.
 * - The secret crosses D-Bus encrypted (`dh-ietf1024-sha256-aes128-cbc-pkcs7`, as libsecret), or
 *   `plain` only when the service refuses encryption. A locked keyring is unlocked through the service's
 *   prompt; without a prompt (or dismissed) the access throws {@linkcode KeyringLockedError}.
 * - Writers in all processes are serialised by a lock file, and reloads decided by a version file,
 *   both in `lockFolder`, exactly as {@linkcode FileCachePlugin} does: an unchanged keyring is not
 *   read again, concurrent writers merge.
 * - No Secret Service: {@linkcode SecretServiceUnavailableError}, or the `fallbackToFile` file.
 *
 * Deno needs `--allow-env` (bus address, cache folder), `--allow-read`/`--allow-write` on the lock
 * folder, and the session bus socket (`--allow-read`/`--allow-write` on it, or `-A`); `--allow-run` and
 * `--allow-sys=hostname` as for {@linkcode FileCachePlugin}.
 *
 * @example
 * ```ts
 * import { PublicClientApplication, TokenCache } from "@authbroker/msal";
 * import { SecretServiceCachePlugin } from "@authbroker/msal/persistence";
 *
 * const plugin = new SecretServiceCachePlugin({
 *   application: "my-cli",
 *   fallbackToFile: "/home/me/.cache/my-cli/msal.json", // headless machines
 * });
 * const app = new PublicClientApplication("my-client-id", { tokenCache: new TokenCache({ plugin }) });
 * ```
 */
export class SecretServiceCachePlugin implements CachePlugin {
  /** The attributes of the keyring item holding the cache: `xdg:schema`, `application` and `cache`. */
  readonly attributes: Readonly<Record<string, string>>;
  readonly #options: SecretServiceCachePluginOptions;
  #delegate: Promise<CachePlugin> | undefined;
  #resolved: CachePlugin | undefined;

  /**
   * A plugin storing the cache of `options.application` in the default keyring collection.
   *
   * @param options `application` (required) names the keyring item; the rest (collection, lock folder,
   *   timeouts in ms, `fallbackToFile`...) as documented in {@linkcode SecretServiceCachePluginOptions}
   */
  constructor(options: SecretServiceCachePluginOptions) {
    this.#options = options;
    this.attributes = {
      "xdg:schema": SECRET_SERVICE_SCHEMA,
      application: options.application,
      cache: options.cacheName ?? "msal_token_cache",
    };
  }

  /**
   * Loads what another process stored since this one last looked; takes the lock first unless the
   * access is read-only.
   *
   * @param context the cache and the access's `readOnly` flag, from {@linkcode TokenCache.access}
   * @throws {SecretServiceUnavailableError} if no Secret Service is reachable and there is no
   *   `fallbackToFile`.
   * @throws {KeyringLockedError} if the keyring is locked and could not be unlocked.
   * @throws {DependencyError} if dbus-next is not installed (the message names the install command).
   * @throws {CacheLockError} if another live process holds the lock past `lockTimeoutMs`.
   * @throws {CacheCorruptError} once, if the stored cache was corrupt (see `onCorruptCache`).
   * @throws {CacheFileError} if the lock or version file, or their folder, cannot be used.
   */
  async beforeCacheAccess(context: CachePluginContext): Promise<void> {
    await (this.#resolved ?? await this.#plugin()).beforeCacheAccess(context);
  }

  /**
   * Stores the cache if the access changed it, and releases the lock.
   *
   * @param context the cache, the access's `readOnly` flag and `cacheHasChanged`, from
   *   {@linkcode TokenCache.access}
   * @throws {SecretServiceUnavailableError} if the Secret Service went away or did not answer in time.
   * @throws {KeyringLockedError} if the keyring is locked and could not be unlocked.
   * @throws {CacheLockError} `cache_lock_lost` if the lock was taken away meanwhile (nothing is stored).
   * @throws {CacheFileError} if the version file cannot be written.
   */
  async afterCacheAccess(context: CachePluginContext): Promise<void> {
    await (this.#resolved ?? await this.#plugin()).afterCacheAccess(context);
  }

  #plugin(): Promise<CachePlugin> {
    this.#delegate ??= this.#choose().then(
      (plugin) => (this.#resolved = plugin),
      (error) => {
        this.#delegate = undefined; // the next access tries again (the keyring may have started)
        throw error;
      },
    );
    return this.#delegate;
  }

  async #choose(): Promise<CachePlugin> {
    const options = this.#options;
    const log = persistenceLog(options.logger);
    const connect = () =>
      SecretServiceClient.connect({
        busAddress: options.busAddress,
        timeoutMs: options.timeoutMs ?? 10_000,
        promptTimeoutMs: options.promptTimeoutMs ?? 120_000,
      });
    try {
      (await connect()).close();
    } catch (error) {
      if (!(error instanceof SecretServiceUnavailableError) || options.fallbackToFile === undefined) {
        throw error;
      }
      log(
        "warning",
        `${error.message}; the token cache falls back to the file ${options.fallbackToFile}, as configured`,
      );
      return new FileCachePlugin(options.fallbackToFile, options);
    }
    const fs = await persistenceFs();
    const folder = options.lockFolder ?? defaultLockFolder();
    const base = `${folder}/${safeName(options.application)}.${safeName(this.attributes.cache)}.keyring`;
    return new SyncedCachePlugin(
      keyringStore(connect, this.attributes, options.collection ?? DEFAULT_COLLECTION),
      {
        fs,
        folder,
        lockPath: `${base}.lockfile`,
        versionPath: `${base}.version`,
        timeoutMs: options.lockTimeoutMs ?? 10_000,
        staleMs: options.staleLockMs ?? 5_000,
        log,
        onCorruptCache: options.onCorruptCache,
      },
    );
  }
}

function keyringStore(
  connect: () => Promise<SecretServiceClient>,
  attributes: Attributes,
  collection: string,
): CacheStore {
  const label = `${attributes.application} token cache (${attributes.cache})`;
  const using = async <T>(fn: (client: SecretServiceClient) => Promise<T>): Promise<T> => {
    const client = await connect();
    try {
      return await fn(client);
    } finally {
      client.close();
    }
  };
  return {
    location: `the keyring item "${label}"`,
    read: () =>
      using(async (client) => {
        const { unlocked, locked } = await client.search(attributes);
        if (!unlocked.length && locked.length) await client.unlock(locked.slice(0, 1));
        const item = unlocked[0] ?? locked[0];
        return item === undefined ? undefined : new TextDecoder().decode(await client.getSecret(item));
      }),
    write: (text) =>
      using(async (client) => {
        await client.createItem(collection, label, attributes, new TextEncoder().encode(text), true);
      }),
    stamp: () => undefined,
    setAside: (text) =>
      using(async (client) => {
        const cache = `${attributes.cache}.corrupt-${new Date().toISOString().replace(/[:.]/g, "-")}`;
        await client.createItem(
          collection,
          `${label} (corrupt)`,
          { ...attributes, cache },
          new TextEncoder().encode(text),
          false,
        );
        const { unlocked, locked } = await client.search(attributes);
        for (const item of [...unlocked, ...locked]) await client.deleteItem(item);
        return `the keyring item with cache=${cache}`;
      }),
  };
}
