// Accounts in broker mode: getAccounts merges the broker's, removeAccount signs out of it.
// End to end through PublicClientApplication; the shared setup is in _broker_app.ts.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { AbortError } from "../mod.ts";
import { brokerError, fakeBrokerAccount } from "../testing/fake_broker.ts";
import { assertToken, CLIENT_ID, signInWithDeviceCode } from "./_helpers.ts";
import {
  ALICE,
  aliceAccount,
  aliceInBroker,
  aliceSignedIn,
  BOB,
  bobInBroker,
  brokerApp,
  cacheContents,
  DEVICE_CODE_SOURCE,
  idp,
  methods,
  SCOPES,
  useFakeAuthority,
} from "./_broker_app.ts";

useFakeAuthority();

describe("getAccounts merges the broker's accounts", () => {
  it("with an empty app cache, the broker's accounts are listed and silent SSO works (the seed sample)", async () => {
    const { app, broker } = brokerApp({ accounts: [aliceInBroker()] });
    const accounts = await app.getAccounts({ username: ALICE.username });
    assert.deepEqual(accounts, [aliceAccount()]);
    const result = accounts.length ? await app.acquireTokenSilent(SCOPES, { account: accounts[0] }) : null;
    assert.equal(assertToken(result).token_source, "broker");
    assert.equal(result?.id_token_claims?.preferred_username, ALICE.username);
    assert.deepEqual(methods(broker), ["getAccounts", "readAccount", "acquireTokenSilent"]);
    assert.deepEqual((await app.getAccounts()).map((a) => a.username), [ALICE.username]);
  });

  it("a cached account and the same account in the broker appear once; the broker's others are added", async () => {
    const { app } = brokerApp({ accounts: [aliceInBroker(), bobInBroker()] });
    await signInWithDeviceCode(idp, app, ALICE.username);
    const accounts = await app.getAccounts();
    assert.deepEqual(
      accounts.map((a) => [a.username, a.account_source]),
      [[ALICE.username, DEVICE_CODE_SOURCE], [BOB.username, "broker"]],
    );
    assert.deepEqual(
      (await app.getAccounts({ username: "BOB@contoso.com" })).map((a) => a.local_account_id),
      ["broker-bob"],
    );
  });

  it("leaves out the broker's accounts of another cloud", async () => {
    const elsewhere = fakeBrokerAccount({
      username: "carol@contoso.us",
      environment: "login.microsoftonline.us",
    });
    const { app } = brokerApp({ accounts: [aliceInBroker(), elsewhere] });
    assert.deepEqual((await app.getAccounts()).map((a) => a.username), [ALICE.username]);
  });

  it("a broker whose listing fails or throws: the cache's accounts, and one warning each time", async () => {
    const { app, broker, warnings } = brokerApp({ accounts: [aliceInBroker()] });
    const { account } = await signInWithDeviceCode(idp, app, BOB.username);
    broker.script("getAccounts", { reply: brokerError("Unexpected", "bus closed") }, {
      throws: new Error("boom"),
    });
    assert.deepEqual(await app.getAccounts(), [account]);
    assert.deepEqual(await app.getAccounts(), [account]);
    const [failed, threw, ...more] = warnings();
    assert.deepEqual(more, []);
    assert.match(failed, /Status: Unexpected/);
    assert.match(threw, /boom/);
  });

  it("a broker whose listing hangs: the cache's accounts after silentMs, and a warning", async () => {
    const { app, broker, warnings } = brokerApp({ accounts: [aliceInBroker()] }, {
      brokerTimeoutMs: { silentMs: 50, interactiveMs: 60_000 },
    });
    broker.script("getAccounts", { delayMs: 60_000 });
    assert.deepEqual(await app.getAccounts(), []);
    assert.deepEqual(warnings(), [
      "[@authbroker/msal] Could not list the broker's accounts: The broker did not answer within 50 ms; " +
      "the request was cancelled.",
    ]);
  });

  it("a caller who leaves while the broker lists: AbortError", async () => {
    const { app, broker } = brokerApp({ accounts: [aliceInBroker()] });
    const controller = new AbortController();
    broker.script("getAccounts", {
      reply: () => {
        controller.abort();
        return new Promise(() => {});
      },
    });
    await assert.rejects(app.getAccounts({ signal: controller.signal }), AbortError);
    assert.equal(broker.callsTo("getAccounts")[0].signal.aborted, true);
  });
});

describe("removeAccount", () => {
  it("signs a broker account out of the broker, then removes it locally", async () => {
    const { app, broker, account } = await aliceSignedIn();
    await app.removeAccount(account);
    assert.deepEqual(methods(broker), ["readAccount", "signOut"]);
    assert.equal(broker.callsTo("signOut")[0].account.id, "broker-alice");
    assert.equal(broker.callsTo("signOut")[0].clientId, CLIENT_ID);
    const cache = cacheContents(app);
    assert.deepEqual([cache.AccessToken, cache.IdToken, cache.Account], [{}, {}, {}]);
    assert.deepEqual(await app.getAccounts(), []);
  });

  it("removes the account locally even when the broker's sign-out fails", async () => {
    const { app, broker, warnings, account } = await aliceSignedIn();
    broker.script("signOut", { reply: brokerError("ApiContractViolation", "busy") });
    await app.removeAccount(account);
    assert.deepEqual(cacheContents(app).Account, {});
    assert.equal(warnings().filter((w) => w.includes("Broker sign-out failed")).length, 1);
  });

  it("sign-out that throws or hangs: one warning each, and the account is removed locally", async () => {
    const { app, broker, warnings } = brokerApp({ accounts: [aliceInBroker()] }, {
      brokerTimeoutMs: { silentMs: 50, interactiveMs: 60_000 },
    });
    const [account] = await app.getAccounts();
    broker.script("signOut", { throws: new Error("boom") }, { delayMs: 60_000 });
    await app.removeAccount(account);
    await app.removeAccount(account);
    const [threw, hung, ...more] = warnings();
    assert.deepEqual(more, []);
    assert.match(threw, /Broker sign-out failed: boom$/);
    assert.match(hung, /Broker sign-out failed: The broker did not answer within 50 ms/);
    assert.deepEqual(methods(broker), ["getAccounts", "readAccount", "signOut", "readAccount", "signOut"]);
  });

  it("a broker account the broker no longer knows: removed locally, with no sign-out call and no warning", async () => {
    const { app, broker, warnings, account } = await aliceSignedIn();
    broker.accounts.clear();
    await app.removeAccount(account);
    assert.deepEqual(methods(broker), ["readAccount"]);
    assert.deepEqual(warnings(), []);
    assert.deepEqual(cacheContents(app).Account, {});
  });

  it("a caller who leaves during sign-out: AbortError", async () => {
    const { app, broker } = brokerApp({ accounts: [aliceInBroker()] });
    const [account] = await app.getAccounts();
    const controller = new AbortController();
    broker.script("signOut", {
      reply: () => {
        controller.abort();
        return new Promise(() => {});
      },
    });
    await assert.rejects(app.removeAccount(account, { signal: controller.signal }), AbortError);
    assert.equal(broker.callsTo("signOut")[0].signal.aborted, true);
  });

  it("removes a device-code account locally only", async () => {
    const { app, broker } = brokerApp({ accounts: [bobInBroker()] });
    const { account } = await signInWithDeviceCode(idp, app, ALICE.username);
    await app.removeAccount(account!);
    assert.deepEqual(methods(broker).filter((m) => m !== "getAccounts"), []);
    const cache = cacheContents(app);
    assert.deepEqual([cache.AccessToken, cache.RefreshToken, cache.IdToken, cache.Account], [{}, {}, {}, {}]);
  });
});
