import { defineConfig } from "tsup";

export default defineConfig({
  // The same entries as deno.json's "exports" (tests/manifests.test.ts keeps them identical).
  entry: {
    mod: "mod.ts",
    broker: "broker.ts",
    "persistence/mod": "persistence/mod.ts",
    linux_broker: "linux_broker.ts",
    serve: "serve.ts",
    "testing/mod": "testing/mod.ts",
    "cli/main": "cli/main.ts",
  },
  format: ["esm"],
  dts: true,
  clean: true,
  target: "es2022",
  platform: "neutral",
  splitting: true,
  treeshake: true,
  external: ["hono", "@hono/node-server", "dbus-next", "@azure/msal-node-runtime", /^node:/],
});
