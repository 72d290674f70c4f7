// Accounts in broker mode: getAccounts merges the broker's, removeAccount signs out of it.
// End to end through PublicClientApplication; the shared setup is in _broker_app.ts.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { CONSOLE_WINDOW_HANDLE } from "../mod.ts";
import { DEFAULT_TENANT_ID } from "../testing/mod.ts";
import { brokerError, fakeBrokerAccount } from "../testing/fake_broker.ts";
import { assertToken, CLIENT_ID, signInWithDeviceCode } from "./_helpers.ts";
import {
  ALICE,
  aliceInBroker,
  BOB,
  bobInBroker,
  brokerApp,
  cacheContents,
  DEVICE_CODE_SOURCE,
  host,
  idp,
  methods,
  SCOPES,
  startAuthority,
  stopAuthority,
} from "./_broker_app.ts";

before(startAuthority);
after(stopAuthority);

describe("getAccounts merges the broker's accounts", () => {
  it("with an empty app cache, the broker's accounts are listed and silent SSO works (the seed sample)", async () => {
    const { app, broker } = brokerApp({ accounts: [aliceInBroker()] });
    const accounts = await app.getAccounts({ username: ALICE.username });
    assert.deepEqual(accounts, [{
      home_account_id: `${ALICE.oid}.${DEFAULT_TENANT_ID}`,
      environment: host,
      username: ALICE.username,
      realm: DEFAULT_TENANT_ID,
      local_account_id: "broker-alice",
      authority_type: "MSSTS",
      account_source: "broker",
    }]);
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
});

describe("removeAccount", () => {
  it("signs a broker account out of the broker, then removes it locally", async () => {
    const { app, broker } = brokerApp({ accounts: [aliceInBroker()], defaultAccountId: "broker-alice" });
    assertToken(await app.acquireTokenInteractive(SCOPES, { parentWindowHandle: CONSOLE_WINDOW_HANDLE }));
    const [account] = await app.getAccounts();
    broker.calls.length = 0;

    await app.removeAccount(account);
    assert.deepEqual(methods(broker), ["readAccount", "signOut"]);
    assert.equal(broker.callsTo("signOut")[0].account.id, "broker-alice");
    assert.equal(broker.callsTo("signOut")[0].clientId, CLIENT_ID);
    const cache = cacheContents(app);
    assert.deepEqual([cache.AccessToken, cache.IdToken, cache.Account], [{}, {}, {}]);
    assert.deepEqual(await app.getAccounts(), []);
  });

  it("removes the account locally even when the broker's sign-out fails", async () => {
    const { app, broker, warnings } = brokerApp({
      accounts: [aliceInBroker()],
      defaultAccountId: "broker-alice",
    });
    assertToken(await app.acquireTokenInteractive(SCOPES, { parentWindowHandle: CONSOLE_WINDOW_HANDLE }));
    const [account] = await app.getAccounts();
    broker.script("signOut", { reply: brokerError("ApiContractViolation", "busy") });
    await app.removeAccount(account);
    assert.deepEqual(cacheContents(app).Account, {});
    assert.equal(warnings().filter((w) => w.includes("Broker sign-out failed")).length, 1);
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
