import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import process from "node:process";
import { detectPlatform, detectRuntime, installCommand, type PlatformProbe } from "../core/platform.ts";

function probe(facts: {
  platform: string;
  release?: string;
  procVersion?: string;
  env?: Record<string, string>;
}): PlatformProbe {
  return {
    platform: () => facts.platform,
    release: () => facts.release,
    procVersion: () => facts.procVersion,
    env: (name) => facts.env?.[name],
  };
}

describe("detectPlatform", () => {
  it("reports Windows and macOS", () => {
    assert.equal(detectPlatform(probe({ platform: "win32", release: "10.0.22631" })), "windows");
    assert.equal(detectPlatform(probe({ platform: "darwin", release: "23.4.0" })), "mac");
  });

  it("reports plain Linux as linux", () => {
    const linux = probe({
      platform: "linux",
      release: "6.8.0-45-generic",
      procVersion: "Linux version 6.8.0-45-generic (buildd@lcy02-amd64-115) (gcc 13.2.0)",
    });
    assert.equal(detectPlatform(linux), "linux");
  });

  it("recognises WSL1 and WSL2 by their kernel release", () => {
    assert.equal(detectPlatform(probe({ platform: "linux", release: "4.4.0-19041-Microsoft" })), "wsl");
    assert.equal(
      detectPlatform(probe({ platform: "linux", release: "5.15.90.1-microsoft-standard-WSL2" })),
      "wsl",
    );
  });

  it("recognises WSL by /proc/version when the release does not say", () => {
    const wsl = probe({
      platform: "linux",
      release: "6.1.21.2-custom",
      procVersion: "Linux version 6.1.21.2-custom (root@1c602f52c2e4) #1 SMP Microsoft Thu Apr 4 2024",
    });
    assert.equal(detectPlatform(wsl), "wsl");
  });

  it("recognises WSL by WSL_DISTRO_NAME when the kernel does not say", () => {
    const wsl = probe({ platform: "linux", release: "6.1.21.2-custom", env: { WSL_DISTRO_NAME: "Ubuntu" } });
    assert.equal(detectPlatform(wsl), "wsl");
  });

  it("ignores 'microsoft' on Windows and macOS", () => {
    assert.equal(detectPlatform(probe({ platform: "win32", release: "microsoft" })), "windows");
    assert.equal(detectPlatform(probe({ platform: "darwin", env: { WSL_DISTRO_NAME: "x" } })), "mac");
  });

  it("detects the machine running the tests, as the OS itself reports it", () => {
    // Independent evidence: Node's process.platform and the kernel's own /proc/version.
    const os = process.platform;
    const proc = os === "linux" && existsSync("/proc/version") ? readFileSync("/proc/version", "utf8") : "";
    const expected = os === "win32"
      ? "windows"
      : os === "darwin"
      ? "mac"
      : /microsoft/i.test(proc)
      ? "wsl"
      : "linux";
    assert.equal(detectPlatform(), expected);
  });
});

describe("detectRuntime", () => {
  it("reports the runtime actually running this test, as the runtime's own version list names it", () => {
    // Independent of detectRuntime's globals: Deno and Bun add themselves to process.versions.
    const versions = process.versions as Record<string, string | undefined>;
    const expected = versions.deno ? "deno" : versions.bun ? "bun" : "node";
    assert.equal(detectRuntime(), expected);
  });
});

describe("installCommand", () => {
  const env = (globalThis as { process?: { env: Record<string, string | undefined> } }).process!.env;
  let saved: string | undefined;
  before(() => {
    saved = env.npm_config_user_agent;
    delete env.npm_config_user_agent;
  });
  after(() => {
    if (saved === undefined) delete env.npm_config_user_agent;
    else env.npm_config_user_agent = saved;
  });

  it("names each runtime's own package manager", () => {
    assert.equal(installCommand("dbus-next", "node"), "npm install dbus-next");
    assert.equal(installCommand("dbus-next", "bun"), "bun add dbus-next");
    assert.equal(installCommand("dbus-next", "deno"), "deno add npm:dbus-next");
    assert.equal(installCommand("@azure/msal-node-runtime", "deno"), "deno add npm:@azure/msal-node-runtime");
  });

  it("uses pnpm or yarn on Node when the app was started by them", () => {
    env.npm_config_user_agent = "pnpm/9.12.0 npm/? node/v20.18.0 linux x64";
    assert.equal(installCommand("dbus-next", "node"), "pnpm add dbus-next");
    env.npm_config_user_agent = "yarn/1.22.22 npm/? node/v20.18.0 linux x64";
    assert.equal(installCommand("dbus-next", "node"), "yarn add dbus-next");
    env.npm_config_user_agent = "npm/10.8.2 node/v20.18.0 linux x64 workspaces/false";
    assert.equal(installCommand("dbus-next", "node"), "npm install dbus-next");
    delete env.npm_config_user_agent;
  });

  it("names the dev-dependency form when asked (the testing kit's D-Bus fakes)", () => {
    assert.equal(installCommand("dbus-next", "node", true), "npm install --save-dev dbus-next");
    assert.equal(installCommand("dbus-next", "bun", true), "bun add --dev dbus-next");
    assert.equal(installCommand("dbus-next", "deno", true), "deno add --dev npm:dbus-next");
    env.npm_config_user_agent = "pnpm/9.12.0 npm/? node/v20.18.0 linux x64";
    assert.equal(installCommand("dbus-next", "node", true), "pnpm add --save-dev dbus-next");
    env.npm_config_user_agent = "yarn/1.22.22 npm/? node/v20.18.0 linux x64";
    assert.equal(installCommand("dbus-next", "node", true), "yarn add --dev dbus-next");
    delete env.npm_config_user_agent;
  });

  it("defaults to the current runtime", () => {
    const expected = {
      deno: "deno add npm:dbus-next",
      bun: "bun add dbus-next",
      node: "npm install dbus-next",
    }[detectRuntime()];
    assert.equal(installCommand("dbus-next"), expected);
  });
});
