import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { AbortError, ConfigurationError, PublicClientApplication, TokenCache } from "../mod.ts";
import type { Account, ErrorResult, TokenResult } from "../mod.ts";
import { FakeAuthority } from "../testing/mod.ts";
import { CLIENT_ID, newApp, signInWithDeviceCode } from "./_helpers.ts";

const FAMILY_CLIENT_ID = "04b07795-8ddb-461a-bbee-02f9e1bf7b46";
const OTHER_FAMILY_CLIENT_ID = "1950a258-227b-4e31-a9cf-717495945fc2";
const USER = { username: "alice@contoso.com", password: "password", name: "Alice" };

let idp: FakeAuthority;

before(async () => {
  idp = await FakeAuthority.start({
    users: [USER, { username: "bob@contoso.com", password: "bob-pw" }],
    clients: [
      { clientId: CLIENT_ID },
      { clientId: FAMILY_CLIENT_ID, familyId: "1" },
      { clientId: OTHER_FAMILY_CLIENT_ID, familyId: "1" },
    ],
    deviceCodeInterval: 0,
  });
});
after(() => idp.close());

const signIn = (app: PublicClientApplication, username = USER.username): Promise<TokenResult> =>
  signInWithDeviceCode(idp, app, username);

const grants = (grantType: string) => idp.requestsTo("token").filter((r) => r.form.grant_type === grantType);

describe("device-code flow", () => {
  it("signs the user in and records the account as a device-code account", async () => {
    const app = newApp(idp);
    const result = await signIn(app);
    assert.equal(result.token_source, "identity_provider");
    assert.equal(result.id_token_claims?.preferred_username, USER.username);
    assert.equal(typeof result.expires_in, "number");
    const [account, ...others] = await app.getAccounts();
    assert.equal(others.length, 0);
    assert.equal(account.username, USER.username);
    assert.equal(account.account_source, "urn:ietf:params:oauth:grant-type:device_code");
    assert.equal(account.authority_type, "MSSTS");
    assert.match(account.home_account_id, /^[\w-]+\.[\w-]+$/);
  });

  it("sends MSAL's client headers, client_info=1 and the decorated scopes", async () => {
    idp.clearRequests();
    await signIn(newApp(idp));
    const [poll] = grants("urn:ietf:params:oauth:grant-type:device_code");
    assert.equal(poll.form.client_info, "1");
    assert.deepEqual(
      poll.form.scope.split(" ").sort(),
      ["User.Read", "offline_access", "openid", "profile"].sort(),
    );
    assert.ok(poll.headers["x-client-sku"]);
    assert.ok(poll.headers["x-client-ver"]);
    assert.match(poll.headers["client-request-id"], /^[0-9a-f-]{36}$/);
  });

  it("uses the app's correlation id for every request of the flow", async () => {
    idp.clearRequests();
    const app = newApp(idp);
    const flow = await app.initiateDeviceFlow(["User.Read"], {
      correlationId: "c0ffee00-0000-4000-8000-000000000001",
    });
    assert.ok("user_code" in flow);
    assert.equal(flow.correlation_id, "c0ffee00-0000-4000-8000-000000000001");
    idp.approveDeviceCode(flow.user_code, USER.username);
    await app.acquireTokenByDeviceFlow(flow);
    const ids = [...idp.requestsTo("devicecode"), ...idp.requestsTo("token")].map((r) =>
      r.headers["client-request-id"]
    );
    assert.deepEqual([...new Set(ids)], ["c0ffee00-0000-4000-8000-000000000001"]);
  });

  it("returns the server's refusal as an error result", async () => {
    const app = newApp(idp);
    const flow = await app.initiateDeviceFlow(["User.Read"]);
    assert.ok("user_code" in flow);
    idp.denyDeviceCode(flow.user_code);
    const result = await app.acquireTokenByDeviceFlow(flow);
    assert.ok("error" in result);
    assert.equal(result.error, "authorization_declined");
  });

  it("slows down when the server says slow_down, then succeeds", { timeout: 30_000 }, async () => {
    const app = newApp(idp);
    const flow = await app.initiateDeviceFlow(["User.Read"]);
    assert.ok("user_code" in flow);
    idp.failGrant("device_code", { error: "slow_down" }, 1);
    idp.approveDeviceCode(flow.user_code, USER.username);
    const result = await app.acquireTokenByDeviceFlow(flow);
    assert.ok("access_token" in result, JSON.stringify(result));
  });

  it("gives up with expired_token when the code expires", async () => {
    const app = newApp(idp);
    const flow = await app.initiateDeviceFlow(["User.Read"]);
    assert.ok("user_code" in flow);
    const result = await app.acquireTokenByDeviceFlow({ ...flow, expires_at: Math.floor(Date.now() / 1000) });
    assert.ok("error" in result);
    assert.equal(result.error, "expired_token");
  });

  it("stops waiting when the app aborts", async () => {
    const app = newApp(idp);
    const flow = await app.initiateDeviceFlow(["User.Read"]);
    assert.ok("user_code" in flow);
    const controller = new AbortController();
    const waiting = app.acquireTokenByDeviceFlow({ ...flow, interval: 30 }, { signal: controller.signal });
    setTimeout(() => controller.abort(), 50);
    await assert.rejects(waiting, AbortError);
  });
});

describe("acquireTokenSilent", () => {
  let app: PublicClientApplication;
  let account: Account;
  let first: TokenResult;

  before(async () => {
    app = newApp(idp);
    first = await signIn(app);
    [account] = await app.getAccounts();
  });

  it("serves a fresh access token from the cache without the network", async () => {
    idp.clearRequests();
    const result = await app.acquireTokenSilent(["User.Read"], { account });
    assert.ok(result);
    assert.equal(result.token_source, "cache");
    assert.equal(result.access_token, first.access_token);
    assert.equal(result.id_token_claims?.preferred_username, USER.username);
    assert.equal(idp.requests.length, 0);
  });

  it("returns null without an account", async () => {
    assert.equal(await app.acquireTokenSilent(["User.Read"], { account: undefined }), null);
    assert.equal(await app.acquireTokenSilentWithError(["User.Read"], { account: null }), null);
  });

  it("rejects reserved scopes with MSAL Python's message", async () => {
    await assert.rejects(
      app.acquireTokenSilent(["openid", "User.Read"], { account }),
      (error: unknown) =>
        error instanceof ConfigurationError &&
        error.message === "You cannot use any scope value that is reserved.\n" +
            "Your input: ['openid', 'User.Read']\nThe reserved list: ['openid', 'profile', 'offline_access']",
    );
  });

  it("refreshes with the refresh token, rotating it, when forced", async () => {
    const before = JSON.parse(app.tokenCache.serialize()).RefreshToken;
    const oldRt = (Object.values(before)[0] as { secret: string }).secret;
    const result = await app.acquireTokenSilent(["User.Read"], { account, forceRefresh: true });
    assert.ok(result);
    assert.equal(result.token_source, "identity_provider");
    assert.notEqual(result.access_token, first.access_token);
    const rts = Object.values(JSON.parse(app.tokenCache.serialize()).RefreshToken) as { secret: string }[];
    assert.equal(rts.length, 1, "the rotated refresh token replaces the old one");
    assert.notEqual(rts[0].secret, oldRt);
    const cached = await app.acquireTokenSilent(["User.Read"], { account });
    assert.equal(cached?.access_token, result.access_token);
  });

  it("gets a token for new scopes with the refresh token", async () => {
    const result = await app.acquireTokenSilent(["Mail.Read"], { account });
    assert.equal(result?.token_source, "identity_provider");
    assert.match(String(result?.scope), /Mail\.Read/);
  });

  it("shares one refresh among 100 concurrent identical callers", async () => {
    idp.clearRequests();
    const results = await Promise.all(
      Array.from(
        { length: 100 },
        () => app.acquireTokenSilent(["User.Read"], { account, forceRefresh: true }),
      ),
    );
    assert.equal(grants("refresh_token").length, 1);
    assert.equal(new Set(results.map((r) => r?.access_token)).size, 1);
  });

  it("returns the identity provider's error from acquireTokenSilentWithError and null from acquireTokenSilent", async () => {
    idp.failGrant("refresh_token", {
      error: "invalid_grant",
      errorDescription: "AADSTS50173: The provided grant has expired",
      suberror: "bad_token",
    });
    const result = await app.acquireTokenSilentWithError(["Files.Read"], { account }) as ErrorResult;
    assert.equal(result.error, "invalid_grant");
    assert.equal(result.suberror, "bad_token");
    assert.equal(result.classification, "");
    assert.ok(Array.isArray(result.error_codes));
    assert.ok(result.correlation_id);
    idp.failGrant("refresh_token", { error: "invalid_grant" });
    assert.equal(await app.acquireTokenSilent(["Tasks.Read"], { account }), null);
  });

  it("passes a claims challenge through and returns interaction_required with its claims", async () => {
    const claims = '{"access_token":{"acrs":{"essential":true,"value":"c1"}}}';
    idp.failGrant("refresh_token", { error: "interaction_required", claims });
    const result = await app.acquireTokenSilentWithError(["User.Read"], { account, claimsChallenge: claims });
    assert.ok(result && "error" in result);
    assert.equal(result.error, "interaction_required");
    assert.equal(result.claims, claims);
    const [request] = grants("refresh_token").slice(-1);
    assert.equal(request.form.claims, claims);
  });

  it("throttles an identical request that just failed with invalid_grant", async () => {
    idp.failGrant("refresh_token", { error: "invalid_grant" });
    const firstTry = await app.acquireTokenSilentWithError(["Notes.Read"], { account });
    assert.ok(firstTry && "error" in firstTry);
    const sent = grants("refresh_token").length;
    const secondTry = await app.acquireTokenSilentWithError(["Notes.Read"], { account });
    assert.ok(secondTry && "error" in secondTry);
    assert.equal(secondTry.error, "invalid_grant");
    assert.equal(grants("refresh_token").length, sent, "the throttled request never reached the server");
  });

  it("retries once after Retry-After on 429", async () => {
    idp.fail("token", { status: 429, retryAfter: 1 });
    const sent = grants("refresh_token").length;
    const result = await app.acquireTokenSilent(["Sites.Read"], { account });
    assert.equal(result?.token_source, "identity_provider");
    assert.equal(grants("refresh_token").length, sent + 2);
  });

  it("turns an HTML error page into an error result with the HTTP status", async () => {
    idp.fail("token", { status: 500 }, 2);
    const result = await app.acquireTokenSilentWithError(["Calendars.Read"], { account });
    assert.ok(result && "error" in result);
    assert.equal(result.http_status, 500);
  });

  it("refuses a token response with a malformed ID token as invalid_response, keeping the cache as it was", async () => {
    const before = app.tokenCache.serialize();
    idp.fail("token", {
      rawBody: JSON.stringify({
        access_token: "at",
        token_type: "Bearer",
        expires_in: 3600,
        id_token: "not.a-jwt",
      }),
      status: 200,
      contentType: "application/json",
    });
    const result = await app.acquireTokenSilentWithError(["Tasks.ReadWrite"], { account });
    assert.ok(result && "error" in result, JSON.stringify(result));
    assert.equal(result.error, "invalid_response");
    assert.doesNotMatch(String(result.error_description), /not\.a-jwt/);
    assert.equal(app.tokenCache.serialize(), before);
  });

  it("turns a malformed JSON answer into an error result", async () => {
    idp.fail("token", { rawBody: "{not json", status: 200, contentType: "application/json" });
    const result = await app.acquireTokenSilentWithError(["Contacts.Read"], { account });
    assert.ok(result && "error" in result);
    assert.equal(result.error, "invalid_response");
  });
});

describe("cancelling a shared silent refresh", () => {
  // Each test signs in afresh: an abandoned refresh may still rotate the refresh token on the server.
  let app: PublicClientApplication;
  let account: Account;
  before(async () => {
    app = newApp(idp);
    await signIn(app);
    [account] = await app.getAccounts();
  });

  it("lets one of several callers sharing a refresh give up without failing the others", async () => {
    idp.clearRequests();
    idp.failGrant("refresh_token", { delayMs: 300 });
    const impatient = new AbortController();
    const first = app.acquireTokenSilent(["User.Read"], {
      account,
      forceRefresh: true,
      signal: impatient.signal,
    });
    const second = app.acquireTokenSilent(["User.Read"], { account, forceRefresh: true });
    setTimeout(() => impatient.abort(), 20);
    await assert.rejects(first, AbortError);
    const result = await second;
    assert.equal(result?.token_source, "identity_provider");
    assert.equal(grants("refresh_token").length, 1);
  });

  it("stops the shared refresh when every caller has given up", async () => {
    idp.failGrant("refresh_token", { delayMs: 300 });
    const callers = [new AbortController(), new AbortController()];
    const waiting = callers.map((c) =>
      app.acquireTokenSilent(["User.Read"], { account, forceRefresh: true, signal: c.signal })
    );
    setTimeout(() => callers.forEach((c) => c.abort()), 20);
    for (const attempt of waiting) await assert.rejects(attempt, AbortError);
  });
});

describe("refresh_on and expiry", () => {
  it("refreshes proactively after refresh_on, keeping the old token if the authority is down", async () => {
    const local = await FakeAuthority.start({ users: [USER], refreshIn: 0, deviceCodeInterval: 0 });
    try {
      const app = newApp(local);
      const first = await signInWithDeviceCode(local, app, USER.username);
      assert.equal(typeof first.refresh_on, "number");
      assert.equal("refresh_in" in first, false, "refresh_in is replaced by refresh_on, as MSAL Python does");
      const [account] = await app.getAccounts();

      const refreshed = await app.acquireTokenSilent(["User.Read"], { account });
      assert.equal(refreshed?.token_source, "identity_provider");
      assert.notEqual(refreshed?.access_token, first.access_token);

      local.fail("token", { status: 503 }, 2);
      const aging = await app.acquireTokenSilent(["User.Read"], { account });
      assert.equal(aging?.token_source, "cache");
      assert.equal(aging?.access_token, refreshed?.access_token);
    } finally {
      await local.close();
    }
  });

  it("does not serve a token expiring within five minutes", async () => {
    const local = await FakeAuthority.start({
      users: [USER],
      accessTokenLifetime: 120,
      deviceCodeInterval: 0,
    });
    try {
      const app = newApp(local);
      await signInWithDeviceCode(local, app, USER.username);
      const [account] = await app.getAccounts();
      const result = await app.acquireTokenSilent(["User.Read"], { account });
      assert.equal(result?.token_source, "identity_provider");
    } finally {
      await local.close();
    }
  });
});

describe("family of client ids (FOCI)", () => {
  it("lets a family app use another family app's refresh token", async () => {
    const cache = new TokenCache();
    await signIn(newApp(idp, { tokenCache: cache }, FAMILY_CLIENT_ID));
    const sibling = newApp(idp, { tokenCache: cache }, OTHER_FAMILY_CLIENT_ID);
    const [account] = await sibling.getAccounts();
    const result = await sibling.acquireTokenSilent(["User.Read"], { account });
    assert.equal(result?.token_source, "identity_provider");
    assert.equal(result?.id_token_claims?.aud, OTHER_FAMILY_CLIENT_ID);
  });

  it("reports client_mismatch to an app outside the family", async () => {
    const cache = new TokenCache();
    await signIn(newApp(idp, { tokenCache: cache }, FAMILY_CLIENT_ID));
    const stranger = newApp(idp, { tokenCache: cache }, CLIENT_ID);
    const [account] = await stranger.getAccounts();
    const result = await stranger.acquireTokenSilentWithError(["User.Read"], { account });
    assert.ok(result && "error" in result);
    assert.equal(result.suberror, "client_mismatch");
  });
});

describe("accounts", () => {
  it("lists one account per home account and filters by username case-insensitively", async () => {
    const app = newApp(idp);
    await signIn(app, USER.username);
    await signIn(app, "bob@contoso.com");
    assert.equal((await app.getAccounts()).length, 2);
    const [bob, ...none] = await app.getAccounts({ username: "BOB@contoso.com" });
    assert.equal(bob.username, "bob@contoso.com");
    assert.equal(none.length, 0);
    assert.deepEqual(await app.getAccounts({ username: "carol@contoso.com" }), []);
  });

  it("groups the entries of one home account across tenants", async () => {
    const app = newApp(idp);
    await signIn(app);
    const state = JSON.parse(app.tokenCache.serialize());
    const [key, entry] = Object.entries(state.Account)[0] as [string, Record<string, string>];
    state.Account[`${key}-guest`] = { ...entry, realm: "another-tenant", local_account_id: "guest-oid" };
    app.tokenCache.deserialize(JSON.stringify(state));
    const accounts = await app.getAccounts();
    assert.equal(accounts.length, 1);
  });

  it("removeAccount forgets the account and its tokens", async () => {
    const app = newApp(idp);
    await signIn(app);
    const [account] = await app.getAccounts();
    await app.removeAccount(account);
    assert.deepEqual(await app.getAccounts(), []);
    const state = JSON.parse(app.tokenCache.serialize());
    assert.deepEqual([state.AccessToken, state.RefreshToken, state.IdToken], [{}, {}, {}]);
    assert.equal(await app.acquireTokenSilent(["User.Read"], { account }), null);
  });
});

describe("acquireTokenByRefreshToken", () => {
  it("migrates a refresh token from elsewhere into the cache", async () => {
    const donor = newApp(idp);
    const signedIn = await signIn(donor);
    const app = newApp(idp);
    const result = await app.acquireTokenByRefreshToken(String(signedIn.refresh_token), ["User.Read"]);
    assert.ok("access_token" in result, JSON.stringify(result));
    const [account] = await app.getAccounts();
    assert.equal(account.username, USER.username);
    assert.equal(account.account_source, undefined);
    assert.equal((await app.acquireTokenSilent(["User.Read"], { account }))?.token_source, "cache");
  });
});

describe("authorities", () => {
  it("works offline against a real-looking Entra host through the fake's fetch", async () => {
    const cloud = await FakeAuthority.start({
      origin: "https://login.microsoftonline.com",
      users: [USER],
      deviceCodeInterval: 0,
    });
    try {
      const app = new PublicClientApplication(CLIENT_ID, {
        authority: "https://login.microsoftonline.com/organizations",
        fetch: cloud.fetch,
      });
      await signInWithDeviceCode(cloud, app, USER.username);
      const [account] = await app.getAccounts();
      assert.equal(account.environment, "login.windows.net", "instance discovery's preferred_cache");
      assert.equal(
        cloud.requestsTo("instance_discovery").length,
        0,
        "the public cloud's metadata is built in",
      );
      assert.equal(cloud.requestsTo("openid_configuration").length, 1);
    } finally {
      await cloud.close();
    }
  });

  it("lets a caller abort while the authority's metadata is still loading", async () => {
    const slow = await FakeAuthority.start({ users: [USER] });
    try {
      slow.fail("openid_configuration", { delayMs: 500 });
      const app = newApp(slow);
      const controller = new AbortController();
      const listing = app.getAccounts({ signal: controller.signal });
      setTimeout(() => controller.abort(), 20);
      await assert.rejects(listing, AbortError);
      assert.deepEqual(await app.getAccounts(), [], "the shared discovery went on for later callers");
    } finally {
      await slow.close();
    }
  });

  it("refuses authority and oidcAuthority together", () => {
    assert.throws(
      () =>
        new PublicClientApplication(CLIENT_ID, {
          authority: idp.authority(),
          oidcAuthority: idp.authority(),
        }),
      /You can not provide both authority and oidcAuthority/,
    );
  });

  it("refuses a custom instanceDiscovery endpoint that is not an https URL at once", () => {
    for (const instanceDiscovery of ["not a url", "http://discovery.contoso.com/instance"]) {
      assert.throws(
        () => new PublicClientApplication(CLIENT_ID, { instanceDiscovery }),
        { name: "ConfigurationError", message: /^instanceDiscovery (is not a valid URL|must use https)/ },
      );
    }
  });
});
