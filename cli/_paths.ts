/**
 * Where the `authbroker` command keeps its files: the user's cache folder, as each OS names it.
 *
 * @module
 */

import { homedir, platform } from "node:os";
import { join } from "node:path";

/** The files the command persists between runs. */
export interface CachePaths {
  /** The folder, e.g. `~/.cache/authbroker`. */
  dir: string;
  /** The token cache, MSAL's unified JSON schema (the same file MSAL Python and msal-node read). */
  tokenCache: string;
}

/**
 * The cache folder: `override` (`--cache-dir`) or `$AUTHBROKER_CACHE_DIR` when set; else on Linux and WSL `$XDG_CACHE_HOME/authbroker`
 * (when absolute, per the XDG base directory spec) or `~/.cache/authbroker`; on macOS
 * `~/Library/Caches/authbroker`; on Windows `%LOCALAPPDATA%\authbroker`.
 *
 * @param env the environment to read.
 * @param override a folder given on the command line.
 * @param os Node's name of the OS (`os.platform()`).
 */
export function cachePaths(
  env: Record<string, string | undefined>,
  override?: string,
  os: string = platform(),
  home: string = homedir(),
): CachePaths {
  const dir = override || env.AUTHBROKER_CACHE_DIR || join(userCacheRoot(env, os, home), "authbroker");
  return { dir, tokenCache: join(dir, "token_cache.json") };
}

function userCacheRoot(env: Record<string, string | undefined>, os: string, home: string): string {
  if (os === "win32") return env.LOCALAPPDATA || join(home, "AppData", "Local");
  if (os === "darwin") return join(home, "Library", "Caches");
  const xdg = env.XDG_CACHE_HOME;
  return xdg && xdg.startsWith("/") ? xdg : join(home, ".cache");
}
