/**
 * Interim persistence of the token cache until `FileCachePlugin` (`@authbroker/msal/persistence`)
 * lands: load the file once, write it atomically (0600) when the cache changed.
 *
 * @module
 */

import { mkdir, readFile, rename, writeFile } from "node:fs/promises";
import { dirname } from "node:path";
import process from "node:process";
import type { CachePlugin, CachePluginContext } from "../mod.ts";

/** Persists the token cache in one JSON file. */
export class TokenFile implements CachePlugin {
  readonly #path: string;
  #loaded = false;

  /** The cache file at `path`. */
  constructor(path: string) {
    this.#path = path;
  }

  /** Loads the file on first access. */
  async beforeCacheAccess({ cache }: CachePluginContext): Promise<void> {
    if (this.#loaded) return;
    const text = await readFile(this.#path, "utf8").catch((error) => {
      if (error?.code === "ENOENT") return undefined;
      throw error;
    });
    if (text) cache.deserialize(text);
    this.#loaded = true;
  }

  /** Writes the file when the access changed the cache. */
  async afterCacheAccess({ cache, cacheHasChanged }: CachePluginContext): Promise<void> {
    if (!cacheHasChanged) return;
    await mkdir(dirname(this.#path), { recursive: true, mode: 0o700 });
    const temp = `${this.#path}.${process.pid}.tmp`;
    await writeFile(temp, cache.serialize(), { mode: 0o600 });
    await rename(temp, this.#path);
  }
}
