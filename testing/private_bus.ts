/**
 * A private D-Bus session bus for tests: a `dbus-daemon` of its own on a `unix:path=` socket in a
 * temporary folder, optionally with D-Bus activation of test services and a Secret Service
 * (`gnome-keyring-daemon`). Nothing on the machine's real session bus is touched.
 *
 * @example
 * ```ts
 * import { startPrivateBus } from "@authbroker/msal/testing";
 *
 * const bus = await startPrivateBus({ secretService: true });
 * // hand bus.address to a D-Bus client, or bus.env to a child process
 * await bus.stop();
 * ```
 *
 * @module
 */

import { type ChildProcess, spawn } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { connectBus, nameHasOwner } from "./_dbus.ts";

/** A service the bus starts on demand (D-Bus activation) when a message is sent to its name. */
export interface ActivatableService {
  /** The well-known bus name, e.g. `com.microsoft.identity.broker1`. */
  name: string;
  /** The command and its arguments; written to the `.service` file's `Exec=` line, quoted. */
  exec: string[];
}

/** Options of {@linkcode startPrivateBus}. */
export interface PrivateBusOptions {
  /**
   * Services written as `<name>.service` files into a `<servicedir>` of the bus, so that the first
   * message to their name starts them. Without any, a message to an unowned name fails with
   * `org.freedesktop.DBus.Error.ServiceUnknown`, as when the service is not installed.
   */
  services?: ActivatableService[];
  /**
   * Start `gnome-keyring-daemon --unlock --components=secrets` on the bus, with an unlocked `login`
   * collection in a scratch home folder: `org.freedesktop.secrets` is owned when the promise resolves.
   * Microsoft's MSAL runtime keeps its accounts there, and the Secret Service cache persistence needs it.
   * Default `false`.
   */
  secretService?: boolean;
  /** Environment variables for the daemon, inherited by activated services. */
  env?: Record<string, string>;
  /**
   * How long the daemon lets a method call wait for its reply before answering
   * `org.freedesktop.DBus.Error.NoReply`, in milliseconds. Default 3 600 000 (one hour), so a
   * client's own deadline decides.
   */
  replyTimeoutMs?: number;
}

/** A running private bus. Stop it when done: no process and no file stays behind. */
export interface PrivateBus {
  /** The address to connect to, as `DBUS_SESSION_BUS_ADDRESS` expects: `unix:path=…,guid=…`. */
  readonly address: string;
  /** The temporary folder holding the socket, the config, the service files and the scratch home. */
  readonly directory: string;
  /** The scratch `HOME` of the Secret Service (and a good `HOME` for child processes that use it). */
  readonly home: string;
  /**
   * Process group ids, `dbus-daemon`'s first, then `gnome-keyring-daemon`'s: each daemon, its watchdog
   * and whatever it starts (activated services) run in one group, empty once `stop()` resolves.
   */
  readonly processGroups: readonly number[];
  /**
   * Environment variables pointing a child process at this bus: `DBUS_SESSION_BUS_ADDRESS`, and
   * `HOME`/`XDG_RUNTIME_DIR`/`XDG_DATA_HOME`/`XDG_CONFIG_HOME` in the scratch folder.
   */
  readonly env: Readonly<Record<string, string>>;
  /**
   * Stops the daemons and every process the bus activated (the whole process group), waits until
   * they are gone, and removes the temporary folder. Safe to call more than once.
   */
  stop(): Promise<void>;
}

/** The private bus could not be started. */
export class PrivateBusError extends Error {
  /**
   * Creates the error.
   *
   * @param message what failed, e.g. the daemon's exit code and stderr, or the package to install.
   * @param options `cause`: the underlying error, when there is one.
   */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "PrivateBusError";
  }
}

const DEFAULT_REPLY_TIMEOUT_MS = 3_600_000;
const START_TIMEOUT_MS = 20_000;

/** Escapes text for an XML element body. */
function xmlText(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

/** The session config: one socket, EXTERNAL auth, allow-all policy, optional service folder. */
function busConfig(socket: string, serviceDir: string | undefined, replyTimeoutMs: number): string {
  return [
    `<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"`,
    ` "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">`,
    `<busconfig>`,
    `  <type>session</type>`,
    `  <listen>unix:path=${xmlText(socket)}</listen>`,
    `  <auth>EXTERNAL</auth>`,
    ...(serviceDir ? [`  <servicedir>${xmlText(serviceDir)}</servicedir>`] : []),
    `  <policy context="default">`,
    `    <allow send_destination="*" eavesdrop="true"/>`,
    `    <allow eavesdrop="true"/>`,
    `    <allow own="*"/>`,
    `  </policy>`,
    `  <limit name="reply_timeout">${replyTimeoutMs}</limit>`,
    `</busconfig>`,
    ``,
  ].join("\n");
}

// The Exec= line is split by D-Bus like a shell would for quoting: single quotes keep everything.
function execLine(argv: string[]): string {
  return argv.map((arg) => /^[\w@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, `'\\''`)}'`).join(" ");
}

/** The `.service` file D-Bus activation reads. */
function serviceFile(service: ActivatableService): string {
  if (!/^[A-Za-z_][\w-]*(\.[A-Za-z_][\w-]*)+$/.test(service.name)) {
    throw new TypeError(`Not a well-known bus name: ${service.name}`);
  }
  if (service.exec.length === 0) throw new TypeError(`Empty exec for ${service.name}`);
  return `[D-BUS Service]\nName=${service.name}\nExec=${execLine(service.exec)}\n`;
}

// Each daemon runs under a small /bin/sh that leads its own process group (setsid) and keeps a watchdog
// on the pipe from the test process: when that pipe closes (the test process ended, however it ended,
// SIGKILL included) the watchdog terminates the whole group. Arguments: the daemon's stdin text, then
// the command.
// The shell reaps the daemon and the watchdog itself before it exits, so no zombie waits for init.
const WATCHDOG = [
  "input=$1; shift",
  "exec 3<&0",
  "(while read -r _; do :; done; kill -TERM 0) <&3 &",
  "watchdog=$!",
  'printf %s "$input" | "$@" 3<&- &',
  "daemon=$!",
  "exec 3<&-",
  `trap 'kill -TERM "$daemon" "$watchdog" 2>/dev/null' TERM INT HUP`,
  'wait "$daemon"; status=$?',
  'kill -TERM "$watchdog" 2>/dev/null',
  "wait",
  'exit "$status"',
].join("\n");

function signalGroup(group: number, signal: "SIGTERM" | "SIGKILL"): void {
  try {
    process.kill(-group, signal);
  } catch {
    // already gone
  }
}

function groupAlive(group: number): boolean {
  try {
    process.kill(-group, 0);
    return true;
  } catch {
    return false;
  }
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Terminates a process group: SIGTERM, then SIGKILL after `graceMs`; resolves when it is empty, or a few
 * seconds later when only orphans that init has yet to reap remain (activated services).
 */
async function endGroup(group: number, graceMs = 3000): Promise<void> {
  signalGroup(group, "SIGTERM");
  if (await emptied(group, graceMs)) return;
  signalGroup(group, "SIGKILL");
  await emptied(group, 5000);
}

async function emptied(group: number, withinMs: number): Promise<boolean> {
  const deadline = Date.now() + withinMs;
  while (groupAlive(group)) {
    if (Date.now() > deadline) return false;
    await sleep(20);
  }
  return true;
}

// Each daemon leads its own process group (the watchdog's), so stopping it also ends what it spawned.
function spawnGroup(command: string, args: string[], env: Record<string, string>, input = ""): ChildProcess {
  const child = spawn("/bin/sh", ["-c", WATCHDOG, "watchdog", input, command, ...args], {
    detached: true,
    env,
    stdio: ["pipe", "pipe", "pipe"],
  });
  if (child.pid !== undefined) {
    // A bus nobody stopped must not keep the test process alive; the watchdog ends it when it exits.
    child.unref();
    for (const stream of [child.stdin, child.stdout, child.stderr]) {
      (stream as { unref?: () => void } | null)?.unref?.();
    }
  }
  return child;
}

/** The error for a daemon that ended while starting; 127 is the shell's "command not found". */
function exitError(
  command: string,
  debianPackage: string,
  code: number | null,
  stderr: string,
): PrivateBusError {
  return new PrivateBusError(
    code === 127
      ? `Cannot run ${command} (command not found). Install it: apt-get install ${debianPackage}`
      : `${command} exited with code ${code} while starting: ${stderr}`,
  );
}

/** Collects a child's stderr tail for error messages. */
function stderrTail(child: ChildProcess): () => string {
  let tail = "";
  child.stderr?.on("data", (chunk: Uint8Array | string) => {
    tail = (tail + String(chunk)).slice(-2000);
  });
  return () => tail.trim();
}

/** Reads the first line `dbus-daemon --print-address=1` writes. */
function readAddress(child: ChildProcess, stderr: () => string): Promise<string> {
  return new Promise((resolve, reject) => {
    let out = "";
    const timer = setTimeout(
      () => fail(new PrivateBusError("dbus-daemon did not print its address")),
      START_TIMEOUT_MS,
    );
    const fail = (error: Error) => {
      clearTimeout(timer);
      reject(error);
    };
    child.once(
      "error",
      (error) => fail(new PrivateBusError(`Cannot run /bin/sh: ${error.message}`, { cause: error })),
    );
    child.once("exit", (code) => fail(exitError("dbus-daemon", "dbus", code, stderr())));
    child.stdout?.on("data", (chunk: Uint8Array | string) => {
      out += String(chunk);
      const newline = out.indexOf("\n");
      if (newline >= 0) {
        clearTimeout(timer);
        resolve(out.slice(0, newline).trim());
      }
    });
  });
}

function waitExit(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once("exit", () => resolve()));
}

/** Starts gnome-keyring's Secret Service on the bus and waits until it owns `org.freedesktop.secrets`. */
async function startSecretService(address: string, env: Record<string, string>): Promise<ChildProcess> {
  // --unlock reads the new login keyring's password from stdin until EOF.
  const child = spawnGroup(
    "gnome-keyring-daemon",
    ["--foreground", "--unlock", "--components=secrets"],
    env,
    "test-keyring-password",
  );
  const stderr = stderrTail(child);
  const failed = new Promise<never>((_, reject) => {
    child.once(
      "error",
      (error) => reject(new PrivateBusError(`Cannot run /bin/sh: ${error.message}`, { cause: error })),
    );
    child.once("exit", (code) => reject(exitError("gnome-keyring-daemon", "gnome-keyring", code, stderr())));
  });
  failed.catch(() => {});
  const bus = await connectBus(address);
  try {
    const deadline = Date.now() + START_TIMEOUT_MS;
    while (!(await Promise.race([nameHasOwner(bus, "org.freedesktop.secrets"), failed]))) {
      if (Date.now() > deadline) {
        throw new PrivateBusError(`gnome-keyring-daemon did not own org.freedesktop.secrets: ${stderr()}`);
      }
      await Promise.race([sleep(50), failed]);
    }
  } finally {
    bus.disconnect();
  }
  return child;
}

/**
 * Starts a private session bus: `dbus-daemon --nofork` with a generated config (allow-all policy,
 * `unix:path=` socket in a fresh temporary folder, a `<servicedir>` when `services` are given), and
 * `gnome-keyring-daemon` on it when `secretService` is set.
 *
 * Works under Node, Bun and Deno (`--allow-run --allow-read --allow-write --allow-env`). The daemons do
 * not keep the test process alive, and end when it ends, however it ends (a crash or SIGKILL included),
 * even if `stop()` was never called: each runs under a `/bin/sh` watchdog reading a pipe from it.
 *
 * @example
 * ```ts
 * import { startPrivateBus } from "@authbroker/msal/testing";
 *
 * const bus = await startPrivateBus({
 *   services: [{ name: "org.example.Echo", exec: ["/usr/bin/node", "echo_service.js"] }],
 * });
 * try {
 *   // connect with dbus-next: sessionBus({ busAddress: bus.address })
 * } finally {
 *   await bus.stop();
 * }
 * ```
 *
 * @param options activatable `services`, `secretService`, extra daemon `env`, and `replyTimeoutMs`
 *   (milliseconds); every field is optional.
 * @returns the running bus: its `address`, `env` for child processes, scratch folders, process groups,
 *   and `stop()`.
 * @throws {PrivateBusError} when `dbus-daemon` (or `gnome-keyring-daemon`) is missing or fails to start.
 * @throws {TypeError} for a service with an invalid bus name or an empty `exec`.
 */
export async function startPrivateBus(options: PrivateBusOptions = {}): Promise<PrivateBus> {
  const services = options.services ?? [];
  const serviceFiles = services.map((service) => [service.name, serviceFile(service)] as const);
  const directory = await mkdtemp(join(tmpdir(), "authbroker-bus-"));
  const home = join(directory, "home");
  const runtimeDir = join(directory, "run");
  mkdirSync(home, { mode: 0o700 });
  mkdirSync(runtimeDir, { mode: 0o700 });
  let serviceDir: string | undefined;
  if (serviceFiles.length > 0) {
    serviceDir = join(directory, "services");
    mkdirSync(serviceDir);
    for (const [name, text] of serviceFiles) await writeFile(join(serviceDir, `${name}.service`), text);
  }
  const configPath = join(directory, "bus.conf");
  await writeFile(
    configPath,
    busConfig(join(directory, "bus"), serviceDir, options.replyTimeoutMs ?? DEFAULT_REPLY_TIMEOUT_MS),
  );

  const scratch = {
    HOME: home,
    XDG_RUNTIME_DIR: runtimeDir,
    XDG_DATA_HOME: join(home, ".local", "share"),
    XDG_CONFIG_HOME: join(home, ".config"),
  };
  const baseEnv: Record<string, string> = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (value !== undefined) baseEnv[key] = value;
  }
  delete baseEnv.DBUS_SESSION_BUS_ADDRESS;
  const daemon = spawnGroup(
    "dbus-daemon",
    [`--config-file=${configPath}`, "--nofork", "--print-address=1"],
    { ...baseEnv, ...scratch, ...options.env },
  );
  const children: ChildProcess[] = [daemon];
  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> =>
    stopping ??= (async () => {
      for (const child of children.slice().reverse()) {
        if (child.pid !== undefined) {
          await endGroup(child.pid);
          await waitExit(child);
        }
        child.stdout?.destroy();
        child.stderr?.destroy();
        child.stdin?.destroy();
      }
      await rm(directory, { recursive: true, force: true });
    })();

  try {
    const address = await readAddress(daemon, stderrTail(daemon));
    const env = { DBUS_SESSION_BUS_ADDRESS: address, ...scratch };
    if (options.secretService) {
      children.push(await startSecretService(address, { ...baseEnv, ...env }));
    }
    const processGroups = children.map((child) => child.pid!);
    return { address, directory, home, processGroups, env, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}
