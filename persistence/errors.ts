/**
 * The typed errors of the persistence plugins. Each has a stable `code`.
 *
 * @module
 */

import { MsalError } from "../mod.ts";

/** Who held a cache lock, as its lock file says. */
export interface LockOwner {
  /** The owner's process id. */
  pid: number;
  /** The owner's host name; `""` if the owner did not record one (e.g. msal-node-extensions). */
  host: string;
}

/**
 * The cross-process cache lock could not be taken in time: another live process holds it (code
 * `cache_lock_timeout`), or this process's lock was broken while it held it (code `cache_lock_lost`).
 */
export class CacheLockError extends MsalError {
  /** The lock file. */
  readonly lockPath: string;
  /** The holder at the last attempt, when known. */
  readonly owner: LockOwner | undefined;

  /**
   * Creates the error for `lockPath`, naming the owner if known.
   *
   * @param code `cache_lock_timeout` (another process holds the lock) or `cache_lock_lost` (ours was broken)
   * @param lockPath the lock file's path
   * @param owner the holder's `pid` and `host`, when its lock file says
   * @param options `cause`: the underlying error, if any
   */
  constructor(
    code: "cache_lock_timeout" | "cache_lock_lost",
    lockPath: string,
    owner?: LockOwner,
    options?: ErrorOptions,
  ) {
    const holder = owner ? ` (held by pid ${owner.pid}${owner.host ? ` on ${owner.host}` : ""})` : "";
    super(
      code,
      code === "cache_lock_timeout"
        ? `Timed out waiting for the token cache lock ${lockPath}${holder}`
        : `The token cache lock ${lockPath} was taken over by another process${holder}; nothing was written`,
      options,
    );
    this.lockPath = lockPath;
    this.owner = owner;
  }
}

/**
 * The persisted cache could not be parsed. It was moved aside to `movedTo` (never overwritten), and
 * the cache starts empty. Code `cache_corrupt`.
 */
export class CacheCorruptError extends MsalError {
  /** Where the cache was (a file path, or a description of the keyring item). */
  readonly location: string;
  /** Where the unreadable content was kept. */
  readonly movedTo: string;

  /**
   * Creates the error.
   *
   * @param location where the cache was: a file path, or a description of the keyring item
   * @param movedTo where the unreadable content was kept
   * @param options `cause`: the parse failure
   */
  constructor(location: string, movedTo: string, options?: ErrorOptions) {
    super(
      "cache_corrupt",
      `The token cache at ${location} was corrupt; it was moved to ${movedTo} and the cache starts empty`,
      options,
    );
    this.location = location;
    this.movedTo = movedTo;
  }
}

// What an errno means for a cache path, in words a person can act on.
const REASONS: Record<string, string> = {
  EISDIR: "a folder is where the file should be",
  ENOTDIR: "a file is where a folder should be",
  EEXIST: "a file is where a folder should be",
  EACCES: "permission denied",
  EPERM: "permission denied",
  EROFS: "the file system is read-only",
  ENOSPC: "the disk is full",
};

/**
 * A persistence plugin's file (the cache file, its lock file or version file, or their folder) could
 * not be read, written or created: a folder or a file in the way, no permission, a full disk. Nothing
 * was overwritten. Code `cache_file_error`; `cause` is the runtime's error.
 */
export class CacheFileError extends MsalError {
  /** The file or folder the operation was on. */
  readonly path: string;
  /** What was being done: `"read"`, `"write"`, `"create the folder"`, ... */
  readonly operation: string;

  /**
   * Creates the error for `operation` on `path`; the message names the reason from `cause`'s errno
   * code (e.g. `EACCES`: "permission denied") or its message.
   *
   * @param operation what was being done, as a verb phrase: `"read"`, `"write"`, `"create the folder"`
   * @param path the file or folder the operation was on
   * @param options `cause`: the file-system failure
   */
  constructor(operation: string, path: string, options?: ErrorOptions) {
    const cause = options?.cause;
    const errno = (cause as { code?: unknown } | null | undefined)?.code;
    const reason = typeof errno === "string" && REASONS[errno]
      ? `${REASONS[errno]} (${errno})`
      : cause instanceof Error
      ? cause.message
      : String(cause);
    super("cache_file_error", `The token cache could not ${operation} ${path}: ${reason}`, options);
    this.path = path;
    this.operation = operation;
  }
}

/** No Secret Service (`org.freedesktop.secrets`) is reachable: no session bus, or no keyring running. */
export class SecretServiceUnavailableError extends MsalError {
  /**
   * Creates the error.
   *
   * @param message why no Secret Service is reachable
   * @param options `cause`: the D-Bus failure
   */
  constructor(message: string, options?: ErrorOptions) {
    super("secret_service_unavailable", message, options);
  }
}

/** The keyring collection is locked, and the service offered no prompt or the user dismissed it. */
export class KeyringLockedError extends MsalError {
  /** The D-Bus object path of the locked collection. */
  readonly collection: string;

  /**
   * Creates the error for `collection`.
   *
   * @param collection the D-Bus object path of the locked collection
   * @param detail why it stayed locked, appended to the message; none by default
   * @param options `cause`: the D-Bus failure, if any
   */
  constructor(collection: string, detail = "", options?: ErrorOptions) {
    super("keyring_locked", `The keyring ${collection} is locked${detail ? `: ${detail}` : ""}`, options);
    this.collection = collection;
  }
}
