// Silent sign-in in broker mode: the local cache first, then the broker; older cache data.
// End to end through PublicClientApplication; the shared setup is in _broker_app.ts.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { type Account, CONSOLE_WINDOW_HANDLE, TokenCache } from "../mod.ts";
import { DEFAULT_TENANT_ID } from "../testing/mod.ts";
import { brokerError, type FakeBrokerOptions } from "../testing/fake_broker.ts";
import { assertError, assertToken, CLIENT_ID, newApp, signInWithDeviceCode } from "./_helpers.ts";
import {
  ALICE,
  aliceInBroker,
  aliceSignedIn,
  BOB,
  bobInBroker,
  brokerApp,
  type BrokerSetup,
  cacheContents,
  host,
  idp,
  methods,
  SCOPES,
  tokenGrants,
  useFakeAuthority,
} from "./_broker_app.ts";

useFakeAuthority();

describe("silent: the local cache first, then the broker", () => {
  it("caches a broker result as access token, ID token and account, with no refresh token", async () => {
    const { app } = brokerApp({ accounts: [aliceInBroker()], defaultAccountId: "broker-alice" });
    const result = assertToken(
      await app.acquireTokenInteractive(SCOPES, { parentWindowHandle: CONSOLE_WINDOW_HANDLE }),
    );
    assert.equal(result.refresh_token, undefined);
    assert.equal(result.token_type, "Bearer");
    assert.ok(result.expires_in > 3500 && result.expires_in <= 3600, String(result.expires_in));
    assert.equal(result.account?.home_account_id, `${ALICE.oid}.${DEFAULT_TENANT_ID}`);
    const cache = cacheContents(app);
    assert.deepEqual(Object.values(cache.RefreshToken), []);
    const [at, ...moreAts] = Object.values(cache.AccessToken);
    assert.deepEqual(moreAts, []);
    assert.equal(at.secret, result.access_token);
    assert.equal(at.home_account_id, `${ALICE.oid}.${DEFAULT_TENANT_ID}`);
    assert.equal(at.client_id, CLIENT_ID);
    assert.equal(at.environment, host);
    assert.equal(at.target, "User.Read");
    assert.equal(Object.values(cache.IdToken).length, 1);
    const [account, ...moreAccounts] = Object.values(cache.Account);
    assert.deepEqual(moreAccounts, []);
    assert.equal(account.account_source, "broker");
    assert.equal(account.home_account_id, `${ALICE.oid}.${DEFAULT_TENANT_ID}`);
    assert.equal(account.local_account_id, "broker-alice");
    assert.equal(account.username, ALICE.username);
  });

  it("a second silent call is served from the cache without calling the broker", async () => {
    const { app, broker, account, first } = await aliceSignedIn();

    const cached = assertToken(await app.acquireTokenSilent(SCOPES, { account }));
    assert.equal(cached.token_source, "cache");
    assert.equal(cached.access_token, first.access_token);
    assert.equal(cached.id_token_claims?.preferred_username, ALICE.username);
    assert.deepEqual(broker.calls, []);

    const forced = assertToken(await app.acquireTokenSilent(SCOPES, { account, forceRefresh: true }));
    assert.equal(forced.token_source, "broker");
    assert.notEqual(forced.access_token, first.access_token);
    assert.deepEqual(methods(broker), ["readAccount", "acquireTokenSilent"]);

    // Scopes with no cached token: the broker, asked for those scopes as given.
    broker.calls.length = 0;
    const other = assertToken(await app.acquireTokenSilent(["Mail.Read"], { account }));
    assert.equal(other.token_source, "broker");
    assert.deepEqual(broker.callsTo("acquireTokenSilent")[0].scopes, ["Mail.Read"]);
  });

  it("an access token about to expire is renewed through the broker, not the identity provider", async () => {
    // A lifetime inside MSAL's 5-minute margin: never served from the cache.
    const { app, broker, account, first } = await aliceSignedIn({ tokenLifetimeSeconds: 120 });
    idp.clearRequests();

    const renewed = assertToken(await app.acquireTokenSilent(SCOPES, { account }));
    assert.equal(renewed.token_source, "broker");
    assert.notEqual(renewed.access_token, first.access_token);
    assert.deepEqual(methods(broker), ["readAccount", "acquireTokenSilent"]);
    assert.deepEqual(idp.requestsTo("token"), []);
  });

  it("a broker account the broker no longer knows: null (there is no refresh token to try)", async () => {
    const { app, broker } = brokerApp({ accounts: [aliceInBroker()] });
    const [account] = await app.getAccounts();
    broker.accounts.clear();
    broker.calls.length = 0;
    idp.clearRequests();
    assert.equal(await app.acquireTokenSilentWithError(SCOPES, { account }), null);
    assert.deepEqual(methods(broker), ["readAccount"]);
    assert.deepEqual(idp.requestsTo("token"), []);
  });

  it("a plugin without readAccount: the account is looked up in getAccounts", async () => {
    const { app, broker } = brokerApp({ accounts: [aliceInBroker(), bobInBroker()], readAccount: false });
    const [alice] = await app.getAccounts({ username: ALICE.username });
    const [bob] = await app.getAccounts({ username: BOB.username });
    broker.accounts.delete("broker-bob");
    broker.calls.length = 0;
    assert.equal(
      assertToken(await app.acquireTokenSilent(SCOPES, { account: alice })).token_source,
      "broker",
    );
    assert.equal(await app.acquireTokenSilentWithError(SCOPES, { account: bob }), null);
    assert.deepEqual(methods(broker), ["getAccounts", "acquireTokenSilent", "getAccounts"]);
  });

  it("a claims challenge: the broker is asked, with the challenge merged into the client capabilities", async () => {
    const { app, broker, account } = await aliceSignedIn({}, { clientCapabilities: ["CP1"] });
    const challenge = '{"access_token":{"acrs":{"essential":true,"value":"c1"}}}';
    const result = assertToken(await app.acquireTokenSilent(SCOPES, { account, claimsChallenge: challenge }));
    assert.equal(result.token_source, "broker");
    const [request] = broker.callsTo("acquireTokenSilent");
    assert.deepEqual(JSON.parse(request.claims ?? "null"), {
      access_token: { acrs: { essential: true, value: "c1" }, xms_cc: { values: ["CP1"] } },
    });
    assert.equal(request.extraParameters, undefined);
    assert.match(request.correlationId, /^[0-9a-f-]{36}$/);
  });
});

describe("an account without account_source (older cache data) tries the broker, then refresh tokens", () => {
  /** An app whose cache holds Alice from a device-code sign-in, with account_source stripped. */
  async function legacyApp(fake: FakeBrokerOptions): Promise<BrokerSetup & { account: Account }> {
    const plain = newApp(idp);
    await signInWithDeviceCode(idp, plain, ALICE.username);
    const json = JSON.parse(plain.tokenCache.serialize());
    for (const entry of Object.values(json.Account) as Record<string, unknown>[]) delete entry.account_source;
    const tokenCache = new TokenCache();
    tokenCache.deserialize(JSON.stringify(json));
    const setup = brokerApp(fake, { tokenCache });
    const accounts = await setup.app.getAccounts({ username: ALICE.username });
    assert.equal(accounts.length, 1);
    assert.equal(accounts[0].account_source, undefined);
    setup.broker.calls.length = 0;
    return { ...setup, account: accounts[0] };
  }

  it("the broker does not know it: the refresh token", async () => {
    const { app, broker, account } = await legacyApp({});
    idp.clearRequests();
    const result = assertToken(await app.acquireTokenSilent(SCOPES, { account, forceRefresh: true }));
    assert.equal(result.token_source, "identity_provider");
    assert.deepEqual(methods(broker), ["readAccount"]);
    assert.deepEqual(tokenGrants(), ["refresh_token"]);
  });

  it("the broker knows it but fails: the refresh token, not the broker's error", async () => {
    const { app, broker, account } = await legacyApp({});
    broker.accounts.set(account.local_account_id, { ...aliceInBroker(), id: account.local_account_id });
    broker.script("acquireTokenSilent", { reply: brokerError("InteractionRequired") });
    idp.clearRequests();
    const result = assertToken(await app.acquireTokenSilent(SCOPES, { account, forceRefresh: true }));
    assert.equal(result.token_source, "identity_provider");
    assert.deepEqual(methods(broker), ["readAccount", "acquireTokenSilent"]);
    assert.deepEqual(tokenGrants(), ["refresh_token"]);
  });

  it("the broker knows it and succeeds: the broker's token", async () => {
    const { app, broker, account } = await legacyApp({});
    broker.accounts.set(account.local_account_id, { ...aliceInBroker(), id: account.local_account_id });
    idp.clearRequests();
    const result = assertToken(await app.acquireTokenSilent(SCOPES, { account, forceRefresh: true }));
    assert.equal(result.token_source, "broker");
    assert.deepEqual(tokenGrants(), []);
  });
});

describe("silent: a broker account lookup or token call that throws or hangs", () => {
  const quick = { brokerTimeoutMs: { silentMs: 50, interactiveMs: 60_000 } };

  /** A broker app with Alice listed, and her account as getAccounts returns it. */
  async function withAlice(options = {}): Promise<BrokerSetup & { account: Account }> {
    const setup = brokerApp({ accounts: [aliceInBroker()] }, options);
    const [account] = await setup.app.getAccounts();
    setup.broker.calls.length = 0;
    return { ...setup, account };
  }

  it("the account lookup throws: the account counts as unknown (null), noted in the verbose log", async () => {
    const { app, broker, logged, account } = await withAlice();
    broker.script("readAccount", { throws: new Error("bus closed") });
    assert.equal(await app.acquireTokenSilentWithError(SCOPES, { account }), null);
    assert.deepEqual(methods(broker), ["readAccount"]);
    assert.ok(
      logged.some((line) =>
        line.level === "verbose" && line.message.endsWith("Could not read the broker account: bus closed")
      ),
    );
  });

  it("the account lookup hangs: a Timeout broker_error after silentMs", async () => {
    const { app, broker, account } = await withAlice(quick);
    broker.script("readAccount", { delayMs: 60_000 });
    const error = assertError(await app.acquireTokenSilentWithError(SCOPES, { account }));
    assert.equal(error.broker_status, "Timeout");
    assert.deepEqual(methods(broker), ["readAccount"]);
  });

  it("the token call hangs: a Timeout broker_error after silentMs", async () => {
    const { app, broker, account } = await withAlice(quick);
    broker.script("acquireTokenSilent", { delayMs: 60_000 });
    const error = assertError(await app.acquireTokenSilentWithError(SCOPES, { account }));
    assert.equal(error.broker_status, "Timeout");
    assert.match(error.error_description ?? "", /within 50 ms/);
  });
});
