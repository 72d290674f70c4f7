/**
 * How a failure reaches the person or the script: the exit code it maps to, and the lines (or the JSON
 * object) written to stderr.
 *
 * @module
 */

import {
  AbortError,
  AuthorityError,
  BrowserLaunchError,
  ConfigurationError,
  DependencyError,
  type ErrorResult,
  NetworkError,
  TimeoutError,
} from "../mod.ts";
import { EXIT_FAILED, EXIT_INTERRUPTED, EXIT_NETWORK, EXIT_USAGE, EXIT_USER_ACTION } from "./exit_codes.ts";
import type { Terminal } from "./_terminal.ts";

/** OAuth errors that a person resolves by signing in, consenting or trying again (RFC 6749 §5.2, RFC 8628 §3.5). */
const USER_ACTION_ERRORS = new Set([
  "interaction_required",
  "login_required",
  "consent_required",
  "invalid_grant",
  "access_denied",
  "authorization_declined",
  "expired_token",
  "user_canceled",
  "no_account",
  "browser_unavailable",
]);
/** Broker statuses that mean the same (MSAL runtime's and the Linux broker's names). */
const USER_ACTION_BROKER_STATUSES = new Set([
  "InteractionRequired",
  "UserCanceled",
  "UserCancelled",
  "AccountUnusable",
]);
const SERVICE_UNAVAILABLE_ERRORS = new Set(["temporarily_unavailable", "server_error", "network_error"]);
const NETWORK_BROKER_STATUSES = new Set([
  "NoNetwork",
  "NetworkTemporarilyUnavailable",
  "ServerTemporarilyUnavailable",
]);

/** The exit code for an error result. */
export function exitCodeOfResult(result: ErrorResult): number {
  if (SERVICE_UNAVAILABLE_ERRORS.has(result.error) || (result.http_status ?? 0) >= 500) return EXIT_NETWORK;
  if (result.broker_status && NETWORK_BROKER_STATUSES.has(result.broker_status)) return EXIT_NETWORK;
  if (USER_ACTION_ERRORS.has(result.error)) return EXIT_USER_ACTION;
  if (result.broker_status && USER_ACTION_BROKER_STATUSES.has(result.broker_status)) return EXIT_USER_ACTION;
  return EXIT_FAILED;
}

/** The exit code for an exception a command did not expect to succeed past. */
export function exitCodeOfException(error: unknown): number {
  if (error instanceof AbortError) return EXIT_INTERRUPTED;
  if (error instanceof NetworkError) return EXIT_NETWORK;
  if (error instanceof AuthorityError) {
    return error.cause instanceof NetworkError ? EXIT_NETWORK : EXIT_FAILED;
  }
  if (error instanceof DependencyError || error instanceof BrowserLaunchError) return EXIT_USER_ACTION;
  if (error instanceof TimeoutError) return EXIT_USER_ACTION;
  if (error instanceof ConfigurationError || error instanceof UsageError) return EXIT_USAGE;
  return EXIT_FAILED;
}

/** A command line the command cannot run. */
export class UsageError extends Error {
  /** A usage error with a message naming what is wrong. */
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

/** Writes an error result: three plain lines, or one JSON object with `--json`. */
export function reportResult(terminal: Terminal, result: ErrorResult, json: boolean): void {
  if (json) {
    terminal.err(`${JSON.stringify(result)}\n`);
    return;
  }
  terminal.err(`error: ${result.error}\n`);
  if (result.error_description) terminal.err(`error_description: ${result.error_description}\n`);
  if (result.correlation_id) terminal.err(`correlation_id: ${result.correlation_id}\n`);
  const hint = hintFor(result);
  if (hint) terminal.err(`${hint}\n`);
}

/** The message of any thrown value: an `Error`'s `message`, else the value as a string. */
export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Writes an exception the same way, `error` being its code (`network_error`, `broker_dependency_missing`, ...). */
export function reportException(terminal: Terminal, error: unknown, json: boolean): void {
  const code = typeof (error as { code?: unknown })?.code === "string"
    ? (error as { code: string }).code
    : error instanceof UsageError
    ? "usage"
    : "unexpected_error";
  const description = messageOf(error);
  if (json) {
    terminal.err(`${JSON.stringify({ error: code, error_description: description })}\n`);
    return;
  }
  terminal.err(`error: ${code}\nerror_description: ${description}\n`);
  if (error instanceof BrowserLaunchError) {
    terminal.err(`${NO_BROWSER_HINT}\n`);
  }
}

const NO_BROWSER_HINT =
  "No browser could be opened: run the command again with --device-code, or set BROWSER to a program that opens URLs.";

function hintFor(result: ErrorResult): string | undefined {
  if (result.error === "no_account") return "Run `authbroker token` without --silent to sign in.";
  if (result.error === "browser_unavailable") return NO_BROWSER_HINT;
  if (exitCodeOfResult(result) === EXIT_USER_ACTION) {
    return "Sign in again: run the same command without --silent (add --device-code where there is no browser).";
  }
  return undefined;
}
