/**
 * Which JavaScript runtime (Deno, Bun, Node) and which operating system (Windows, macOS, Linux, WSL) the
 * library runs on. This is the only module that sniffs the runtime; everything else asks it.
 *
 * @example
 * ```ts
 * import { detectPlatform, detectRuntime, installCommand } from "./platform.ts";
 *
 * detectPlatform(); // "linux", "wsl", "mac" or "windows"
 * detectRuntime(); // "deno", "bun" or "node"
 * installCommand("dbus-next"); // e.g. "deno add npm:dbus-next" under Deno
 * ```
 *
 * @module
 */

/** The operating system, as the broker opt-in flags see it. WSL is Linux under a Windows host. */
export type Platform = "windows" | "mac" | "linux" | "wsl";

/** The JavaScript runtime executing the library. */
export type Runtime = "deno" | "bun" | "node";

/** Where {@linkcode detectPlatform} gets its facts; inject one in tests. */
export interface PlatformProbe {
  /** The OS as Node's `os.platform()` names it: `"win32"`, `"darwin"`, `"linux"`, ... */
  platform(): string;
  /** The kernel release (`os.release()`), or `undefined` when it cannot be read. */
  release(): string | undefined;
  /** The text of `/proc/version`, or `undefined` when it cannot be read. */
  procVersion(): string | undefined;
  /** An environment variable, or `undefined` when unset or not readable. */
  env(name: string): string | undefined;
}

interface DenoPermissions {
  permissions?: {
    querySync?(descriptor: Record<string, string>): { state: string };
  };
}

/**
 * Whether Deno grants the permission `descriptor` (e.g. `{name: "sys", kind: "uid"}`); always true on
 * other runtimes. Under Deno, touching something not granted may prompt the user or throw where a
 * library cannot catch it; a library must never do that, so it asks first.
 */
export function denoAllows(descriptor: Record<string, string>): boolean {
  const deno = (globalThis as unknown as { Deno?: DenoPermissions }).Deno;
  if (!deno) return true;
  try {
    return deno.permissions?.querySync?.(descriptor).state === "granted";
  } catch {
    return false;
  }
}

// No static `node:` imports: under Deno they load the Node compatibility layer, which costs more
// than the rest of the library. Deno's own APIs serve Deno; Node and Bun lend their built-ins lazily.
interface DenoSystem {
  build: { os: string };
  osRelease(): string;
  readTextFileSync(path: string): string;
  env: { get(name: string): string | undefined };
}
interface NodeProcess {
  platform: string;
  env: Record<string, string | undefined>;
  getBuiltinModule?(id: string): unknown;
}

const deno = (globalThis as unknown as { Deno?: DenoSystem }).Deno;
const nodeProcess = deno ? undefined : (globalThis as unknown as { process?: NodeProcess }).process;

/**
 * Reads a fact of the machine that may not be readable (no such file, no permission): `read()`'s value,
 * or `undefined` when it throws.
 *
 * @param read the read, e.g. `() => fs.readFileSync("/etc/os-release", "utf8")`.
 * @returns what `read` returned; `undefined` when it threw.
 */
export function attempt<T>(read: () => T): T | undefined {
  try {
    return read();
  } catch {
    return undefined;
  }
}

function readEnv(name: string): string | undefined {
  if (!denoAllows({ name: "env", variable: name })) return undefined;
  return attempt(() => deno ? deno.env.get(name) : nodeProcess?.env[name]);
}

function nodeBuiltin<T>(id: string): T | undefined {
  return nodeProcess?.getBuiltinModule?.(id) as T | undefined;
}

/** The probe of the machine the library is running on. */
export const systemProbe: PlatformProbe = {
  platform: () => {
    if (!deno) return nodeProcess?.platform ?? "unknown";
    return deno.build.os === "windows" ? "win32" : deno.build.os;
  },
  release: () => {
    if (!denoAllows({ name: "sys", kind: "osRelease" })) return undefined;
    return attempt(() => deno ? deno.osRelease() : nodeBuiltin<{ release(): string }>("node:os")?.release());
  },
  procVersion: () => {
    if (!denoAllows({ name: "read", path: "/proc/version" })) return undefined;
    return attempt(() =>
      deno
        ? deno.readTextFileSync("/proc/version")
        : nodeBuiltin<{ readFileSync(path: string, encoding: string): string }>("node:fs")
          ?.readFileSync("/proc/version", "utf8")
    );
  },
  env: readEnv,
};

/** The operating system's own name (`"linux"`, `"darwin"`, `"win32"`, ...), cheaply: no probing for WSL. */
export function osName(): string {
  return systemProbe.platform();
}

/**
 * Detects the operating system. WSL is Linux whose kernel release or `/proc/version` mentions
 * "microsoft" (WSL1 `4.4.0-19041-Microsoft`, WSL2 `5.15.90.1-microsoft-standard-WSL2`), or where
 * `WSL_DISTRO_NAME` is set. Other Unix-like systems report `"linux"`.
 *
 * @param probe where to read the facts from; the running machine by default.
 * @example
 * ```ts
 * const useWam = detectPlatform() === "wsl"; // WAM on the Windows host can be used
 * ```
 */
export function detectPlatform(probe: PlatformProbe = systemProbe): Platform {
  const platform = probe.platform();
  if (platform === "win32") return "windows";
  if (platform === "darwin") return "mac";
  if (platform !== "linux") return "linux";
  const mentionsMicrosoft = (text: string | undefined): boolean => /microsoft/i.test(text ?? "");
  if (mentionsMicrosoft(probe.release()) || mentionsMicrosoft(probe.procVersion())) return "wsl";
  return probe.env("WSL_DISTRO_NAME") ? "wsl" : "linux";
}

/**
 * Detects the JavaScript runtime: `"deno"`, `"bun"`, or `"node"` for Node and anything Node-like.
 *
 * @example
 * ```ts
 * detectRuntime(); // "bun" when run with `bun run`
 * ```
 */
export function detectRuntime(): Runtime {
  if ("Deno" in globalThis) return "deno";
  if ("Bun" in globalThis) return "bun";
  return "node";
}

/**
 * The command that installs the npm package `pkg` for an app on `runtime`: `deno add npm:<pkg>`,
 * `bun add <pkg>`, or for Node `npm install <pkg>` (`pnpm add` / `yarn add` when the app was started
 * by that package manager); with `dev`, the same as a dev dependency (`--dev`, npm's `--save-dev`).
 *
 * @param pkg the npm package name, e.g. `"dbus-next"`.
 * @param runtime the runtime to install for; the current one by default.
 * @param dev install as a dev dependency (e.g. for the testing kit); false by default.
 * @returns the command, e.g. `"npm install dbus-next"`
 * @example
 * ```ts
 * installCommand("dbus-next", "deno"); // "deno add npm:dbus-next"
 * installCommand("dbus-next", "node", true); // "npm install --save-dev dbus-next"
 * ```
 */
export function installCommand(pkg: string, runtime: Runtime = detectRuntime(), dev = false): string {
  if (runtime === "deno") return dev ? `deno add --dev npm:${pkg}` : `deno add npm:${pkg}`;
  const userAgent = runtime === "node" ? readEnv("npm_config_user_agent") ?? "" : "";
  const [add, devFlag] = runtime === "bun"
    ? ["bun add", "--dev"]
    : userAgent.startsWith("pnpm/")
    ? ["pnpm add", "--save-dev"]
    : userAgent.startsWith("yarn/")
    ? ["yarn add", "--dev"]
    : ["npm install", "--save-dev"];
  return dev ? `${add} ${devFlag} ${pkg}` : `${add} ${pkg}`;
}
