// The unified token cache moves both ways between @azure/msal-node 7 and this library, offline: both
// talk to the fake authority posing as login.microsoftonline.com.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as msal from "@azure/msal-node";
import { type PublicClientApplication, TokenCache } from "../mod.ts";
import { FileCachePlugin } from "../persistence/mod.ts";
import { DEFAULT_TENANT_ID, FakeAuthority } from "../testing/mod.ts";
import { CLIENT_ID, newApp, signInWithDeviceCode } from "./_helpers.ts";
import { msalNodeNetwork, msalPythonCache } from "./_other_msals.ts";

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

const ORGANIZATIONS = "https://login.microsoftonline.com/organizations";

function msalNodeApp(): msal.PublicClientApplication {
  return new msal.PublicClientApplication({
    auth: { clientId: CLIENT_ID, authority: ORGANIZATIONS },
    system: { networkClient: msalNodeNetwork(idp.fetch) },
  });
}

/** Our app at login.microsoftonline.com, over the fake authority's fetch. */
function ourApp(tokenCache?: TokenCache): PublicClientApplication {
  return newApp(idp, { authority: ORGANIZATIONS, fetch: idp.fetch, ...(tokenCache && { tokenCache }) });
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
    const ours = ourApp(cache);
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
    const ours = ourApp();
    const signedIn = await signInWithDeviceCode(idp, ours, USER.username, SCOPES);

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

describe("interop with @azure/msal-node and MSAL Python through FileCachePlugin", () => {
  const folder = mkdtempSync(join(tmpdir(), "authbroker-interop-"));
  after(() => rmSync(folder, { recursive: true, force: true }));

  const fileApp = (path: string) => ourApp(new TokenCache({ plugin: new FileCachePlugin(path) }));

  it("serves a token from a file msal-node wrote, and adds to that file", async () => {
    const path = join(folder, "from-msal-node.json");
    const theirs = msalNodeApp();
    const signedIn = await theirs.acquireTokenByDeviceCode({
      scopes: SCOPES,
      deviceCodeCallback: (response) => idp.approveDeviceCode(response.userCode, USER.username),
    });
    writeFileSync(path, theirs.getTokenCache().serialize());

    const ours = fileApp(path);
    const [account] = await ours.getAccounts();
    idp.clearRequests();
    const result = await ours.acquireTokenSilent(SCOPES, { account });
    assert.equal(result?.access_token, signedIn?.accessToken);
    assert.equal(idp.requestsTo("token").length, 0);
    // A refresh writes the file; msal-node's own entries (tenantProfiles...) survive it.
    const refreshed = await ours.acquireTokenSilent(["https://graph.microsoft.com/Mail.Read"], { account });
    assert.equal(refreshed?.token_source, "identity_provider");
    const written = JSON.parse(readFileSync(path, "utf8"));
    const accounts = Object.values(written.Account) as { tenantProfiles?: unknown }[];
    assert.ok(accounts.some((a) => a.tenantProfiles), "msal-node's tenantProfiles kept");

    const reader = msalNodeApp();
    await reader.getTokenCache().deserialize(readFileSync(path, "utf8"));
    const [theirAccount] = await reader.getTokenCache().getAllAccounts();
    const silent = await reader.acquireTokenSilent({
      account: theirAccount,
      scopes: ["https://graph.microsoft.com/Mail.Read"],
    });
    assert.equal(silent.accessToken, refreshed?.access_token);
    assert.equal(silent.fromCache, true);
  });

  it("writes a file msal-node's acquireTokenSilent serves from", async () => {
    const path = join(folder, "from-us.json");
    const ours = fileApp(path);
    const signedIn = await signInWithDeviceCode(idp, ours, USER.username, SCOPES);

    const theirs = msalNodeApp();
    await theirs.getTokenCache().deserialize(readFileSync(path, "utf8"));
    const [account] = await theirs.getTokenCache().getAllAccounts();
    idp.clearRequests();
    const result = await theirs.acquireTokenSilent({ account, scopes: SCOPES });
    assert.equal(result.accessToken, signedIn.access_token);
    assert.equal(result.fromCache, true);
    assert.equal(idp.requestsTo("token").length, 0);
  });

  it("reads a file MSAL Python wrote, and writes entries MSAL Python's by-value lookups find", async () => {
    const path = join(folder, "from-python.json");
    // As MSAL Python 1.x's TokenCache.add writes it (account_source and AppMetadata always present).
    const target = "https://graph.microsoft.com/User.Read";
    const now = Math.floor(Date.now() / 1000);
    writeFileSync(
      path,
      msalPythonCache({
        homeAccountId: `python-uid.${DEFAULT_TENANT_ID}`,
        environment: "login.microsoftonline.com",
        realm: DEFAULT_TENANT_ID,
        target,
        accessToken: "python-access-token",
        refreshToken: "python-refresh-token",
        cachedAt: now,
        expiresOn: now + 3600,
        localAccountId: "python-oid",
        username: "py@contoso.com",
        accountSource: "device_flow",
      }),
    );
    const ours = fileApp(path);
    const [account] = await ours.getAccounts();
    assert.equal(account.username, "py@contoso.com");
    const result = await ours.acquireTokenSilent([target], { account });
    assert.equal(result?.access_token, "python-access-token");
    assert.equal(result?.token_source, "cache");

    // Our sign-in lands in the same file next to Python's entries, keyed and shaped as MSAL Python
    // writes them, so its by-value find() (client_id, environment, realm, home_account_id, target) works.
    const signedIn = await signInWithDeviceCode(idp, ours, USER.username, SCOPES);
    const written = JSON.parse(readFileSync(path, "utf8"));
    const ats = Object.entries(written.AccessToken) as [string, Record<string, string>][];
    assert.ok(ats.some(([, at]) => at.secret === "python-access-token"), "Python's token kept");
    const [key, at] = ats.find(([, at]) => at.secret === signedIn.access_token)!;
    const hid = signedIn.account!.home_account_id;
    assert.equal(
      key,
      `${hid}-${at.environment}-accesstoken-${CLIENT_ID}-${at.realm}-${at.target}`.toLowerCase(),
    );
    for (const field of ["credential_type", "environment", "client_id", "realm", "target", "expires_on"]) {
      assert.equal(typeof at[field], "string", field);
    }
    assert.ok(Object.keys(written.AppMetadata).includes(`appmetadata-${at.environment}-${CLIENT_ID}`));
  });
});
