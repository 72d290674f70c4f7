// Run in a fresh process: prints the milliseconds from before the first import of a library to a
// constructed PublicClientApplication. Argument: "ours" (the built dist/) or "msal-node".
const which = (globalThis.Deno?.args ?? globalThis.process.argv.slice(2))[0];
const start = performance.now();
if (which === "ours") {
  const { PublicClientApplication } = await import("../dist/mod.js");
  new PublicClientApplication("04b07795-8ddb-461a-bbee-02f9e1bf7b46");
} else {
  const { PublicClientApplication } = await import("@azure/msal-node");
  new PublicClientApplication({ auth: { clientId: "04b07795-8ddb-461a-bbee-02f9e1bf7b46" } });
}
console.log((performance.now() - start).toFixed(3));
