// Helpers shared by the test files: result assertions, a logger that records, the default client id.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import process from "node:process";
import { fileURLToPath } from "node:url";
import {
  type AuthResult,
  type ErrorResult,
  type Logger,
  type LogLevel,
  PublicClientApplication,
  type PublicClientApplicationOptions,
  type TokenResult,
} from "../mod.ts";
import type { FakeAuthority } from "../testing/mod.ts";

/** The client id of tests that need no particular one. */
export const CLIENT_ID = "4a1aa1d5-c567-49d0-ad0b-cd957a47f842";

/**
 * Runs `body` with `BROWSER` set to `browser` and no display, so only `$BROWSER` is tried (`"%s"`: the URL
 * itself as the command, so the launch fails); restores the three variables afterwards.
 */
export async function withBrowserEnv<T>(browser: string, body: () => Promise<T>): Promise<T> {
  const names = ["BROWSER", "DISPLAY", "WAYLAND_DISPLAY"] as const;
  const saved = names.map((name) => process.env[name]);
  process.env.BROWSER = browser;
  delete process.env.DISPLAY;
  delete process.env.WAYLAND_DISPLAY;
  try {
    return await body();
  } finally {
    names.forEach((name, i) =>
      saved[i] === undefined ? delete process.env[name] : process.env[name] = saved[i]
    );
  }
}

/** An app for `clientId` signing in at `idp`'s `organizations` authority; `options` override the authority. */
export function newApp(
  idp: FakeAuthority,
  options: PublicClientApplicationOptions = {},
  clientId: string = CLIENT_ID,
): PublicClientApplication {
  return new PublicClientApplication(clientId, { authority: idp.authority("organizations"), ...options });
}

/** {@linkcode newApp} through `PublicClientApplication.create`, which also waits for the broker to load. */
export function createApp(
  idp: FakeAuthority,
  options: PublicClientApplicationOptions = {},
  clientId: string = CLIENT_ID,
): Promise<PublicClientApplication> {
  return PublicClientApplication.create(clientId, { authority: idp.authority("organizations"), ...options });
}

/**
 * Runs the device-code flow of `app` for `scopes`, approving the code at `idp` as `username`; returns what
 * `acquireTokenByDeviceFlow` returns.
 */
export async function redeemDeviceCode(
  idp: Pick<FakeAuthority, "approveDeviceCode">,
  app: PublicClientApplication,
  username: string,
  scopes: string[] = ["User.Read"],
): Promise<AuthResult> {
  const flow = await app.initiateDeviceFlow(scopes);
  assert.ok("user_code" in flow, JSON.stringify(flow));
  idp.approveDeviceCode(flow.user_code, username);
  return await app.acquireTokenByDeviceFlow(flow);
}

/** {@linkcode redeemDeviceCode}, asserting that it signs `username` in. */
export async function signInWithDeviceCode(
  idp: Pick<FakeAuthority, "approveDeviceCode">,
  app: PublicClientApplication,
  username: string,
  scopes?: string[],
): Promise<TokenResult> {
  return assertToken(await redeemDeviceCode(idp, app, username, scopes));
}

/** Whether nothing answers HTTP on 127.0.0.1:`port` any more (the listener there has shut down). */
export async function portIsClosed(port: number): Promise<boolean> {
  try {
    const response = await fetch(`http://127.0.0.1:${port}/`);
    await response.body?.cancel();
    return false;
  } catch {
    return true;
  }
}

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

/** What a finished child process wrote and how it ended. */
export interface ChildOutcome {
  /** The exit code; `null` when a signal ended it. */
  code: number | null;
  /** The signal that ended it, e.g. `SIGKILL`; `null` when it exited by itself. */
  signal: string | null;
  stdout: string;
  stderr: string;
}

/** A runtime the tests run scripts under. */
export type TestRuntime = "node" | "bun" | "deno";

/** The repository's root folder, with a trailing slash: child processes run there. */
export const ROOT: string = fileURLToPath(new URL("../", import.meta.url));

/** The command line that runs `script` (a path under tests/) with `args` under `runtime`. */
export function commandFor(runtime: TestRuntime, script: string, args: string[] = []): [string, string[]] {
  const path = `${ROOT}tests/${script}`;
  switch (runtime) {
    case "node":
      return ["node", ["--import", "tsx", path, ...args]];
    case "bun":
      return [`${ROOT}node_modules/.bin/bun`, [path, ...args]];
    case "deno":
      return [`${ROOT}node_modules/.bin/deno`, ["run", "-A", "--quiet", path, ...args]];
  }
}

/** Runs `command` to its end (killed after `killAfterMs`), collecting its output. */
export async function runToEnd(
  command: string,
  args: string[],
  options: { cwd: string; killAfterMs?: number },
): Promise<ChildOutcome> {
  const child = spawn(command, args, {
    cwd: options.cwd,
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, NO_COLOR: "1" },
  });
  let stdout = "";
  let stderr = "";
  child.stdout?.on("data", (chunk) => stdout += chunk);
  child.stderr?.on("data", (chunk) => stderr += chunk);
  const killer = setTimeout(() => child.kill("SIGKILL"), options.killAfterMs ?? 60_000);
  const [code, signal] = await new Promise<[number | null, string | null]>((resolve, reject) => {
    child.once("error", reject);
    child.once("close", (code, signal) => resolve([code, signal]));
  }).finally(() => clearTimeout(killer));
  return { code, signal, stdout, stderr };
}
