/**
 * Persistent token caches that many processes share safely, in pure TypeScript for Deno, Bun and
 * Node: {@linkcode FileCachePlugin} (an atomic, locked, versioned file in the unified MSAL schema) and
 * {@linkcode SecretServiceCachePlugin} (one secret in the desktop keyring, over D-Bus).
 *
 * @example
 * ```ts
 * import { PublicClientApplication, TokenCache } from "@authbroker/msal";
 * import { FileCachePlugin } from "@authbroker/msal/persistence";
 *
 * const tokenCache = new TokenCache({ plugin: new FileCachePlugin("/home/me/.cache/myapp/msal.json") });
 * const app = new PublicClientApplication("my-client-id", { tokenCache });
 * ```
 *
 * @module
 */

export { FileCachePlugin, type FileCachePluginOptions } from "./file.ts";
export {
  SECRET_SERVICE_SCHEMA,
  SecretServiceCachePlugin,
  type SecretServiceCachePluginOptions,
} from "./secret_service.ts";
export {
  CacheCorruptError,
  CacheFileError,
  CacheLockError,
  KeyringLockedError,
  type LockOwner,
  SecretServiceUnavailableError,
} from "./errors.ts";
