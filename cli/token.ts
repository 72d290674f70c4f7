/**
 * `authbroker token`: an access token for the scopes, the way an MSAL app gets one: silently first
 * (the persisted cache, then the broker or a refresh token), then interactively (the broker, the
 * browser, or the device code).
 *
 * @module
 */

import type { AuthResult, BrowserLaunchError, ErrorResult, PublicClientApplication } from "../mod.ts";
import { EXIT_NETWORK, EXIT_OK } from "./exit_codes.ts";
import { type AppSettings, openApp } from "./_app.ts";
import { exitCodeOfResult, messageOf, reportResult } from "./_report.ts";
import { type Terminal, waiting } from "./_terminal.ts";

/** What `authbroker token` was asked for. */
export interface TokenCommand extends AppSettings {
  /** The scopes, at least one. */
  scopes: string[];
  /** Sign in with the device code instead of the browser (or the broker). */
  deviceCode?: boolean;
  /** Only the account with this username; also the login hint. */
  username?: string;
  /** Never ask the person: fail with exit code 3 when sign-in is needed. */
  silent?: boolean;
  /** Print the whole result as JSON. */
  json?: boolean;
}

/** Runs `authbroker token`; resolves with the exit code. Rejects (e.g. {@linkcode AbortError}) for the caller to map. */
export async function token(command: TokenCommand, terminal: Terminal, signal: AbortSignal): Promise<number> {
  const app = await openApp(command, terminal);
  try {
    const result = await acquire(app, command, terminal, signal);
    if (!("access_token" in result)) {
      reportResult(terminal, result, command.json === true);
      return exitCodeOfResult(result);
    }
    terminal.out(command.json ? `${JSON.stringify(result, null, 2)}\n` : `${result.access_token}\n`);
    return EXIT_OK;
  } finally {
    await app.close();
  }
}

async function acquire(
  app: PublicClientApplication,
  command: TokenCommand,
  terminal: Terminal,
  signal: AbortSignal,
): Promise<AuthResult> {
  const { scopes, username } = command;
  const [account] = await app.getAccounts({ username, signal });
  const silent = account ? await app.acquireTokenSilentWithError(scopes, { account, signal }) : null;
  if (silent && "access_token" in silent) return silent;
  // Asking the person to sign in does not help when the identity provider cannot be reached.
  if (silent && exitCodeOfResult(silent) === EXIT_NETWORK) return silent;
  if (command.silent) return silent ?? noAccount(username);

  if (command.deviceCode) {
    const flow = await app.initiateDeviceFlow(scopes, { signal });
    if (!("user_code" in flow)) return flow;
    terminal.err(`${flow.message}\n`);
    const done = waiting(terminal, "Waiting for you to sign in...");
    try {
      return await app.acquireTokenByDeviceFlow(flow, { signal });
    } finally {
      done();
    }
  }

  // No browser: the person must run the command again with --device-code (exit 3). The library would
  // keep listening for a URL nobody can use, so the launch failure ends the wait here.
  const noBrowser = new AbortController();
  let launchFailure: BrowserLaunchError | undefined;
  let done = (): void => {};
  try {
    return await app.acquireTokenInteractive(scopes, {
      parentWindowHandle: app.CONSOLE_WINDOW_HANDLE,
      loginHint: username,
      signal: AbortSignal.any([signal, noBrowser.signal]),
      onBeforeLaunchingUi: ({ ui }) => {
        terminal.err(
          ui === "broker"
            ? "The broker will ask you to sign in. Press Ctrl-C to cancel.\n"
            : "Opening a browser to sign in. Press Ctrl-C to cancel.\n",
        );
        done = waiting(
          terminal,
          ui === "broker" ? "Waiting for the broker..." : "Waiting for the browser...",
        );
      },
      onBrowserUnavailable: (error) => {
        launchFailure = error;
        noBrowser.abort();
      },
    });
  } catch (error) {
    if (!launchFailure || signal.aborted) throw error;
    return browserUnavailable(launchFailure);
  } finally {
    done();
  }
}

function browserUnavailable(error: BrowserLaunchError): ErrorResult {
  return {
    error: "browser_unavailable",
    error_description: `No browser could be opened${
      error.cause === undefined ? " (no DISPLAY, WAYLAND_DISPLAY or BROWSER)" : ` (${messageOf(error.cause)})`
    }.`,
  };
}

function noAccount(username: string | undefined): ErrorResult {
  return {
    error: "no_account",
    error_description: username
      ? `No signed-in account named ${username} for this app in the cache or the broker.`
      : "No signed-in account for this app in the cache or the broker.",
  };
}
