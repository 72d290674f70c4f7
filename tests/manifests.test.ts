import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";

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

  it("agree on name and version, ship ESM only and declare no side effects", () => {
    assert.equal(npm.name, deno.name);
    assert.equal(npm.version, deno.version);
    assert.equal(npm.type, "module");
    assert.equal(npm.sideEffects, false);
  });

  it("keep broker dependencies optional peers, never runtime dependencies", () => {
    for (const name of ["dbus-next", "@azure/msal-node-runtime"]) {
      assert.equal(npm.dependencies?.[name], undefined, name);
      assert.equal(npm.peerDependenciesMeta?.[name]?.optional, true, name);
    }
  });
});
