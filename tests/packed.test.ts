// Rule 2 from the published package: `npm pack` the build, install the tarball into a scratch project
// without dbus-next, and opt into the Linux broker under the runtime running this file. Then, with
// dbus-next installed and no session bus, the same app falls back (rule 3): the plugin shipped where
// the registry looks for it. The same for Microsoft's runtime (`linuxBroker: "msalruntime"`): missing,
// then present without a broker, then present with its native library unable to load. And the keyring
// token cache without dbus-next: a plain DependencyError, not a broker's.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { detectRuntime } from "../core/platform.ts";

const root = fileURLToPath(new URL("../", import.meta.url));
const runtime = detectRuntime();
const RUNTIME_COMMAND = {
  node: ["node"],
  bun: [join(root, "node_modules/.bin/bun")],
  deno: [join(root, "node_modules/.bin/deno"), "run", "--allow-all"],
}[runtime];
const installCommandFor = (pkg: string): string =>
  ({ node: `npm install ${pkg}`, bun: `bun add ${pkg}`, deno: `deno add npm:${pkg}` })[runtime];

// The keyring token cache is not a broker: without dbus-next it throws the neutral DependencyError.
const KEYRING_APP = `
import { TokenCache } from "@authbroker/msal";
import { SecretServiceCachePlugin } from "@authbroker/msal/persistence";
try {
  const plugin = new SecretServiceCachePlugin({ application: "packed-test", lockFolder: process.cwd() });
  const cache = new TokenCache({ plugin });
  await cache.access(() => cache.getAccounts(), { readOnly: true });
  console.log(JSON.stringify({ ok: true }));
} catch (error) {
  console.log(JSON.stringify({ name: error.name, code: error.code, message: error.message }));
}
`;

const APP = `
import { PublicClientApplication } from "@authbroker/msal";
try {
  const app = await PublicClientApplication.create("11111111-2222-3333-4444-555555555555", {
    enableBrokerOnLinux: true,
    ...JSON.parse(process.env.APP_OPTIONS ?? "{}"),
  });
  console.log(JSON.stringify({ status: await app.brokerStatus() }));
} catch (error) {
  console.log(JSON.stringify({ name: error.name, code: error.code, message: error.message }));
}
`;

function run(command: string[], cwd: string, env: Record<string, string> = {}): string {
  const [file, ...args] = command;
  // npm_config_user_agent would make the install command name the package manager running the tests.
  const { npm_config_user_agent: _, ...inherited } = process.env;
  return execFileSync(file, args, {
    cwd,
    encoding: "utf8",
    env: { ...inherited, ...env, NO_COLOR: "1" },
    stdio: ["ignore", "pipe", "pipe"],
  });
}

/** Runs the installed `authbroker` command (npm's bin symlink; Deno is given the file itself) to its end. */
function authbroker(args: string[], cwd: string): { status: number | null; stdout: string; stderr: string } {
  const bin = runtime === "deno"
    ? "node_modules/@authbroker/msal/dist/cli/main.js"
    : "node_modules/.bin/authbroker";
  const [file, ...rest] = [...RUNTIME_COMMAND, bin, ...args];
  const { npm_config_user_agent: _, ...inherited } = process.env;
  const { status, stdout, stderr } = spawnSync(file, rest, {
    cwd,
    encoding: "utf8",
    env: { ...inherited, NO_COLOR: "1" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  return { status, stdout, stderr };
}

function install(cwd: string, ...packages: string[]): void {
  run(
    ["npm", "install", "--prefer-offline", "--no-audit", "--no-fund", "--ignore-scripts", ...packages],
    cwd,
  );
}

describe(`the published package under ${runtime}`, () => {
  it("rule 2 without dbus-next, rule 3 with it and no session bus", { timeout: 240_000 }, () => {
    const work = mkdtempSync(join(tmpdir(), "authbroker-packed-"));
    try {
      const pkg = join(work, "pkg");
      const scratch = join(work, "app");
      for (const file of ["package.json", "README.md", "LICENSE"]) cpSync(join(root, file), join(pkg, file));
      run(["npx", "tsup", "--silent", "--config", "tests/fixtures/packed.tsup.config.ts"], root, {
        PACKED_OUT_DIR: join(pkg, "dist"),
      });
      const tarball = run(["npm", "pack", "--silent", "--pack-destination", work], pkg).trim().split("\n")
        .pop()!;
      cpSync(join(root, "tests/fixtures/packed_app.json"), join(scratch, "package.json"));
      writeFileSync(join(scratch, "app.mjs"), APP);
      writeFileSync(join(scratch, "keyring.mjs"), KEYRING_APP);
      install(scratch, join(work, tarball));

      const missing = JSON.parse(run([...RUNTIME_COMMAND, "app.mjs"], scratch));
      assert.deepEqual(missing, {
        name: "BrokerDependencyError",
        code: "broker_dependency_missing",
        message: `You need to install dependency by: ${installCommandFor("dbus-next")}`,
      });
      assert.deepEqual(JSON.parse(run([...RUNTIME_COMMAND, "keyring.mjs"], scratch)), {
        name: "DependencyError",
        code: "dependency_missing",
        message: `The Secret Service (keyring) token cache needs the dbus-next package; install it by: ${
          installCommandFor("dbus-next")
        }`,
      });

      // The ./cli entry, imported: nothing runs, nothing is printed.
      writeFileSync(
        join(scratch, "import_cli.mjs"),
        'await import("@authbroker/msal/cli"); console.log("imported");',
      );
      const imported = run([...RUNTIME_COMMAND, "import_cli.mjs"], scratch);
      assert.equal(imported, "imported\n");

      // The command with --broker names the install next to the command, not in an app's project.
      const broker = authbroker(["token", "--client-id", "x", "--scope", "User.Read", "--broker"], scratch);
      assert.equal(broker.status, 3, broker.stderr);
      assert.match(broker.stderr, /^error: broker_dependency_missing$/m);
      assert.match(
        broker.stderr,
        new RegExp(
          `You need to install dependency by: ${
            {
              node: "npm install -g @authbroker/msal",
              bun: "bun add -g @authbroker/msal",
              deno: "deno add npm:",
            }[runtime]
          } ?dbus-next`,
        ),
      );

      // The demo without dbus-next: every step numbered, the skipped ones say why, rule 2 is the real error.
      const demo = authbroker(["demo"], scratch);
      assert.equal(demo.status, 0, demo.stderr);
      assert.deepEqual(demo.stdout.match(/^\d\./gm), ["1.", "2.", "3.", "4.", "5."], demo.stdout);
      assert.match(demo.stdout, /^1\. .*\n +\(skipped: no broker here, see Set-up\)/m);
      assert.match(
        demo.stdout,
        new RegExp(
          `no broker: the fake broker needs dbus-next, which is not installed where this command runs \\(add it: ${
            {
              node: "npm install -g @authbroker/msal ",
              bun: "bun add -g @authbroker/msal ",
              deno: "deno add npm:",
            }[runtime]
          }dbus-next\\)`,
        ),
      );
      assert.match(
        demo.stdout,
        /dbus-next is not installed where this command runs, so an app that opts in gets/,
      );
      assert.match(
        demo.stdout,
        /throws BrokerDependencyError:\n +"You need to install dependency by: .*dbus-next"/,
      );
      assert.doesNotMatch(demo.stdout, /Simulated: dbus-next is installed|unexpected/);

      install(scratch, "dbus-next@^0.10.2");
      const noBus = JSON.parse(run([...RUNTIME_COMMAND, "app.mjs"], scratch, {
        DBUS_SESSION_BUS_ADDRESS: `unix:path=${join(work, "no-bus-here")}`,
      }));
      assert.equal(noBus.status?.enabled, false, JSON.stringify(noBus));
      assert.equal(noBus.status.plugin, "linux");
      assert.match(noBus.status.reason, /cannot connect to the D-Bus session bus at unix:path=.*no-bus-here/);

      // Microsoft's runtime, the same three ways.
      const msalruntime = { APP_OPTIONS: JSON.stringify({ linuxBroker: "msalruntime" }) };
      const noBusHere = `unix:path=${join(work, "no-bus-here")}`;
      const runtimeMissing = JSON.parse(run([...RUNTIME_COMMAND, "app.mjs"], scratch, msalruntime));
      assert.deepEqual(runtimeMissing, {
        name: "BrokerDependencyError",
        code: "broker_dependency_missing",
        message: `You need to install dependency by: ${installCommandFor("@azure/msal-node-runtime")}`,
      });

      // Installed by copying (its Linux x64 build only: 40 MB fewer to copy than a full install).
      const installed = join(root, "node_modules/@azure/msal-node-runtime");
      const copy = join(scratch, "node_modules/@azure/msal-node-runtime");
      for (const file of ["package.json", "dist/index.cjs", "dist/index.js", "dist/linux/ubuntu/x64"]) {
        cpSync(join(installed, file), join(copy, file), { recursive: true });
      }
      const noBroker = JSON.parse(
        run([...RUNTIME_COMMAND, "app.mjs"], scratch, {
          ...msalruntime,
          DBUS_SESSION_BUS_ADDRESS: noBusHere,
        }),
      );
      assert.equal(noBroker.status?.enabled, false, JSON.stringify(noBroker));
      assert.equal(noBroker.status.plugin, "msalruntime");
      assert.match(
        noBroker.status.reason,
        /could not start the broker: Broker cannot be initialized for MSALRuntime/,
      );

      // Its library now links a WebKitGTK no system has: the reason names it and the package.
      const library = join(copy, "dist/linux/ubuntu/x64/libmsalruntime.so");
      const bytes = readFileSync(library);
      bytes.write("libwebkit2gtk-4.1.so.9\0", bytes.indexOf("libwebkit2gtk-4.1.so.0\0"), "latin1");
      writeFileSync(library, bytes);
      const noLibrary = JSON.parse(
        run([...RUNTIME_COMMAND, "app.mjs"], scratch, {
          ...msalruntime,
          DBUS_SESSION_BUS_ADDRESS: noBusHere,
        }),
      );
      assert.equal(noLibrary.status?.enabled, false, JSON.stringify(noLibrary));
      assert.match(
        noLibrary.status.reason,
        /^Microsoft's runtime \(@azure\/msal-node-runtime\) could not load/,
      );
      assert.match(noLibrary.status.reason, /Binaries could not be loaded/);
      assert.match(
        noLibrary.status.reason,
        /missing libwebkit2gtk-4\.1\.so\.9; on Debian\/Ubuntu: sudo apt-get install libwebkit2gtk-4\.1-0$/,
      );
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  });
});
