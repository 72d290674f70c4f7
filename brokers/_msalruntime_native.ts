/**
 * Why Microsoft's runtime did not load, in words a user can act on. When its native library fails to
 * load, `@azure/msal-node-runtime` swallows the loader's error and only says "Binaries could not be
 * loaded. This is unexpected."; on Linux the cause is nearly always a missing system library
 * (`libwebkit2gtk-4.1`, `libjavascriptcoregtk-4.1`, `libsoup-3.0`, ...). This module loads the addon
 * once more to get the loader's own answer, checks which of the libraries the runtime links are
 * present, and names the Debian/Ubuntu package to install.
 *
 * {@linkcode explainLoadFailure} is pure (the facts are injected); {@linkcode probeNativeLoad} gathers
 * the facts on the running machine.
 *
 * @module
 */

import { messageOf } from "../core/errors.ts";
import { attempt, denoAllows, osName, systemProbe } from "../core/platform.ts";

/** What the diagnosis needs to know about the machine. */
export interface LoadFailureFacts {
  /** The dynamic loader's message for the addon (e.g. from `dlopen`), when loading it again failed. */
  loaderMessage?: string;
  /** The shared libraries the runtime links directly (their sonames). */
  needed: readonly string[];
  /** Whether the dynamic loader would find the library `soname`. */
  isPresent(soname: string): boolean;
}

/**
 * The shared libraries `libmsalruntime.so` (Linux x64, `@azure/msal-node-runtime` 0.20.7) links directly,
 * as `readelf -d` lists them. The loader names any other missing one itself.
 */
export const LINUX_RUNTIME_LIBRARIES: readonly string[] = [
  "libwebkit2gtk-4.1.so.0",
  "libjavascriptcoregtk-4.1.so.0",
  "libsoup-3.0.so.0",
  "libgtk-3.so.0",
  "libgdk-3.so.0",
  "libsecret-1.so.0",
  "libX11.so.6",
  "libdbus-1.so.3",
  "libcurl.so.4",
  "libcrypto.so.3",
  "libuuid.so.1",
  "libp11-kit.so.0",
  "libfido2.so.1",
  "libgio-2.0.so.0",
  "libgobject-2.0.so.0",
  "libglib-2.0.so.0",
  "libstdc++.so.6",
  "libgcc_s.so.1",
];

/** The Debian/Ubuntu package shipping each library, by its name before `.so`. */
const DEBIAN_PACKAGES: Readonly<Record<string, string>> = {
  "libwebkit2gtk-4.1": "libwebkit2gtk-4.1-0",
  "libjavascriptcoregtk-4.1": "libjavascriptcoregtk-4.1-0",
  "libsoup-3.0": "libsoup-3.0-0",
  "libgtk-3": "libgtk-3-0",
  "libgdk-3": "libgtk-3-0",
  "libsecret-1": "libsecret-1-0",
  "libX11": "libx11-6",
  "libdbus-1": "libdbus-1-3",
  "libcurl": "libcurl4",
  "libcrypto": "libssl3",
  "libuuid": "libuuid1",
  "libp11-kit": "libp11-kit0",
  "libfido2": "libfido2-1",
  "libgio-2.0": "libglib2.0-0",
  "libgobject-2.0": "libglib2.0-0",
  "libglib-2.0": "libglib2.0-0",
  "libstdc++": "libstdc++6",
  "libgcc_s": "libgcc-s1",
};

/** The Debian/Ubuntu package that ships `soname` (e.g. `libwebkit2gtk-4.1-0`), when known. */
export function debianPackageOf(soname: string): string | undefined {
  return DEBIAN_PACKAGES[soname.replace(/\.so(?:\.[\d.]*)?$/, "")];
}

const MISSING_LIBRARY = /([\w.+-]+\.so(?:\.[\w.]+)?): cannot open shared object file/;

/**
 * The reason `brokerStatus()` reports when the runtime's native library did not load: the runtime's
 * own words, the loader's message, the missing libraries, and the `apt-get install` line that adds them.
 *
 * @example
 * ```ts
 * import { explainLoadFailure, LINUX_RUNTIME_LIBRARIES } from "./_msalruntime_native.ts";
 *
 * explainLoadFailure("Binaries could not be loaded. This is unexpected.", {
 *   loaderMessage: "libwebkit2gtk-4.1.so.0: cannot open shared object file: No such file or directory",
 *   needed: LINUX_RUNTIME_LIBRARIES,
 *   isPresent: (soname) => !soname.startsWith("libwebkit2gtk"),
 * });
 * // "... missing libwebkit2gtk-4.1.so.0; on Debian/Ubuntu: sudo apt-get install libwebkit2gtk-4.1-0"
 * ```
 */
export function explainLoadFailure(runtimeWords: string, facts: LoadFailureFacts): string {
  const named = facts.loaderMessage?.match(MISSING_LIBRARY)?.[1];
  const missing = [
    ...new Set([...(named ? [named] : []), ...facts.needed.filter((lib) => !facts.isPresent(lib))]),
  ];
  let reason =
    `Microsoft's runtime (@azure/msal-node-runtime) could not load its native library ("${runtimeWords}")`;
  if (facts.loaderMessage) reason += `: ${facts.loaderMessage.replace(/\s+/g, " ").trim()}`;
  if (!missing.length) return reason;
  reason += `; missing ${missing.join(", ")}`;
  const packages = [...new Set(missing.map(debianPackageOf).filter((name): name is string => !!name))];
  const unknown = missing.filter((lib) => !debianPackageOf(lib));
  if (packages.length) reason += `; on Debian/Ubuntu: sudo apt-get install ${packages.join(" ")}`;
  if (unknown.length) reason += `; install the packages providing ${unknown.join(", ")}`;
  return reason;
}

/** Where the package keeps the addon for this OS and CPU, as its own loader computes it. */
export function nativeBinaryPath(distDir: string, os: string, arch: string, osRelease?: string): string {
  const cpu = arch === "ia32" ? "x86" : arch;
  if (os === "win32") return `${distDir}/windows/${cpu}/msal-node-runtime.node`;
  if (os === "darwin") return `${distDir}/macos/${cpu}/msal-node-runtime.node`;
  const major = Number(osRelease?.match(/^VERSION_ID="?(\d+)/m)?.[1] ?? 0);
  const distro = /^ID(?:_LIKE)?=.*\brhel\b/m.test(osRelease ?? "")
    ? (major >= 10 ? "rhel10" : "rhel8_9")
    : "ubuntu";
  return `${distDir}/linux/${distro}/${cpu}/msal-node-runtime.node`;
}

const DEFAULT_LIBRARY_DIRS = [
  "/lib/x86_64-linux-gnu",
  "/usr/lib/x86_64-linux-gnu",
  "/lib64",
  "/usr/lib64",
  "/lib",
  "/usr/lib",
  "/usr/local/lib",
];

interface NodeFs {
  existsSync(path: string): boolean;
  readFileSync(path: string, encoding: "utf8"): string;
  readdirSync(path: string): string[];
}
interface NodeModule {
  createRequire(from: string): { (id: string): unknown; resolve(id: string): string };
}

/**
 * Gathers the {@linkcode LoadFailureFacts} on this machine: loads the addon again to capture the
 * loader's message, and looks for each library the runtime links in the loader's search path
 * (`LD_LIBRARY_PATH`, `/etc/ld.so.conf.d`, the standard folders). `undefined` when the package cannot
 * be located from here (e.g. the library itself was loaded from a remote URL).
 *
 * @param from where to resolve `@azure/msal-node-runtime` from (a file URL); this module by default.
 */
export async function probeNativeLoad(from: string = import.meta.url): Promise<LoadFailureFacts | undefined> {
  // Under Deno a native library needs the ffi permission; asking for it again could prompt the user.
  if (!denoAllows({ name: "ffi" })) {
    return {
      loaderMessage: "Deno needs --allow-ffi to load a native library",
      needed: [],
      isPresent: () => true,
    };
  }
  try {
    const { createRequire } = await import("node:module") as NodeModule;
    const fs = await import("node:fs") as unknown as NodeFs;
    const process = (await import("node:process")).default;
    const require = createRequire(from);
    const entry = require.resolve("@azure/msal-node-runtime");
    const distDir = entry.replace(/[\\/][^\\/]*$/, "");
    const os = osName();
    const osRelease = os === "linux" ? attempt(() => fs.readFileSync("/etc/os-release", "utf8")) : "";
    const binary = nativeBinaryPath(distDir, os, process.arch, osRelease);
    let loaderMessage: string | undefined;
    try {
      process.dlopen({ exports: {} }, binary);
    } catch (error) {
      loaderMessage = messageOf(error);
    }
    if (os !== "linux") return { loaderMessage, needed: [], isPresent: () => true };
    const dirs = librarySearchPath(fs, systemProbe.env("LD_LIBRARY_PATH"));
    return {
      loaderMessage,
      needed: LINUX_RUNTIME_LIBRARIES,
      isPresent: (soname) => dirs.some((dir) => fs.existsSync(`${dir}/${soname}`)),
    };
  } catch {
    return undefined;
  }
}

function librarySearchPath(fs: NodeFs, ldLibraryPath: string | undefined): string[] {
  const configured: string[] = [];
  for (const file of attempt(() => fs.readdirSync("/etc/ld.so.conf.d")) ?? []) {
    if (!file.endsWith(".conf")) continue;
    const text = attempt(() => fs.readFileSync(`/etc/ld.so.conf.d/${file}`, "utf8")) ?? "";
    configured.push(...text.split("\n").map((line) => line.trim()).filter((line) => line.startsWith("/")));
  }
  return [...(ldLibraryPath ?? "").split(":").filter(Boolean), ...configured, ...DEFAULT_LIBRARY_DIRS];
}
