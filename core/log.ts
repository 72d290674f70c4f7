/**
 * The logger interface the library writes to, and helpers that keep personal data out of logs unless
 * the app turns PII logging on. The library itself never writes to stdout or stderr.
 *
 * @module
 */

/** Log levels, most to least severe. */
export type LogLevel = "error" | "warning" | "info" | "verbose";

/** What the app injects to receive the library's log lines. Every method is optional. */
export interface Logger {
  /**
   * Receives a failure the app should know about.
   *
   * @param message one log line, without PII unless `piiLoggingEnabled`
   */
  error?(message: string): void;
  /**
   * Receives a degradation, such as a broker fallback.
   *
   * @param message one log line, without PII unless `piiLoggingEnabled`
   */
  warning?(message: string): void;
  /**
   * Receives normal progress.
   *
   * @param message one log line, without PII unless `piiLoggingEnabled`
   */
  info?(message: string): void;
  /**
   * Receives detailed diagnostics.
   *
   * @param message one log line, without PII unless `piiLoggingEnabled`
   */
  verbose?(message: string): void;
  /** When true, messages may contain personal data (usernames, account ids); off by default. */
  piiLoggingEnabled?: boolean;
}

/** A logger that drops everything: the default. */
const silentLogger: Logger = {};

/**
 * The logger the library hands its own parts and broker plugins: every level always present, and a
 * way to keep personal data out of messages unless the app turned PII logging on.
 *
 * @example
 * ```ts
 * import type { PluginLogger } from "@authbroker/msal/broker";
 *
 * function logSignIn(logger: PluginLogger, username: string): void {
 *   logger.info(`Signed in as ${logger.pii(username)}`); // "(pii)" unless the app allowed PII
 * }
 * ```
 */
export interface PluginLogger {
  /** Whether messages may include personal data: the app's `Logger.piiLoggingEnabled` (MSAL's name). */
  readonly piiLoggingEnabled: boolean;
  /** @deprecated Use {@linkcode PluginLogger.piiLoggingEnabled}, the same value. */
  readonly piiEnabled: boolean;
  /**
   * Keeps personal data out of a message unless the app allowed it.
   *
   * @param value personal data: a username, an account id...
   * @returns `String(value)` if PII logging is on, else the placeholder `"(pii)"`
   */
  pii(value: unknown): string;
  /**
   * Logs a failure the app should know about.
   *
   * @param message one log line; wrap personal data in {@linkcode PluginLogger.pii}
   */
  error(message: string): void;
  /**
   * Logs a degradation, such as a broker fallback.
   *
   * @param message one log line; wrap personal data in {@linkcode PluginLogger.pii}
   */
  warning(message: string): void;
  /**
   * Logs normal progress.
   *
   * @param message one log line; wrap personal data in {@linkcode PluginLogger.pii}
   */
  info(message: string): void;
  /**
   * Logs detailed diagnostics.
   *
   * @param message one log line; wrap personal data in {@linkcode PluginLogger.pii}
   */
  verbose(message: string): void;
}

// A URL's query or fragment: where codes, states, login hints and tokens travel.
const URL_QUERY = /\b([a-z][a-z0-9+.-]*:\/\/[^\s?#"'<>]*)[?#][^\s"'<>]*/gi;
// A sign-in name (UPN or e-mail address).
const USERNAME = /[^\s@"'<>()[\],;:=]+@[a-z0-9-]+(\.[a-z0-9-]+)*\.[a-z]{2,}/gi;

/**
 * What a message becomes when PII logging is off: every URL keeps its origin and path but loses its
 * query and fragment, and every sign-in name (`user@domain`) becomes `(pii)`. A safety net under
 * {@linkcode PluginLogger.pii}, so a value that slipped into a message (an error from a launcher, a
 * broker's reason) still never reaches the app's log.
 */
export function scrubPii(message: string): string {
  return message.replace(URL_QUERY, "$1?(pii)").replace(USERNAME, "(pii)");
}

/**
 * The library's {@linkcode PluginLogger} over the app's {@linkcode Logger}: prefixes messages with the
 * library's name, scrubs PII unless the app allowed it ({@linkcode scrubPii} on every line), and never
 * lets a throwing logger break a call.
 */
export class LogWriter implements PluginLogger {
  readonly #logger: Logger;

  /** Wraps the app's logger (or the silent one). */
  constructor(logger: Logger = silentLogger) {
    this.#logger = logger;
  }

  /** Whether messages may include personal data: the app's `Logger.piiLoggingEnabled`. */
  get piiLoggingEnabled(): boolean {
    return this.#logger.piiLoggingEnabled === true;
  }

  /** @deprecated Use {@linkcode LogWriter.piiLoggingEnabled}, the same value. */
  get piiEnabled(): boolean {
    return this.piiLoggingEnabled;
  }

  /** Returns `value` if PII logging is on, else a placeholder. */
  pii(value: unknown): string {
    return this.piiLoggingEnabled ? String(value) : "(pii)";
  }

  /** Logs at `level`, prefixed with the library's name; without PII logging, scrubbed by {@linkcode scrubPii}. */
  log(level: LogLevel, message: string): void {
    try {
      const write = this.#logger[level];
      if (!write) return;
      write.call(this.#logger, `[@authbroker/msal] ${this.piiLoggingEnabled ? message : scrubPii(message)}`);
    } catch {
      // A throwing logger must never break token acquisition.
    }
  }

  /** Logs an error. */
  error(message: string): void {
    this.log("error", message);
  }

  /** Logs a warning. */
  warning(message: string): void {
    this.log("warning", message);
  }

  /** Logs progress. */
  info(message: string): void {
    this.log("info", message);
  }

  /** Logs diagnostics. */
  verbose(message: string): void {
    this.log("verbose", message);
  }
}
