// Helpers shared by the test files: result assertions, a logger that records, the default client id.
import assert from "node:assert/strict";
import type { AuthResult, ErrorResult, Logger, LogLevel, TokenResult } from "../mod.ts";

/** The client id of tests that need no particular one. */
export const CLIENT_ID = "4a1aa1d5-c567-49d0-ad0b-cd957a47f842";

/** Asserts a token result and returns it typed. */
export function assertToken(result: AuthResult | null | undefined): TokenResult {
  assert.ok(result && "access_token" in result, `expected a token, got ${JSON.stringify(result)}`);
  return result as TokenResult;
}

/** Asserts an error result (with `error` equal to `code` when given) and returns it typed. */
export function assertError(result: AuthResult | null | undefined, code?: string): ErrorResult {
  assert.ok(result && "error" in result, `expected an error, got ${JSON.stringify(result)}`);
  if (code !== undefined) assert.equal(result.error, code, JSON.stringify(result));
  return result as ErrorResult;
}

/** One recorded log line. */
export interface Logged {
  /** The level it was logged at. */
  level: LogLevel;
  /** The message, as the library wrote it. */
  message: string;
}

/** A {@linkcode Logger} that records every line; `warnings()` lists the warnings' messages. */
export function recordingLogger(
  options: { piiLoggingEnabled?: boolean } = {},
): { logger: Logger; logged: Logged[]; warnings: () => string[] } {
  const logged: Logged[] = [];
  const logger: Logger = {
    piiLoggingEnabled: options.piiLoggingEnabled ?? false,
    error: (message) => logged.push({ level: "error", message }),
    warning: (message) => logged.push({ level: "warning", message }),
    info: (message) => logged.push({ level: "info", message }),
    verbose: (message) => logged.push({ level: "verbose", message }),
  };
  const warnings = () => logged.filter((line) => line.level === "warning").map((line) => line.message);
  return { logger, logged, warnings };
}
