/**
 * `authbroker doctor`: what this machine offers an MSAL app, and why. Every problem line ends with the
 * fix, so a person with a broken setup knows what to do after reading it.
 *
 * @module
 */

import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { arch, release } from "node:os";
import process from "node:process";
import {
  BrokerDependencyError,
  type BrokerOptIn,
  type Platform,
  PublicClientApplication,
  type PublicClientApplicationOptions,
  TokenCache,
} from "../mod.ts";
import { LinuxBrokerClient } from "../linux_broker.ts";
import { EXIT_OK } from "./exit_codes.ts";
import type { CachePaths } from "./_paths.ts";
import type { Terminal } from "./_terminal.ts";

/** What `authbroker doctor` was asked for. */
export interface DoctorCommand {
  /** Fills the client id into the redirect URIs that contain it. */
  clientId?: string;
  /** Where the cache lives. */
  paths: CachePaths;
  /** Print the report as JSON. */
  json?: boolean;
}

/** One opt-in flag, as this machine answers it. */
interface FlagReport {
  /** The option name, e.g. `enableBrokerOnLinux`. */
  flag: keyof BrokerOptIn;
  /** The other option that goes with it, e.g. `linuxBroker: "msalruntime"`; absent for the default plugin. */
  with?: string;
  /** The platform the flag is for. */
  platform: Platform;
  /** Whether the flag takes effect on this machine. */
  applies: boolean;
  /** The npm package the flag's plugin needs. */
  dependency: string;
  /** Whether that package could be loaded (only probed where the flag applies). */
  dependencyInstalled?: boolean;
  /** Whether the broker initialised and answers (only probed where the flag applies). */
  brokerAnswers?: boolean;
  /** The broker's name and version, when it answers and says. */
  broker?: string;
  /** The redirect URI the app must register for this flag. */
  redirectUri: string;
  /** Why the broker is not used, when it is not. */
  reason?: string;
  /** What to do about it. */
  fix?: string;
}

/** The whole report, as `--json` prints it. */
interface DoctorReport {
  /** `deno`, `bun` or `node`, and its version. */
  runtime: { name: string; version: string };
  /** Node's OS name (`linux`, `darwin`, `win32`), CPU architecture and kernel release. */
  os: { name: string; arch: string; release: string };
  /** The platform as the broker flags see it: `linux`, `wsl`, `mac` or `windows`. */
  platform: Platform;
  /** Whether this is the Windows Subsystem for Linux. */
  wsl: boolean;
  /** `DBUS_SESSION_BUS_ADDRESS` (Linux and WSL), or why there is none. */
  sessionBus?: { address?: string; problem?: string; fix?: string };
  /** Each opt-in flag. */
  flags: FlagReport[];
  /** The token cache file. */
  tokenCache: {
    path: string;
    exists: boolean;
    readable: boolean;
    accounts?: number;
    problem?: string;
    fix?: string;
  };
  /** What an app on this machine gets when it opts in, in one sentence. */
  fallback: string;
  /** Every problem, each ending with its fix. */
  problems: string[];
}

interface FlagSpec {
  flag: keyof BrokerOptIn;
  platform: Platform;
  dependency: string;
  redirectUri: string;
  /** An alternative way to use the flag, e.g. Microsoft's runtime for the Linux broker. */
  variant?: { label: string; options: Partial<PublicClientApplicationOptions> };
}

const FLAGS: FlagSpec[] = [
  {
    flag: "enableBrokerOnWindows",
    platform: "windows",
    dependency: "@azure/msal-node-runtime",
    redirectUri: "ms-appx-web://Microsoft.AAD.BrokerPlugin/{client_id}",
  },
  {
    flag: "enableBrokerOnWsl",
    platform: "wsl",
    dependency: "@azure/msal-node-runtime",
    redirectUri: "ms-appx-web://Microsoft.AAD.BrokerPlugin/{client_id}",
  },
  {
    flag: "enableBrokerOnMac",
    platform: "mac",
    dependency: "@azure/msal-node-runtime",
    redirectUri: "msauth.com.msauth.unsignedapp://auth",
  },
  {
    flag: "enableBrokerOnLinux",
    platform: "linux",
    dependency: "dbus-next",
    redirectUri: "https://login.microsoftonline.com/common/oauth2/nativeclient",
  },
  {
    flag: "enableBrokerOnLinux",
    platform: "linux",
    dependency: "@azure/msal-node-runtime",
    redirectUri: "https://login.microsoftonline.com/common/oauth2/nativeclient",
    variant: { label: 'linuxBroker: "msalruntime"', options: { linuxBroker: "msalruntime" } },
  },
];

/** Any client id will do to ask the broker whether it is there; this one is Azure CLI's, a public client. */
const PROBE_CLIENT_ID = "04b07795-8ddb-461a-bbee-02f9e1bf7b46";

/** Runs `authbroker doctor`. Always exits 0: the report is the answer, problems included. */
export async function doctor(
  command: DoctorCommand,
  terminal: Terminal,
  signal: AbortSignal,
): Promise<number> {
  const report = await diagnose(command, terminal.env, signal);
  terminal.out(command.json ? `${JSON.stringify(report, null, 2)}\n` : render(report));
  return EXIT_OK;
}

/** Builds the report. */
async function diagnose(
  command: DoctorCommand,
  env: Record<string, string | undefined>,
  signal: AbortSignal,
): Promise<DoctorReport> {
  const platform = (await new PublicClientApplication(PROBE_CLIENT_ID).brokerStatus()).platform;
  const wsl = platform === "wsl";
  const problems: string[] = [];
  const fixes = new Set<string>();
  // One line per fix: a missing session bus is the bus's problem and the broker flag's, said once.
  const report = (problem: string, fix: string): void => {
    if (!fixes.has(fix)) problems.push(`${problem}. Fix: ${fix}`);
    fixes.add(fix);
  };

  let sessionBus: DoctorReport["sessionBus"];
  if (platform === "linux" || platform === "wsl") {
    sessionBus = busOf(env);
    if (sessionBus.problem) report(sessionBus.problem, sessionBus.fix!);
  }

  const flags: FlagReport[] = [];
  for (const spec of FLAGS) {
    signal.throwIfAborted();
    // On WSL, enableBrokerOnLinux uses WAM through the runtime, as enableBrokerOnWsl does: no variant.
    if (spec.variant && platform !== spec.platform) continue;
    const applies = spec.platform === platform || (spec.flag === "enableBrokerOnLinux" && wsl);
    const redirectUri = spec.redirectUri.replace("{client_id}", command.clientId ?? "{client_id}");
    const dependency = applies && wsl ? "@azure/msal-node-runtime" : spec.dependency;
    const flag: FlagReport = {
      flag: spec.flag,
      ...(spec.variant ? { with: spec.variant.label } : {}),
      platform: spec.platform,
      applies,
      dependency,
      redirectUri,
    };
    if (applies) {
      Object.assign(flag, await probe({ [spec.flag]: true, ...spec.variant?.options }, platform, sessionBus));
      // With no bus, every Linux plugin fails for that one cause: name it as the session bus line does.
      if (platform === "linux" && flag.reason && sessionBus?.problem) {
        flag.reason = flag.reason.startsWith("no D-Bus session bus")
          ? sessionBus.problem
          : `${sessionBus.problem} (${flag.reason})`;
      }
      // The alternative plugin's state is information; the default one's problems are the machine's.
      if (flag.fix && !spec.variant) report(`${spec.flag}: ${flag.reason}`, flag.fix);
    }
    flags.push(flag);
  }

  const tokenCache = await inspectCache(command.paths.tokenCache);
  if (tokenCache.problem) report(tokenCache.problem, tokenCache.fix!);

  // WSL opens the Windows browser; plain Linux needs a display or $BROWSER (as Python's webbrowser).
  const noBrowser = platform === "linux" && !env.BROWSER && !env.DISPLAY && !env.WAYLAND_DISPLAY;
  return {
    runtime: runtimeOf(),
    os: { name: process.platform, arch: arch(), release: release() },
    platform,
    wsl,
    ...(sessionBus ? { sessionBus } : {}),
    flags,
    tokenCache,
    fallback: fallbackOf(
      flags.find((flag) => flag.applies && flag.flag !== "enableBrokerOnLinux") ??
        flags.find((flag) => flag.applies && !flag.with)!,
      noBrowser,
    ),
    problems,
  };
}

async function probe(
  options: PublicClientApplicationOptions,
  platform: Platform,
  sessionBus: DoctorReport["sessionBus"],
): Promise<Partial<FlagReport>> {
  let app: PublicClientApplication;
  try {
    app = await PublicClientApplication.create(PROBE_CLIENT_ID, { ...options, brokerTimeoutMs: 10_000 });
  } catch (error) {
    if (!(error instanceof BrokerDependencyError)) throw error;
    return {
      dependencyInstalled: false,
      brokerAnswers: false,
      reason:
        `the broker plugin needs a package that is not installed (an app opting in fails with "${error.message}")`,
      fix: `${error.installCommand} (in the app's project)`,
    };
  }
  try {
    const status = await app.brokerStatus();
    if (status.enabled) {
      const version = platform === "linux" ? await linuxBrokerVersion() : undefined;
      return { dependencyInstalled: true, brokerAnswers: true, broker: version ?? status.plugin };
    }
    const reason = status.reason ?? "the broker did not initialise";
    const pluginMissing = /not available in this version/.test(reason);
    return {
      dependencyInstalled: pluginMissing ? undefined : true,
      brokerAnswers: false,
      reason,
      fix: pluginMissing
        ? "upgrade @authbroker/msal to a version with this platform's broker plugin"
        : brokerFix(platform, reason, sessionBus),
    };
  } finally {
    await app.close();
  }
}

/** The Linux broker's own version (`getLinuxBrokerVersion`), e.g. `microsoft-identity-broker 3.0.2`. */
async function linuxBrokerVersion(): Promise<string | undefined> {
  let client: LinuxBrokerClient | undefined;
  try {
    client = await LinuxBrokerClient.connect({ timeoutMs: 10_000 });
    const reply = await client.getLinuxBrokerVersion();
    return reply.ok ? `microsoft-identity-broker ${reply.version}` : undefined;
  } catch {
    return undefined; // the version is a detail; the broker did answer the app
  } finally {
    await client?.close();
  }
}

const START_SESSION_BUS =
  "run inside a desktop session, or start one for a command with: dbus-run-session -- <command>";

/** What makes each platform's broker answer, when its plugin loads but the broker does not. */
const BROKER_SETUP: Record<Platform, string> = {
  // The bus is there; the broker is not (or Microsoft's runtime could not start it).
  linux: "install Microsoft's identity broker (sudo apt install microsoft-identity-broker, or enrol the " +
    "device with Intune / Company Portal)",
  wsl: "update Windows (WAM needs Windows 10+) and WSL",
  mac: "install Company Portal and sign in to it",
  windows: "use Windows 10 or later",
};

/** The fix for a broker that did not initialise; `sessionBus` as {@linkcode busOf} found it (Linux, WSL). */
function brokerFix(platform: Platform, reason: string, sessionBus: DoctorReport["sessionBus"]): string {
  if (platform === "linux") {
    if (sessionBus?.fix) return sessionBus.fix; // no session bus at all
    const permissions = /Deno needs ((?:--allow-\S+ ?)+)/.exec(reason);
    if (permissions) return `run deno with ${permissions[1].trim()} (or -A)`;
    if (/(cannot open|cannot connect to|did not answer).*session bus/.test(reason)) {
      return `point DBUS_SESSION_BUS_ADDRESS (now ${sessionBus?.address}) at a running session bus with a ` +
        `unix:path= address: ${START_SESSION_BUS}`;
    }
  }
  return `${BROKER_SETUP[platform]}; until then apps use the browser sign-in`;
}

function busOf(env: Record<string, string | undefined>): NonNullable<DoctorReport["sessionBus"]> {
  const address = env.DBUS_SESSION_BUS_ADDRESS;
  if (address) return { address };
  // Where the Linux broker plugin looks next, as libdbus does.
  const runtimeBus = env.XDG_RUNTIME_DIR && `${env.XDG_RUNTIME_DIR}/bus`;
  if (runtimeBus && existsSync(runtimeBus)) return { address: `unix:path=${runtimeBus}` };
  const uid = process.getuid?.();
  const standard = uid === undefined ? undefined : `/run/user/${uid}/bus`;
  return {
    problem:
      "no D-Bus session bus (DBUS_SESSION_BUS_ADDRESS is not set, and there is no $XDG_RUNTIME_DIR/bus), " +
      "so the Linux broker cannot be reached",
    fix: standard && existsSync(standard)
      ? `export DBUS_SESSION_BUS_ADDRESS=unix:path=${standard}`
      : START_SESSION_BUS,
  };
}

async function inspectCache(path: string): Promise<DoctorReport["tokenCache"]> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    const code = (error as { code?: string }).code;
    if (code === "ENOENT") return { path, exists: false, readable: true };
    return {
      path,
      exists: true,
      readable: false,
      problem: `the token cache ${path} cannot be read (${code ?? error})`,
      fix: `chmod 600 ${path} as its owner, or remove it to start afresh`,
    };
  }
  try {
    const cache = new TokenCache();
    cache.deserialize(text);
    const accounts = new Set(cache.getAccounts().map((account) => account.home_account_id)).size;
    return { path, exists: true, readable: true, accounts };
  } catch (error) {
    return {
      path,
      exists: true,
      readable: false,
      problem: `the token cache ${path} is not a valid MSAL cache (${(error as Error).message})`,
      fix: `move it aside (mv ${path} ${path}.bak); the next sign-in writes a new one`,
    };
  }
}

function fallbackOf(flag: FlagReport, noBrowser: boolean): string {
  const browser = "the browser sign-in (authorization code + PKCE, loopback redirect on 127.0.0.1)";
  // The library never switches to the device code by itself: without a browser the interactive call fails.
  const withoutBrowser = noBrowser
    ? "; no browser here (no DISPLAY, WAYLAND_DISPLAY or BROWSER), so its interactive sign-in fails with " +
      "BrowserLaunchError unless the app handles that, e.g. with the device-code flow " +
      "(authbroker token --device-code)"
    : "";
  if (flag.brokerAnswers) {
    return `An app that sets ${flag.flag} signs in through the broker (${flag.broker}).`;
  }
  if (flag.dependencyInstalled === false) {
    return `An app that sets ${flag.flag} fails at start-up with the install message (rule 2) until ${flag.fix}; ` +
      `without the flag it uses ${browser}${withoutBrowser}.`;
  }
  return `An app that sets ${flag.flag} falls back to ${browser} (rule 3: ${flag.reason})${withoutBrowser}.`;
}

function runtimeOf(): DoctorReport["runtime"] {
  const global = globalThis as { Deno?: { version: { deno: string } }; Bun?: { version: string } };
  if (global.Deno) return { name: "deno", version: global.Deno.version.deno };
  if (global.Bun) return { name: "bun", version: global.Bun.version };
  return { name: "node", version: process.versions.node };
}

function render(report: DoctorReport): string {
  const lines: string[] = [];
  const row = (label: string, value: string): void => void lines.push(`${label.padEnd(14)}${value}`);
  row("runtime", `${report.runtime.name} ${report.runtime.version}`);
  row("os", `${report.os.name} ${report.os.arch}, kernel ${report.os.release}`);
  row("platform", `${report.platform}${report.wsl ? " (WSL: Linux under a Windows host)" : ""}`);
  row("wsl", report.wsl ? "yes" : "no");
  if (report.sessionBus) {
    row(
      "session bus",
      report.sessionBus.address ?? `none: ${report.sessionBus.problem}. Fix: ${report.sessionBus.fix}`,
    );
  }
  lines.push("", "Broker opt-in flags:");
  for (const flag of report.flags) {
    if (!flag.applies) {
      lines.push(
        `  ${
          flag.flag.padEnd(22)
        }not this platform (${flag.platform}); redirect URI there: ${flag.redirectUri}`,
      );
      continue;
    }
    lines.push(
      `  ${flag.with ? `${flag.flag} + ${flag.with}` : flag.flag.padEnd(22)}${
        flag.with ? " " : ""
      }applies here`,
    );
    const dependency = flag.dependencyInstalled === undefined
      ? "not checked"
      : flag.dependencyInstalled
      ? "installed"
      : `missing. Fix: ${flag.fix}`;
    lines.push(`    plugin dependency   ${flag.dependency}: ${dependency}`);
    lines.push(
      `    broker              ${
        flag.brokerAnswers
          ? `answers (${flag.broker})`
          : flag.dependencyInstalled === false
          ? "not checked (dependency missing)"
          : `not available: ${flag.reason}. Fix: ${flag.fix}`
      }`,
    );
    lines.push(`    redirect URI        ${flag.redirectUri} (register it for the app)`);
  }
  lines.push("");
  const cache = report.tokenCache;
  row(
    "token cache",
    cache.problem
      ? `${cache.problem}. Fix: ${cache.fix}`
      : cache.exists
      ? `${cache.path}: readable, ${cache.accounts} account(s)`
      : `${cache.path}: not created yet (the first sign-in creates it)`,
  );
  row("fallback", report.fallback);
  lines.push("", report.problems.length ? `${report.problems.length} problem(s):` : "No problems found.");
  for (const problem of report.problems) lines.push(`  - ${problem}`);
  return `${lines.join("\n")}\n`;
}
