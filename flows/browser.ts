/**
 * Opens a URL in the user's system browser, the way MSAL Python does: `$BROWSER` first, then the
 * platform's opener (`xdg-open`, `wslview` / `explorer.exe` on WSL, `open`, `rundll32` on Windows).
 * No shell is ever involved, so nothing in the URL can be interpreted as a command.
 *
 * @module
 */

import { BrowserLaunchError, ConfigurationError, messageOf } from "../core/errors.ts";
import type { PluginLogger } from "../core/log.ts";
import { denoAllows, detectPlatform, type Platform, systemProbe } from "../core/platform.ts";

/** Starts `command` with `args` (no shell) and resolves with its exit code; rejects if it cannot start. */
export type SpawnFunction = (command: string, args: string[]) => Promise<number>;

/** Options for {@linkcode openSystemBrowser}; the defaults read the real environment. */
export interface BrowserLaunchOptions {
  /** Environment variables to consult (`BROWSER`, `DISPLAY`, `WAYLAND_DISPLAY`); defaults to the process's. */
  env?: Record<string, string | undefined>;
  /** The platform to launch for; defaults to the detected one. */
  platform?: Platform;
  /** Starts a process; injectable for tests. A rejection (e.g. `ENOENT`) means "try the next launcher". */
  spawn?: SpawnFunction;
  /** Receives a line per launcher tried. */
  logger?: PluginLogger;
}

interface Launcher {
  command: string;
  args: string[];
  succeeded: (exitCode: number) => boolean;
}

const EDGE_ON_LINUX = "/usr/bin/microsoft-edge";
// A launcher still running after this long is a browser that started in the foreground: count it as
// opened rather than blocking the sign-in until the user quits the browser.
const LAUNCH_GRACE_MS = 3000;

const exitZero = (code: number): boolean => code === 0;

/**
 * Opens `url` in the system browser.
 *
 * Order: every entry of `$BROWSER` (`:`-separated, `;` on Windows; `%s` is replaced by the URL, else the
 * entry is the program and the URL its argument); then on Linux and WSL `/usr/bin/microsoft-edge` when
 * `$BROWSER` is unset (MSAL prefers Edge there for device-based Conditional Access); on WSL `wslview`
 * (success = exit 0) and `explorer.exe` (success = exit 0 or 1, as MSAL Python); on Linux and WSL
 * `xdg-open` when a display is available (`DISPLAY` or `WAYLAND_DISPLAY`, as Python's `webbrowser`); on
 * macOS `open`; on Windows `rundll32 url.dll,FileProtocolHandler <url>`, which hands the URL to
 * ShellExecute without `cmd.exe`, whose `&`, `^` and `%` parsing cannot be escaped reliably.
 * A launcher that cannot start (not installed) is skipped; one still running after a few seconds is a
 * browser that started in the foreground and counts as opened. Under Deno a launcher runs only if
 * `--allow-run` already allows it: the library never causes a permission prompt.
 *
 * @throws {ConfigurationError} when `url` is not http(s) or contains CR, LF or TAB.
 * @throws {BrowserLaunchError} when no launcher worked; its message contains the URL to open by hand.
 * @example
 * ```ts
 * import { BrowserLaunchError } from "../core/errors.ts";
 * declare function tellUser(text: string): void;
 *
 * try {
 *   await openSystemBrowser("https://login.microsoftonline.com/common/oauth2/v2.0/authorize?client_id=...");
 * } catch (error) {
 *   if (error instanceof BrowserLaunchError) tellUser(error.message); // it names the URL to open by hand
 * }
 * ```
 */
export async function openSystemBrowser(url: string, options: BrowserLaunchOptions = {}): Promise<void> {
  const href = validateUrl(url);
  const platform = options.platform ?? detectPlatform();
  const env = options.env ?? readProcessEnv();
  const spawn = options.spawn ?? spawnDetached;
  let lastError: unknown;
  for (const launcher of launchersFor(url, href, platform, env)) {
    // `$BROWSER='%s'` makes the URL the command itself: log the launcher, never the URL.
    const name = launcher.command.includes(url) || launcher.command.includes(href)
      ? "the URL"
      : launcher.command;
    options.logger?.verbose(`Opening the browser with ${name}`);
    try {
      const code = await spawn(launcher.command, launcher.args);
      if (launcher.succeeded(code)) return;
      lastError = new Error(`${launcher.command} exited with code ${code}`);
    } catch (error) {
      lastError = error;
    }
    options.logger?.verbose(
      `${name} did not open the browser: ${
        messageOf(lastError).split(url).join("(url)").split(href).join("(url)")
      }`,
    );
  }
  throw new BrowserLaunchError(url, lastError === undefined ? undefined : { cause: lastError });
}

function validateUrl(url: string): string {
  if (/[\r\n\t]/.test(url)) throw new ConfigurationError("Invalid characters in URI");
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch (error) {
    throw new ConfigurationError("Invalid URI for browser", { cause: error });
  }
  if (parsed.protocol !== "http:" && parsed.protocol !== "https:") {
    throw new ConfigurationError(`Invalid URI scheme for browser: ${parsed.protocol.slice(0, -1)}`);
  }
  return parsed.href;
}

function launchersFor(
  url: string,
  href: string,
  platform: Platform,
  env: Record<string, string | undefined>,
): Launcher[] {
  const launchers = browserEnvLaunchers(url, env.BROWSER, platform === "windows" ? ";" : ":");
  const hasDisplay = Boolean(env.DISPLAY || env.WAYLAND_DISPLAY);
  if ((platform === "linux" || platform === "wsl") && !env.BROWSER && hasDisplay) {
    launchers.push({ command: EDGE_ON_LINUX, args: [url], succeeded: exitZero });
  }
  if (platform === "wsl") {
    launchers.push({ command: "wslview", args: [url], succeeded: exitZero });
    launchers.push({ command: "explorer.exe", args: [url], succeeded: (code) => code === 0 || code === 1 });
  }
  if ((platform === "linux" || platform === "wsl") && hasDisplay) {
    launchers.push({ command: "xdg-open", args: [url], succeeded: exitZero });
  }
  if (platform === "mac") launchers.push({ command: "open", args: [url], succeeded: exitZero });
  if (platform === "windows") {
    // The normalised href has no spaces or quotes, so the argument reaches rundll32 unquoted and intact.
    launchers.push({ command: "rundll32", args: ["url.dll,FileProtocolHandler", href], succeeded: exitZero });
  }
  return launchers;
}

function browserEnvLaunchers(url: string, browser: string | undefined, separator: string): Launcher[] {
  const launchers: Launcher[] = [];
  for (const entry of (browser ?? "").split(separator)) {
    const cmdline = entry.trim();
    if (!cmdline) continue;
    if (cmdline.includes("%s")) {
      const words = splitCommandLine(cmdline);
      if (words.at(-1) === "&") words.pop();
      // split/join rather than replace(): a URL may contain `$&`-style replacement patterns.
      const [command, ...args] = words.map((word) => word.split("%s").join(url));
      if (command) launchers.push({ command, args, succeeded: exitZero });
    } else {
      // As Python's webbrowser: without %s the whole entry names the program, spaces and all.
      launchers.push({ command: cmdline, args: [url], succeeded: exitZero });
    }
  }
  return launchers;
}

/** Splits a command line into words, honouring single quotes, double quotes and backslash escapes. */
function splitCommandLine(text: string): string[] {
  const words: string[] = [];
  let word = "";
  let inWord = false;
  let quote: "'" | '"' | null = null;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quote === "'") {
      if (c === "'") quote = null;
      else word += c;
    } else if (quote === '"') {
      if (c === '"') quote = null;
      else if (c === "\\" && (text[i + 1] === '"' || text[i + 1] === "\\")) word += text[++i];
      else word += c;
    } else if (c === "'" || c === '"') {
      quote = c;
      inWord = true;
    } else if (c === "\\" && i + 1 < text.length) {
      word += text[++i];
      inWord = true;
    } else if (/\s/.test(c)) {
      if (inWord) words.push(word);
      word = "";
      inWord = false;
    } else {
      word += c;
      inWord = true;
    }
  }
  if (inWord) words.push(word);
  return words;
}

/** Starts a process detached with stdio ignored; never keeps the caller's process alive once answered. */
async function spawnDetached(command: string, args: string[]): Promise<number> {
  if (!denoAllows({ name: "run", command })) {
    throw new Error(`Deno has no permission to run ${command} (use --allow-run)`);
  }
  const { spawn } = await import("node:child_process");
  const windows = detectPlatform() === "windows";
  return await new Promise<number>((resolve, reject) => {
    let settled = false;
    // The child stays referenced until we have an answer, so a script awaiting us cannot exit early.
    const child = spawn(command, args, {
      stdio: "ignore",
      detached: !windows,
      windowsHide: true,
      shell: false,
    });
    const settle = (finish: () => void): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      try {
        child.unref();
      } catch {
        // Deno throws when unref-ing a child that never started (ENOENT); there is nothing to release.
      }
      finish();
    };
    const timer = setTimeout(() => settle(() => resolve(0)), LAUNCH_GRACE_MS);
    child.once("error", (error) => settle(() => reject(error)));
    child.once("exit", (code) => settle(() => resolve(code ?? -1)));
  });
}

function readProcessEnv(): Record<string, string | undefined> {
  const names = ["BROWSER", "DISPLAY", "WAYLAND_DISPLAY"];
  return Object.fromEntries(names.map((name) => [name, systemProbe.env(name)]));
}
