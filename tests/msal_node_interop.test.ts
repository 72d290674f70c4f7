// The unified token cache moves both ways between @azure/msal-node 7 and this library, offline: both
// talk to the fake authority posing as login.microsoftonline.com.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import * as msal from "@azure/msal-node";
import { PublicClientApplication, TokenCache } from "../mod.ts";
import { FakeAuthority } from "../testing/mod.ts";

const CLIENT_ID = "9f8e7d6c-5b4a-4321-8765-0fedcba98765";
const USER = { username: "grace@contoso.com", password: "hopper" };
const SCOPES = ["https://graph.microsoft.com/User.Read"];

let idp: FakeAuthority;
before(async () => {
  idp = await FakeAuthority.start({
    origin: "https://login.microsoftonline.com",
    users: [USER],
    deviceCodeInterval: 0,
  });
});
after(() => idp.close());

/** msal-node's network module, sending everything through the fake authority's fetch. */
function networkClient(): msal.INetworkModule {
  const send = async <T>(
    url: string,
    method: string,
    options?: { headers?: Record<string, string>; body?: string },
  ) => {
    const response = await idp.fetch(url, { method, headers: options?.headers, body: options?.body });
    const text = await response.text();
    return {
      status: response.status,
      headers: Object.fromEntries(response.headers.entries()),
      body: (text ? JSON.parse(text) : {}) as T,
    };
  };
  return {
    sendGetRequestAsync: (url, options) => send(url, "GET", options),
    sendPostRequestAsync: (url, options) => send(url, "POST", options),
  };
}

function msalNodeApp(): msal.PublicClientApplication {
  return new msal.PublicClientApplication({
    auth: { clientId: CLIENT_ID, authority: "https://login.microsoftonline.com/organizations" },
    system: { networkClient: networkClient() },
  });
}

describe("interop with @azure/msal-node", () => {
  it("serves acquireTokenSilent from a cache msal-node wrote", async () => {
    const theirs = msalNodeApp();
    const signedIn = await theirs.acquireTokenByDeviceCode({
      scopes: SCOPES,
      deviceCodeCallback: (response) => idp.approveDeviceCode(response.userCode, USER.username),
    });
    assert.ok(signedIn?.accessToken);
    const blob = theirs.getTokenCache().serialize();

    const cache = new TokenCache();
    cache.deserialize(blob);
    const ours = new PublicClientApplication(CLIENT_ID, {
      authority: "https://login.microsoftonline.com/organizations",
      fetch: idp.fetch,
      tokenCache: cache,
    });
    const [account, ...others] = await ours.getAccounts();
    assert.equal(others.length, 0);
    assert.equal(account.username, USER.username);
    idp.clearRequests();
    const result = await ours.acquireTokenSilent(SCOPES, { account });
    assert.equal(result?.token_source, "cache");
    assert.equal(result?.access_token, signedIn.accessToken);
    assert.equal(idp.requestsTo("token").length, 0);

    // msal-node's refresh token works for us too.
    const refreshed = await ours.acquireTokenSilent(SCOPES, { account, forceRefresh: true });
    assert.equal(refreshed?.token_source, "identity_provider");
  });

  it("lets msal-node's acquireTokenSilent return a token we cached", async () => {
    const ours = new PublicClientApplication(CLIENT_ID, {
      authority: "https://login.microsoftonline.com/organizations",
      fetch: idp.fetch,
    });
    const flow = await ours.initiateDeviceFlow(SCOPES);
    assert.ok("user_code" in flow);
    idp.approveDeviceCode(flow.user_code, USER.username);
    const signedIn = await ours.acquireTokenByDeviceFlow(flow);
    assert.ok("access_token" in signedIn);

    const theirs = msalNodeApp();
    await theirs.getTokenCache().deserialize(ours.tokenCache.serialize());
    const [account, ...others] = await theirs.getTokenCache().getAllAccounts();
    assert.equal(others.length, 0);
    assert.equal(account.username, USER.username);
    idp.clearRequests();
    const result = await theirs.acquireTokenSilent({ account, scopes: SCOPES });
    assert.equal(result.accessToken, signedIn.access_token);
    assert.equal(result.fromCache, true);
    assert.equal(idp.requestsTo("token").length, 0);
  });
});
