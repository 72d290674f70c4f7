// Silent sign-in in broker mode: the local cache first, then the broker; older cache data.
// End to end through PublicClientApplication; the shared setup is in _broker_app.ts.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { type Account, CONSOLE_WINDOW_HANDLE, TokenCache } from "../mod.ts";
import { DEFAULT_TENANT_ID } from "../testing/mod.ts";
import { brokerError, type FakeBrokerOptions } from "../testing/fake_broker.ts";
import { assertToken, newApp, signInWithDeviceCode } from "./_helpers.ts";
import {
  ALICE,
  aliceInBroker,
  brokerApp,
  type BrokerSetup,
  cacheContents,
  host,
  idp,
  methods,
  SCOPES,
  startAuthority,
  stopAuthority,
  tokenGrants,
} from "./_broker_app.ts";

before(startAuthority);
after(stopAuthority);

describe("silent: the local cache first, then the broker", () => {
  it("caches a broker result as access token, ID token and account, with no refresh token", async () => {
    const { app } = brokerApp({ accounts: [aliceInBroker()], defaultAccountId: "broker-alice" });
    const result = assertToken(
      await app.acquireTokenInteractive(SCOPES, { parentWindowHandle: CONSOLE_WINDOW_HANDLE }),
    );
    assert.equal(result.refresh_token, undefined);
    const cache = cacheContents(app);
    assert.deepEqual(Object.values(cache.RefreshToken), []);
    const [at, ...moreAts] = Object.values(cache.AccessToken);
    assert.deepEqual(moreAts, []);
    assert.equal(at.secret, result.access_token);
    assert.equal(at.home_account_id, `${ALICE.oid}.${DEFAULT_TENANT_ID}`);
    assert.equal(at.environment, host);
    assert.equal(at.target, "User.Read");
    assert.equal(Object.values(cache.IdToken).length, 1);
    const [account, ...moreAccounts] = Object.values(cache.Account);
    assert.deepEqual(moreAccounts, []);
    assert.equal(account.account_source, "broker");
    assert.equal(account.local_account_id, "broker-alice");
    assert.equal(account.username, ALICE.username);
  });

  it("a second silent call is served from the cache without calling the broker", async () => {
    const { app, broker } = brokerApp({ accounts: [aliceInBroker()], defaultAccountId: "broker-alice" });
    const first = assertToken(
      await app.acquireTokenInteractive(SCOPES, { parentWindowHandle: CONSOLE_WINDOW_HANDLE }),
    );
    const [account] = await app.getAccounts();
    broker.calls.length = 0;

    const cached = assertToken(await app.acquireTokenSilent(SCOPES, { account }));
    assert.equal(cached.token_source, "cache");
    assert.equal(cached.access_token, first.access_token);
    assert.equal(cached.id_token_claims?.preferred_username, ALICE.username);
    assert.deepEqual(broker.calls, []);

    const forced = assertToken(await app.acquireTokenSilent(SCOPES, { account, forceRefresh: true }));
    assert.equal(forced.token_source, "broker");
    assert.notEqual(forced.access_token, first.access_token);
    assert.deepEqual(methods(broker), ["readAccount", "acquireTokenSilent"]);
  });

  it("an access token about to expire is renewed through the broker, not the identity provider", async () => {
    const { app, broker } = brokerApp({
      accounts: [aliceInBroker()],
      defaultAccountId: "broker-alice",
      tokenLifetimeSeconds: 120, // inside MSAL's 5-minute margin: never served from the cache
    });
    const first = assertToken(
      await app.acquireTokenInteractive(SCOPES, { parentWindowHandle: CONSOLE_WINDOW_HANDLE }),
    );
    const [account] = await app.getAccounts();
    broker.calls.length = 0;
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
    idp.clearRequests();
    assert.equal(await app.acquireTokenSilentWithError(SCOPES, { account }), null);
    assert.deepEqual(idp.requestsTo("token"), []);
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
