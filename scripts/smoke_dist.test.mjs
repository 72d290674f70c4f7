// Imports the built npm package (dist/) under plain Node and signs a user in against the fake
// authority: proves the published JavaScript works without TypeScript tooling.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PublicClientApplication, TokenCache } from "../dist/mod.js";
import { FileCachePlugin } from "../dist/persistence/mod.js";
import { serve } from "../dist/serve.js";
import { FakeAuthority } from "../dist/testing/mod.js";

describe("dist/ under plain Node", () => {
  it("runs the device-code flow, then serves a token from the cache", async () => {
    const idp = await FakeAuthority.start({ deviceCodeInterval: 0 });
    try {
      const app = new PublicClientApplication("11111111-2222-3333-4444-555555555555", {
        authority: idp.authority("organizations"),
      });
      const flow = await app.initiateDeviceFlow(["User.Read"]);
      assert.ok("user_code" in flow, JSON.stringify(flow));
      idp.approveDeviceCode(flow.user_code, "alice@contoso.com");
      const signedIn = await app.acquireTokenByDeviceFlow(flow);
      assert.ok("access_token" in signedIn, JSON.stringify(signedIn));
      const [account] = await app.getAccounts();
      const silent = await app.acquireTokenSilent(["User.Read"], { account });
      assert.equal(silent?.token_source, "cache");
      assert.equal(silent?.access_token, signedIn.access_token);
    } finally {
      await idp.close();
    }
  });

  it("persists the cache in a file through the ./persistence entry", async () => {
    const idp = await FakeAuthority.start({ deviceCodeInterval: 0 });
    const folder = mkdtempSync(join(tmpdir(), "smoke-dist-"));
    const app = (path) =>
      new PublicClientApplication("11111111-2222-3333-4444-555555555555", {
        authority: idp.authority("organizations"),
        tokenCache: new TokenCache({ plugin: new FileCachePlugin(path) }),
      });
    try {
      const first = app(join(folder, "cache.json"));
      const flow = await first.initiateDeviceFlow(["User.Read"]);
      idp.approveDeviceCode(flow.user_code, "alice@contoso.com");
      const signedIn = await first.acquireTokenByDeviceFlow(flow);
      const second = app(join(folder, "cache.json"));
      const [account] = await second.getAccounts();
      const silent = await second.acquireTokenSilent(["User.Read"], { account });
      assert.equal(silent?.access_token, signedIn.access_token);
    } finally {
      rmSync(folder, { recursive: true, force: true });
      await idp.close();
    }
  });

  it("serves a fetch handler on 127.0.0.1 through the ./serve entry, and frees the port on close", async () => {
    const api = await serve((request) => new Response(new URL(request.url).pathname));
    const answer = await fetch(`http://127.0.0.1:${api.port}/me`);
    assert.equal(await answer.text(), "/me");
    await api.close();
    await assert.rejects(fetch(`http://127.0.0.1:${api.port}/me`));
  });
});
