// The job `authbroker token` does, written with @azure/msal-node and its own file cache handling (an
// ICachePlugin that reads the file before and writes it after, as msal-node's docs show): one process,
// print the access token of `username` for `scope` from the persisted cache. Run by bench/cli.ts under
// Node, Deno and Bun; the authority metadata comes in MSAL_NODE_METADATA so nothing touches the network.
import { readFile, writeFile } from "node:fs/promises";
import process from "node:process";
import { PublicClientApplication } from "@azure/msal-node";

const [cacheFile, clientId, tenant, username, scope] = process.argv.slice(2);
const { authorityMetadata, cloudDiscoveryMetadata } = JSON.parse(process.env.MSAL_NODE_METADATA);
const cachePlugin = {
  beforeCacheAccess: async (context) => context.tokenCache.deserialize(await readFile(cacheFile, "utf8")),
  afterCacheAccess: async (context) => {
    if (context.cacheHasChanged) await writeFile(cacheFile, context.tokenCache.serialize());
  },
};
const app = new PublicClientApplication({
  auth: {
    clientId,
    authority: `https://login.microsoftonline.com/${tenant}`,
    authorityMetadata,
    cloudDiscoveryMetadata,
    knownAuthorities: ["login.microsoftonline.com"],
  },
  cache: { cachePlugin },
});
const account = (await app.getAllAccounts()).find((a) => a.username === username);
const result = await app.acquireTokenSilent({ account, scopes: [scope] });
process.stdout.write(`${result.accessToken}\n`);
