/**
 * The persistence plugins' log lines: through the app's {@linkcode Logger}, prefixed like the rest of
 * the library, and never able to break a cache access.
 *
 * @module
 */

import type { Logger, LogLevel } from "../mod.ts";

/** Logs `message` at `level` through `logger`, if it has that method; a throwing logger is ignored. */
export type PersistenceLog = (level: LogLevel, message: string) => void;

/** A {@linkcode PersistenceLog} writing to `logger`. */
export function persistenceLog(logger: Logger | undefined): PersistenceLog {
  return (level, message) => {
    try {
      logger?.[level]?.(`[@authbroker/msal] ${message}`);
    } catch {
      // A throwing logger must never break token acquisition.
    }
  };
}
