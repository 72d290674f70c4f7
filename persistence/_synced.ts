/**
 * The synchronisation both persistence plugins share: a cross-process lock around writes, a content
 * version to decide when to reload, and corrupt-content handling. Only where the bytes live differs
 * (a {@linkcode CacheStore}: a file, a keyring item).
 *
 * - A read-only access takes no lock: it compares the version file (and the store's stamp) with what it
 *   loaded last, and re-parses only when another writer changed something.
 * - A writing access takes the lock first, reloads if needed, lets the cache apply its own change on top
 *   of the fresh state, writes, bumps the version, and releases: concurrent writers merge, none loses
 *   another's tokens.
 *
 * @module
 */

import { type CachePlugin, type CachePluginContext, InvalidInputError, type TokenCache } from "../mod.ts";
import { CacheCorruptError, CacheLockError } from "./errors.ts";
import { CrossProcessLock, type LockTiming } from "./_lock.ts";
import type { PersistenceFs, SmallFileReader } from "./_fs.ts";
import type { PersistenceLog } from "./_log.ts";

/** Where a serialized cache lives. */
export interface CacheStore {
  /** Names the place in messages and errors (a path, a keyring item). */
  readonly location: string;
  /** The serialized cache, or `undefined` if nothing is stored. */
  read(): Promise<string | undefined>;
  /** Replaces the stored cache; readers see the old or the new content, never a mix. */
  write(text: string): Promise<void>;
  /**
   * A cheap stamp that changes when a writer that does not bump the version (another library) changes
   * the content; `undefined` when the store has none. Never used alone to skip a reload.
   */
  stamp(): string | undefined;
  /** Keeps unreadable content `text` out of the way without destroying it; returns where it went. */
  setAside(text: string): Promise<string>;
}

/** What {@linkcode SyncedCachePlugin} needs besides the store. */
export interface SyncOptions extends LockTiming {
  /** The file system adapter. */
  fs: PersistenceFs;
  /** The lock file. */
  lockPath: string;
  /** The version file. */
  versionPath: string;
  /** The folder holding both, created 0700 on first use. */
  folder: string;
  /** Receives the corrupt-cache report. */
  log: PersistenceLog;
  /** Called instead of throwing when the stored cache was corrupt. */
  onCorruptCache?: (error: CacheCorruptError) => void;
  /** Called under the lock after breaking a dead or stale writer's lock, to clean up after it. */
  onLockTakeover?: () => void;
}

interface Loaded {
  version: string | undefined;
  stamp: string | undefined;
}

function newVersion(): string {
  return `${Date.now().toString(36)}-${crypto.randomUUID()}`;
}

/** A {@linkcode CachePlugin} keeping a {@linkcode TokenCache} in step with a {@linkcode CacheStore}. */
export class SyncedCachePlugin implements CachePlugin {
  readonly #store: CacheStore;
  readonly #options: SyncOptions;
  readonly #lock: CrossProcessLock;
  readonly #version: SmallFileReader;
  // Per cache: one plugin may serve several TokenCaches (an app created again), each loaded on its own.
  readonly #loaded = new WeakMap<TokenCache, Loaded>();
  #locked = false;
  #folderReady = false;

  /** Synchronises through `store`, with the lock and version files of `options`. */
  constructor(store: CacheStore, options: SyncOptions) {
    this.#store = store;
    this.#options = options;
    this.#lock = new CrossProcessLock(options.fs, options.lockPath, options);
    this.#version = options.fs.smallFileReader(options.versionPath);
  }

  /** Loads what other processes wrote, if anything; locks first when the access may write. */
  async beforeCacheAccess({ cache, readOnly }: CachePluginContext): Promise<void> {
    if (!readOnly) {
      await this.#acquire();
      this.#locked = true;
    }
    try {
      await this.#sync(cache);
    } catch (error) {
      this.#unlock();
      throw error;
    }
  }

  /** Writes the cache if the access changed it, then releases the lock. */
  async afterCacheAccess({ cache, cacheHasChanged }: CachePluginContext): Promise<void> {
    if (!this.#locked) return;
    try {
      if (!cacheHasChanged) return;
      if (!this.#lock.stillHeld()) throw new CacheLockError("cache_lock_lost", this.#lock.path);
      await this.#store.write(cache.serialize());
      this.#commit(cache);
    } finally {
      this.#unlock();
    }
  }

  #unlock(): void {
    if (!this.#locked) return;
    this.#locked = false;
    this.#lock.release();
  }

  #ensureFolder(): void {
    if (this.#folderReady) return;
    this.#options.fs.mkdirs(this.#options.folder, 0o700);
    this.#folderReady = true;
  }

  /** Takes the lock; after breaking a dead writer's, cleans up after it (`onLockTakeover`). */
  async #acquire(): Promise<void> {
    this.#ensureFolder();
    if (!await this.#lock.acquire()) return;
    try {
      this.#options.onLockTakeover?.();
    } catch (error) {
      this.#lock.release();
      throw error;
    }
  }

  /** Records a write: a new version for everyone, and what this process now has loaded. */
  #commit(cache: TokenCache): void {
    const { fs, versionPath } = this.#options;
    const version = newVersion();
    fs.overwrite(versionPath, version, 0o600);
    this.#loaded.set(cache, { version, stamp: this.#store.stamp() });
  }

  async #sync(cache: TokenCache): Promise<void> {
    // The version is read before the content: a writer renames the content into place before it bumps
    // the version, so what we load is at least as new as the version we record.
    let version = this.#version.read();
    const stamp = this.#store.stamp();
    const loaded = this.#loaded.get(cache);
    if (loaded && loaded.version === version && loaded.stamp === stamp) return;
    // Something changed: the version file may have been replaced too (deleted and written afresh).
    this.#version.reopen();
    version = this.#version.read();
    const text = await this.#store.read();
    try {
      cache.deserialize(text ?? "");
    } catch (error) {
      if (!(error instanceof InvalidInputError)) throw error;
      await this.#recover(cache, error);
      return;
    }
    this.#loaded.set(cache, { version, stamp });
  }

  /**
   * Handles content that does not parse. Under the lock it is read again (a writer that ignores our
   * lock may have been mid-write); if still unreadable it is set aside, reported once, and the cache
   * starts empty.
   */
  async #recover(cache: TokenCache, parseError: InvalidInputError): Promise<void> {
    const ownLock = !this.#locked;
    if (ownLock) await this.#acquire();
    try {
      const version = this.#version.read();
      const text = await this.#store.read();
      const stamp = this.#store.stamp();
      try {
        cache.deserialize(text ?? "");
        this.#loaded.set(cache, { version, stamp });
        return;
      } catch (error) {
        if (!(error instanceof InvalidInputError)) throw error;
      }
      const movedTo = await this.#store.setAside(text ?? "");
      cache.deserialize("");
      this.#commit(cache);
      const corrupt = new CacheCorruptError(this.#store.location, movedTo, { cause: parseError });
      this.#options.log("error", corrupt.message);
      if (!this.#options.onCorruptCache) {
        // The caller's access is undone; the next one starts from the now empty store.
        this.#loaded.delete(cache);
        throw corrupt;
      }
      this.#options.onCorruptCache(corrupt);
    } finally {
      if (ownLock) this.#lock.release();
    }
  }
}
