import { defineConfig } from "tsup";

export default defineConfig({
  entry: { mod: "mod.ts", "testing/mod": "testing/mod.ts" },
  format: ["esm"],
  dts: true,
  clean: true,
  target: "es2022",
  platform: "neutral",
  splitting: true,
  treeshake: true,
  external: ["hono", "@hono/node-server", "dbus-next", "@azure/msal-node-runtime", /^node:/],
});
