/**
 * Chooses and loads the OS broker plugin for an app: opt-in flag + platform -> plugin, imported on
 * demand. The four broker fallback rules live here, in this order:
 *
 * 1. Authorities the broker does not support (ADFS, B2C, CIAM, OIDC, dSTS) bypass it silently.
 * 2. Opted in, but the plugin's npm dependency is missing: throw {@linkcode BrokerDependencyError} with
 *    the install command for the current runtime.
 * 3. The plugin loads but the broker cannot initialise: fall back to non-broker flows, with one warning
 *    and the reason in the returned status.
 * 4. (Token failures once the broker runs are returned as error results: see `flows/brokered.ts`.)
 *
 * @module
 */

import type { AuthorityType } from "../core/authority.ts";
import { BrokerDependencyError, messageOf } from "../core/errors.ts";
import type { PluginLogger } from "../core/log.ts";
import { installCommand, type Platform, type Runtime } from "../core/platform.ts";
import {
  type Broker,
  type BrokerPluginContext,
  type BrokerPluginDescriptor,
  type BrokerPluginModule,
  BrokerUnavailableError,
  isMissingFile,
  isMissingPackage,
} from "./broker.ts";

/** The per-platform opt-in flags, as `PublicClientApplication` takes them. */
export interface BrokerOptIn {
  /** Use WAM on Windows 10+. */
  enableBrokerOnWindows?: boolean;
  /** Use WAM on the Windows host from WSL. */
  enableBrokerOnWsl?: boolean;
  /** Use Enterprise SSO (Company Portal) on macOS. */
  enableBrokerOnMac?: boolean;
  /** Use the Linux identity broker; like MSAL Python, this also enables the broker on WSL. */
  enableBrokerOnLinux?: boolean;
}

/** An initialised broker (used as is) or a descriptor of a plugin to load. */
export type BrokerPluginSource = Broker | BrokerPluginDescriptor;

/** Whether the broker is on, and if not, why. */
export interface BrokerStatus {
  /** Whether token requests go through the broker. */
  enabled: boolean;
  /** The detected platform. */
  platform: Platform;
  /** The plugin in use, or the one that failed to load. */
  plugin?: string;
  /** Why the broker is off. */
  reason?: string;
}

/** What {@linkcode loadBroker} needs to decide. */
export interface LoadBrokerOptions {
  /** The app's opt-in flags. */
  optIn: BrokerOptIn;
  /** The detected platform. */
  platform: Platform;
  /** The detected runtime (for the install command of a missing dependency). */
  runtime: Runtime;
  /** The kind of the app's authority; only `"AAD"` can use the broker. */
  authorityType: AuthorityType;
  /** The app's client id. */
  clientId: string;
  /** Where the fallback warning goes. */
  logger: PluginLogger;
  /** Replaces the built-in plugin of a platform (tests, custom brokers). */
  plugins?: Partial<Record<Platform, BrokerPluginSource>>;
  /** How long the plugin may take to initialise before the app falls back (rule 3). Default 30 s. */
  initTimeoutMs?: number;
  /** Which built-in plugin serves Linux; see {@linkcode LinuxBrokerPlugin}. Default `"dbus"`. */
  linuxBroker?: LinuxBrokerPlugin;
  /** The redirect URI the app registered for the broker, when not the platform's default. */
  redirectUri?: string;
  /** Forward the native broker runtime's own log to `logger` (see `BrokerPluginContext.nativeLogging`). */
  nativeLogging?: boolean;
}

/**
 * The built-in plugin that serves `enableBrokerOnLinux`: `"dbus"` (default) talks to
 * `microsoft-identity-broker` over D-Bus in TypeScript; `"msalruntime"` goes through Microsoft's runtime
 * (`@azure/msal-node-runtime`), which needs its native library and system packages (WebKitGTK).
 */
export type LinuxBrokerPlugin = "dbus" | "msalruntime";

/** The broker to use, if any, and the status `brokerStatus()` reports. */
export interface LoadBrokerResult {
  /** The initialised broker, when enabled. */
  broker?: Broker;
  /** Whether the broker is on, and why not. */
  status: BrokerStatus;
}

const FLAG_APPLIES: Record<Platform, (optIn: BrokerOptIn) => boolean> = {
  windows: (o) => o.enableBrokerOnWindows === true,
  mac: (o) => o.enableBrokerOnMac === true,
  linux: (o) => o.enableBrokerOnLinux === true,
  wsl: (o) => o.enableBrokerOnWsl === true || o.enableBrokerOnLinux === true,
};

/** Whether any flag opts in on any platform; without one there is nothing to load or probe. */
export function isOptedInAnywhere(optIn: BrokerOptIn): boolean {
  return Object.values(FLAG_APPLIES).some((applies) => applies(optIn));
}

/**
 * A descriptor for a plugin module that `load` imports, e.g. `() => import("./my_broker.ts")`: a literal
 * specifier in the app's code, which bundlers and `deno publish` can follow. If the module itself does
 * not exist, loading fails with {@linkcode BrokerUnavailableError} "the <platform> broker plugin is not
 * available in this version" (rule 3), so nobody is told to install a package that would not help; a
 * missing `dependency` still fails with module-not-found (rule 2).
 *
 * @param platform the platform the plugin serves, for the message when its module is missing
 * @param name the plugin's name, as `brokerStatus()` reports it
 * @param load imports the plugin module, e.g. `() => import("./my_broker.ts")`
 * @param dependency the npm package the plugin needs, e.g. `"dbus-next"` (rule 2 names it)
 * @returns the descriptor to pass in the app's `brokers` option
 * @example
 * ```ts
 * import { brokerPluginFromModule, loadBroker, type LoadBrokerOptions } from "./registry.ts";
 *
 * declare const options: LoadBrokerOptions;
 * const plugin = brokerPluginFromModule("linux", "my-broker", () => import("./my_broker.ts"), "dbus-next");
 * await loadBroker({ ...options, plugins: { linux: plugin } });
 * ```
 */
export function brokerPluginFromModule(
  platform: Platform,
  name: string,
  load: () => Promise<unknown>,
  dependency?: string,
): BrokerPluginDescriptor {
  return {
    name,
    ...(dependency ? { dependency } : {}),
    load: async () => {
      try {
        return await load() as BrokerPluginModule;
      } catch (error) {
        if (isMissingFile(error) && !(dependency && isMissingPackage(error, dependency))) {
          throw new BrokerUnavailableError(
            `the ${platform} broker plugin is not available in this version`,
            { cause: error },
          );
        }
        throw error;
      }
    },
  };
}

// Literal specifiers, so `deno publish` and the npm build see the plugins and ship them.
const LINUX_PLUGIN: BrokerPluginDescriptor = {
  name: "linux",
  dependency: "dbus-next",
  load: () => import("./linux.ts"),
};
const MSALRUNTIME_PLUGIN: BrokerPluginDescriptor = {
  name: "msalruntime",
  dependency: "@azure/msal-node-runtime",
  load: () => import("./msalruntime.ts"),
};

const BUILTIN_PLUGINS: Record<Platform, (linuxBroker?: LinuxBrokerPlugin) => BrokerPluginDescriptor> = {
  windows: () => MSALRUNTIME_PLUGIN,
  wsl: () => MSALRUNTIME_PLUGIN,
  mac: () => MSALRUNTIME_PLUGIN,
  linux: (linuxBroker) => linuxBroker === "msalruntime" ? MSALRUNTIME_PLUGIN : LINUX_PLUGIN,
};

/**
 * Decides whether the app uses the OS broker and, if so, loads and initialises its plugin.
 *
 * Resolves `{enabled: false, reason}` when not opted in on this platform, for authorities the broker
 * does not support (rule 1, no import, no log), and when the broker cannot initialise (rule 3, one
 * warning). Rejects only with {@linkcode BrokerDependencyError} (rule 2).
 *
 * @throws {BrokerDependencyError} when the plugin's npm dependency is not installed.
 * @example
 * ```ts
 * import { loadBroker } from "./registry.ts";
 * import { LogWriter } from "../core/log.ts";
 * import { detectPlatform, detectRuntime } from "../core/platform.ts";
 *
 * declare const clientId: string;
 * const { broker, status } = await loadBroker({
 *   optIn: { enableBrokerOnLinux: true }, platform: detectPlatform(), runtime: detectRuntime(),
 *   authorityType: "AAD", clientId, logger: new LogWriter(),
 * });
 * const why = broker ? undefined : status.reason; // e.g. "not opted in on linux"
 * ```
 */
export async function loadBroker(options: LoadBrokerOptions): Promise<LoadBrokerResult> {
  const { platform, authorityType, logger } = options;
  const off = (reason: string, plugin?: string): LoadBrokerResult => ({
    status: { enabled: false, platform, ...(plugin ? { plugin } : {}), reason },
  });

  if (!FLAG_APPLIES[platform](options.optIn)) return off(`not opted in on ${platform}`);
  // Rule 1.
  if (authorityType !== "AAD") return off(`authority ${authorityType} is not supported by the broker`);

  const source = options.plugins?.[platform] ?? BUILTIN_PLUGINS[platform](options.linuxBroker);
  if (!isDescriptor(source)) {
    return { broker: source, status: { enabled: true, platform, plugin: source.description.name } };
  }

  const context: BrokerPluginContext = {
    clientId: options.clientId,
    platform,
    runtime: options.runtime,
    logger,
    ...(options.redirectUri ? { redirectUri: options.redirectUri } : {}),
    ...(options.nativeLogging ? { nativeLogging: true } : {}),
  };
  try {
    const module = await source.load();
    if (typeof module?.createBroker !== "function") {
      throw new BrokerUnavailableError(`the broker plugin "${source.name}" does not export createBroker`);
    }
    const broker = await initialise(module, context, options.initTimeoutMs ?? DEFAULT_INIT_TIMEOUT_MS);
    logger.verbose(`Broker enabled: ${broker.description.name} on ${platform}`);
    return { broker, status: { enabled: true, platform, plugin: source.name } };
  } catch (error) {
    // Rule 2: the plugin said so itself,
    if (error instanceof BrokerDependencyError) throw error;
    // or only the plugin's own dependency counts; anything else missing would not be fixed by
    // installing something.
    if (source.dependency && isMissingPackage(error, source.dependency)) {
      throw new BrokerDependencyError(installCommand(source.dependency, options.runtime), { cause: error });
    }
    // Rule 3.
    const reason = error instanceof BrokerUnavailableError
      ? error.message
      : `the broker plugin "${source.name}" failed to initialise: ${messageOf(error)}`;
    logger.warning(`Broker is unavailable on this platform (${reason}). We will fallback to non-broker.`);
    return off(reason, source.name);
  }
}

const DEFAULT_INIT_TIMEOUT_MS = 30_000;

/** `createBroker`, within a deadline: a broker that never answers must not hang the app (rule 3). */
function initialise(
  module: BrokerPluginModule,
  context: BrokerPluginContext,
  timeoutMs: number,
): Promise<Broker> {
  const starting = module.createBroker(context);
  let timer: ReturnType<typeof setTimeout> | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      // Whatever it finally connects to is released.
      starting.then((late) => late.close(), () => {}).catch(() => {});
      reject(new BrokerUnavailableError(`the broker did not initialise within ${timeoutMs} ms`));
    }, timeoutMs);
  });
  return Promise.race([starting, deadline]).finally(() => clearTimeout(timer));
}

function isDescriptor(source: BrokerPluginSource): source is BrokerPluginDescriptor {
  return typeof (source as BrokerPluginDescriptor).load === "function";
}
