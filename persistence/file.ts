/**
 * {@linkcode FileCachePlugin}: the token cache in a file that several processes (Deno, Bun, Node, and
 * MSAL Python or msal-node apps reading the same unified schema) share safely.
 *
 * @module
 */

import type { CachePlugin, CachePluginContext, Logger } from "../mod.ts";
import type { CacheCorruptError } from "./errors.ts";
import { removeAbandonedTemps, writeAtomically } from "./_atomic.ts";
import { type PersistenceFs, persistenceFs } from "./_fs.ts";
import { persistenceLog } from "./_log.ts";
import { type CacheStore, SyncedCachePlugin } from "./_synced.ts";

/** Options of {@linkcode FileCachePlugin}. */
export interface FileCachePluginOptions {
  /** Receives the corrupt-cache report and lock diagnostics; PII-free. */
  logger?: Logger;
  /** How long a writer waits for another live process's lock before throwing (ms, default 10,000). */
  lockTimeoutMs?: number;
  /**
   * A lock whose owner cannot be probed (another host, or Deno without `--allow-run`) is broken once it
   * is this old (ms, default 5,000). Dead owners on this host are detected at once.
   */
  staleLockMs?: number;
  /**
   * Called when the file was corrupt (it has been renamed to `<file>.corrupt-<timestamp>` and the
   * cache starts empty). Without it, the access that found it throws the {@linkcode CacheCorruptError}
   * once; the next access works on the empty cache.
   */
  onCorruptCache?: (error: CacheCorruptError) => void;
}

/** The companion files of a cache file. */
function companions(path: string): { folder: string; lockPath: string; versionPath: string } {
  const slash = Math.max(path.lastIndexOf("/"), path.lastIndexOf("\\"));
  return {
    folder: slash > 0 ? path.slice(0, slash) : slash === 0 ? path.slice(0, 1) : ".",
    // msal-node-extensions and MSAL Python's msal-extensions use `<file>.lockfile` too.
    lockPath: `${path}.lockfile`,
    versionPath: `${path}.version`,
  };
}

function fileStore(fs: PersistenceFs, path: string): CacheStore {
  return {
    location: path,
    read: () => Promise.resolve(fs.readText(path)),
    write: (text) => Promise.resolve(writeAtomically(fs, path, text, 0o600)),
    stamp: () => fs.fingerprint(path),
    setAside() {
      const movedTo = `${path}.corrupt-${new Date().toISOString().replace(/[:.]/g, "-")}`;
      fs.rename(path, movedTo);
      return Promise.resolve(movedTo);
    },
  };
}

/**
 * Persists a {@linkcode TokenCache} in a file, in the unified MSAL schema (MSAL Python and msal-node
 * read it; it reads theirs), safe to share between processes and runtimes:
 *
 * - Writes go to a temp file in the same folder, flushed and renamed into place: a reader never sees a
 *   half-written cache and a crash never corrupts it. The file is 0600, a folder it creates 0700.
 * - Writers are serialised by `<file>.lockfile` (owner pid and host). A dead owner's lock is broken at
 *   once; a live owner is waited for, with a bounded jittered back-off, then {@linkcode CacheLockError}.
 * - A writer reloads under the lock and applies its change on top: concurrent writers merge.
 * - Reload is decided by `<file>.version`, a random version every writer bumps, never by modification
 *   time; reads take no lock, and an unchanged file is not re-parsed (one stat and one tiny read).
 * - A corrupt file is renamed to `<file>.corrupt-<timestamp>`, logged once as an error and reported as
 *   {@linkcode CacheCorruptError} (or to `onCorruptCache`); it is never overwritten.
 *
 * Deno needs `--allow-read` and `--allow-write` on the folder; `--allow-sys=hostname` (to record the
 * host in the lock) and `--allow-run` (the signal-0 probe that finds dead lock owners) are optional:
 * without them a dead owner's lock is broken after `staleLockMs`.
 *
 * @example
 * ```ts
 * import { PublicClientApplication, TokenCache } from "@authbroker/msal";
 * import { FileCachePlugin } from "@authbroker/msal/persistence";
 *
 * const tokenCache = new TokenCache({ plugin: new FileCachePlugin("/home/me/.cache/myapp/msal.json") });
 * const app = new PublicClientApplication("my-client-id", { tokenCache });
 * ```
 */
export class FileCachePlugin implements CachePlugin {
  /** The cache file. */
  readonly path: string;
  readonly #options: FileCachePluginOptions;
  #synced: SyncedCachePlugin | undefined;

  /**
   * A plugin for the cache file `path` (created on the first write, with its folder).
   *
   * @param path the cache file; its folder also holds `<file>.lockfile` and `<file>.version`.
   * @param options the lock's timeouts (ms), a logger, and `onCorruptCache`; defaults as documented
   *   in {@linkcode FileCachePluginOptions}
   */
  constructor(path: string, options: FileCachePluginOptions = {}) {
    this.path = path;
    this.#options = options;
  }

  async #plugin(): Promise<SyncedCachePlugin> {
    if (this.#synced) return this.#synced;
    const fs = await persistenceFs();
    return this.#synced ??= new SyncedCachePlugin(fileStore(fs, this.path), {
      fs,
      ...companions(this.path),
      timeoutMs: this.#options.lockTimeoutMs ?? 10_000,
      staleMs: this.#options.staleLockMs ?? 5_000,
      log: persistenceLog(this.#options.logger),
      onCorruptCache: this.#options.onCorruptCache,
      // Only a writer killed while holding the lock leaves a temp file; whoever breaks its lock sweeps.
      onLockTakeover: () => removeAbandonedTemps(fs, this.path),
    });
  }

  /**
   * Loads what another process wrote since this one last looked; takes the lock first unless the
   * access is read-only.
   *
   * @param context the cache and the access's `readOnly` flag, from {@linkcode TokenCache.access}
   * @throws {CacheLockError} if another live process holds the lock past `lockTimeoutMs`.
   * @throws {CacheCorruptError} once, if the file was corrupt (see `onCorruptCache`).
   * @throws {CacheFileError} if the file, its lock or version file, or its folder cannot be used.
   */
  async beforeCacheAccess(context: CachePluginContext): Promise<void> {
    await (this.#synced ?? await this.#plugin()).beforeCacheAccess(context);
  }

  /**
   * Writes the cache atomically if the access changed it, and releases the lock.
   *
   * @param context the cache, the access's `readOnly` flag and `cacheHasChanged`, from
   *   {@linkcode TokenCache.access}
   * @throws {CacheLockError} `cache_lock_lost` if the lock was taken away meanwhile (nothing is written).
   * @throws {CacheFileError} if the file or its version file cannot be written.
   */
  async afterCacheAccess(context: CachePluginContext): Promise<void> {
    await (this.#synced ?? await this.#plugin()).afterCacheAccess(context);
  }
}
