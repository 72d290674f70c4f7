import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { CLIENT_VERSION } from "../core/http.ts";

const root = new URL("../", import.meta.url);
const readJson = (name: string) => JSON.parse(readFileSync(new URL(name, root), "utf8"));

describe("package manifests", () => {
  const deno = readJson("deno.json");
  const npm = readJson("package.json");

  it("export the same entry points on JSR and npm", () => {
    assert.deepEqual(Object.keys(npm.exports).sort(), Object.keys(deno.exports).sort());
  });

  it("point each npm entry at the build of the JSR entry, with types", () => {
    for (const [entry, source] of Object.entries(deno.exports as Record<string, string>)) {
      const built = source.replace(/^\.\//, "./dist/").replace(/\.ts$/, "");
      assert.equal(npm.exports[entry].import, `${built}.js`, entry);
      assert.equal(npm.exports[entry].types, `${built}.d.ts`, entry);
    }
  });

  it("build every JSR entry, and only those, with tsup", () => {
    const config = readFileSync(new URL("tsup.config.ts", root), "utf8");
    const block = config.match(/entry:\s*\{([^}]*)\}/)?.[1] ?? "";
    const built = Object.fromEntries(
      [...block.matchAll(/["']?([\w/.-]+)["']?\s*:\s*["']([^"']+)["']/g)].map((
        [, name, source],
      ) => [name, source]),
    );
    const expected = Object.fromEntries(
      Object.values(deno.exports as Record<string, string>).map((source) => [
        source.replace(/^\.\//, "").replace(/\.ts$/, ""),
        source.replace(/^\.\//, ""),
      ]),
    );
    assert.deepEqual(built, expected);
  });

  it("publish every entry's file on JSR", () => {
    const included: string[] = deno.publish.include;
    for (const source of Object.values(deno.exports as Record<string, string>)) {
      const file = source.replace(/^\.\//, "");
      assert.ok(included.some((item) => item === file || file.startsWith(item)), `${file} is not published`);
    }
  });

  it("agree with the x-client-ver the library sends", () => {
    assert.equal(CLIENT_VERSION, npm.version);
    assert.equal(CLIENT_VERSION, deno.version);
  });

  it("agree on name and version, ship ESM only and declare no side effects", () => {
    assert.equal(npm.name, deno.name);
    assert.equal(npm.version, deno.version);
    assert.equal(npm.type, "module");
    assert.equal(npm.sideEffects, false);
  });

  it("match package-lock.json, so `npm install` on a fresh clone leaves it unchanged", () => {
    const lock = readJson("package-lock.json");
    const project = lock.packages[""];
    assert.equal(lock.name, npm.name);
    assert.equal(lock.version, npm.version);
    for (
      const field of [
        "name",
        "version",
        "license",
        "engines",
        "dependencies",
        "optionalDependencies",
        "devDependencies",
        "peerDependencies",
        "peerDependenciesMeta",
      ]
    ) {
      assert.deepEqual(
        project[field],
        npm[field],
        `package-lock.json's ${field} differs from package.json's`,
      );
    }
  });

  it("keep broker dependencies optional peers, never runtime dependencies", () => {
    for (const name of ["dbus-next", "@azure/msal-node-runtime"]) {
      assert.equal(npm.dependencies?.[name], undefined, name);
      assert.equal(npm.peerDependenciesMeta?.[name]?.optional, true, name);
    }
  });
});

describe("public entries", () => {
  it("give plugin authors the Broker contract and registry helpers from ./broker", async () => {
    const broker = await import("../broker.ts");
    assert.equal(typeof broker.brokerPluginFromModule, "function");
    assert.equal(typeof broker.isBrokerError, "function");
    assert.equal(typeof broker.CONSOLE_WINDOW_HANDLE, "symbol");
    const error = new broker.BrokerUnavailableError("no session bus");
    assert.equal(error.code, "broker_unavailable");
  });

  it("keep the plugin contract out of the app developers' entry", async () => {
    const app: Record<string, unknown> = await import("../mod.ts");
    for (const name of ["BrokerUnavailableError", "isBrokerError", "brokerPluginFromModule", "LogWriter"]) {
      assert.equal(app[name], undefined, `mod.ts exports ${name}`);
    }
    assert.equal(app.CONSOLE_WINDOW_HANDLE, (await import("../broker.ts")).CONSOLE_WINDOW_HANDLE);
  });
});
