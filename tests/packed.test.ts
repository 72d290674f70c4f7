// Rule 2 from the published package: `npm pack` the build, install the tarball into a scratch project
// without dbus-next, and opt into the Linux broker under the runtime running this file. Then, with
// dbus-next installed and no session bus, the same app falls back (rule 3): the plugin shipped where
// the registry looks for it.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { cpSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
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
const INSTALL =
  { node: "npm install dbus-next", bun: "bun add dbus-next", deno: "deno add npm:dbus-next" }[runtime];

const APP = `
import { PublicClientApplication } from "@authbroker/msal";
try {
  const app = await PublicClientApplication.create("11111111-2222-3333-4444-555555555555", {
    enableBrokerOnLinux: true,
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
      install(scratch, join(work, tarball));

      const missing = JSON.parse(run([...RUNTIME_COMMAND, "app.mjs"], scratch));
      assert.deepEqual(missing, {
        name: "BrokerDependencyError",
        code: "broker_dependency_missing",
        message: `You need to install dependency by: ${INSTALL}`,
      });

      install(scratch, "dbus-next@^0.10.2");
      const noBus = JSON.parse(run([...RUNTIME_COMMAND, "app.mjs"], scratch, {
        DBUS_SESSION_BUS_ADDRESS: `unix:path=${join(work, "no-bus-here")}`,
      }));
      assert.equal(noBus.status?.enabled, false, JSON.stringify(noBus));
      assert.equal(noBus.status.plugin, "linux");
      assert.match(noBus.status.reason, /cannot connect to the D-Bus session bus at unix:path=.*no-bus-here/);
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  });
});
