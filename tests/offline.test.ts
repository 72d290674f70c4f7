// Listing accounts and serving a valid cached access token need no network: discovery runs only when
// a request must go to the identity provider, once per app.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  NetworkError,
  PublicClientApplication,
  type PublicClientApplicationOptions,
  TokenCache,
} from "../mod.ts";
import { FakeAuthority } from "../testing/mod.ts";
import { CLIENT_ID, signInWithDeviceCode } from "./_helpers.ts";

const USER = { username: "grace@contoso.com", password: "pw" };

let cloud: FakeAuthority;
before(async () => {
  cloud = await FakeAuthority.start({
    origin: "https://login.microsoftonline.com",
    users: [USER],
    deviceCodeInterval: 0,
  });
});
after(() => cloud.close());

/** A fetch with no network at all. */
const offline: typeof fetch = (input) => {
  throw new TypeError(`fetch failed: no network (${input instanceof Request ? input.url : String(input)})`);
};

const CASES: [string, () => PublicClientApplicationOptions][] = [
  ["authority .../organizations", () => ({ authority: "https://login.microsoftonline.com/organizations" })],
  ["authority .../<tenant id>", () => ({ authority: `https://login.microsoftonline.com/${cloud.tenantId}` })],
  ["authority .../common", () => ({ authority: "https://login.microsoftonline.com/common" })],
  ["instanceDiscovery: false", () => ({ authority: `${cloud.url}/organizations`, instanceDiscovery: false })],
];

/** Signs in with the device-code flow and returns the serialized cache. */
async function signedInCache(options: PublicClientApplicationOptions): Promise<string> {
  const cache = new TokenCache();
  const app = new PublicClientApplication(CLIENT_ID, { ...options, fetch: cloud.fetch, tokenCache: cache });
  await signInWithDeviceCode(cloud, app, USER.username);
  return cache.serialize();
}

describe("no network needed for the cache", () => {
  for (const [name, options] of CASES) {
    it(`${name}: getAccounts and a cached access token with a fetch that always throws`, async () => {
      const blob = await signedInCache(options());
      const cache = new TokenCache();
      cache.deserialize(blob);
      const app = new PublicClientApplication(CLIENT_ID, { ...options(), fetch: offline, tokenCache: cache });
      const [account, ...others] = await app.getAccounts({ username: USER.username });
      assert.equal(others.length, 0);
      assert.equal(account?.username, USER.username);
      const result = await app.acquireTokenSilent(["User.Read"], { account });
      assert.equal(result?.token_source, "cache");

      // Only a request that must reach the identity provider fails, as a network error.
      await assert.rejects(
        app.acquireTokenSilent(["User.Read"], { account, forceRefresh: true }),
        NetworkError,
      );
      await app.removeAccount(account);
      assert.deepEqual(await app.getAccounts(), []);
    });
  }

  it("runs discovery lazily, once per app, when a request must go to the identity provider", async () => {
    const options = { authority: `https://login.microsoftonline.com/${cloud.tenantId}` };
    const blob = await signedInCache(options);
    const cache = new TokenCache();
    cache.deserialize(blob);
    const app = new PublicClientApplication(CLIENT_ID, { ...options, fetch: cloud.fetch, tokenCache: cache });
    cloud.clearRequests();
    const [account] = await app.getAccounts();
    assert.equal((await app.acquireTokenSilent(["User.Read"], { account }))?.token_source, "cache");
    assert.deepEqual(cloud.requests, [], "no request for the cache");

    for (let i = 0; i < 2; i++) {
      const refreshed = await app.acquireTokenSilent(["User.Read"], { account, forceRefresh: true });
      assert.equal(refreshed?.token_source, "identity_provider");
    }
    assert.equal(cloud.requestsTo("openid_configuration").length, 1);
    assert.equal(cloud.requestsTo("instance_discovery").length, 0);
    assert.equal(cloud.requestsTo("token").length, 2);
  });

  it("still needs discovery for a tenant named by its domain (its id is what the cache holds)", async () => {
    const app = new PublicClientApplication(CLIENT_ID, {
      authority: "https://login.microsoftonline.com/contoso.onmicrosoft.com",
      fetch: offline,
    });
    await assert.rejects(app.getAccounts(), NetworkError);
  });
});
