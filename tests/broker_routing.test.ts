import { describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  acquireTokenByUsernamePasswordViaBroker,
  acquireTokenInteractiveViaBroker,
  acquireTokenSilentViaBroker,
  type BrokeredInteractiveOptions,
  listBrokerAccounts,
  signOutViaBroker,
} from "../flows/brokered.ts";
import { mergeClaims } from "../core/scopes.ts";
import type { BrokerContext } from "../flows/context.ts";
import type { ResolvedAuthority } from "../core/authority.ts";
import { HttpClient } from "../core/http.ts";
import { SharedWork } from "../core/abort.ts";
import { type BrokerAccount, CONSOLE_WINDOW_HANDLE } from "../brokers/broker.ts";
import { TokenCache } from "../core/cache.ts";
import { AbortError, RedirectUriError } from "../core/errors.ts";
import { LogWriter } from "../core/log.ts";
import type { Account, AuthResult } from "../core/results.ts";
import {
  brokerError,
  FakeBroker,
  fakeBrokerAccount,
  type FakeBrokerOptions,
} from "../testing/fake_broker.ts";
import { assertError, assertToken } from "./_helpers.ts";

const CLIENT_ID = "04b07795-8ddb-461a-bbee-02f9e1bf7b46";
const SCOPES = ["User.Read"];

interface Setup {
  ctx: BrokerContext;
  broker: FakeBroker;
  cache: TokenCache;
  warnings: string[];
  verbose: string[];
}

const AUTHORITY: ResolvedAuthority = {
  url: "https://login.microsoftonline.com/common",
  origin: "https://login.microsoftonline.com",
  host: "login.microsoftonline.com",
  tenant: "common",
  type: "AAD",
  issuer: "https://login.microsoftonline.com/{tenantid}/v2.0",
  authorizationEndpoint: "https://login.microsoftonline.com/common/oauth2/v2.0/authorize",
  tokenEndpoint: "https://login.microsoftonline.com/common/oauth2/v2.0/token",
  environment: "login.microsoftonline.com",
  environments: ["login.microsoftonline.com", "login.windows.net", "login.microsoft.com", "sts.windows.net"],
  realm: "common",
  knownToDeveloper: false,
  issParameterSupported: false,
};

const KNOWN_TO_DEVELOPER = { authority: { ...AUTHORITY, knownToDeveloper: true } };

function setup(fake: FakeBrokerOptions = {}, overrides: Partial<BrokerContext> = {}): Setup {
  const broker = new FakeBroker(fake);
  const cache = new TokenCache();
  const warnings: string[] = [];
  const verbose: string[] = [];
  const logger = new LogWriter({
    warning: (message) => warnings.push(message),
    verbose: (message) => verbose.push(message),
  });
  const ctx: BrokerContext = {
    online: () => Promise.reject(new Error("the brokered flows never discover the authority")),
    broker,
    clientId: CLIENT_ID,
    logger,
    cache,
    http: new HttpClient(),
    authority: AUTHORITY,
    brokerDeadlines: { silentMs: 10_000, interactiveMs: 10_000 },
    platform: "linux",
    silentAttempts: new SharedWork(),
    ...overrides,
  };
  return { ctx, broker, cache, warnings, verbose };
}

function interactive(
  ctx: BrokerContext,
  options: Partial<BrokeredInteractiveOptions> = {},
): Promise<AuthResult> {
  return acquireTokenInteractiveViaBroker(ctx, SCOPES, {
    parentWindowHandle: CONSOLE_WINDOW_HANDLE,
    ...options,
  });
}

function methods(broker: FakeBroker): string[] {
  return broker.calls.map((call) => call.method);
}

const alice = fakeBrokerAccount({ username: "alice@contoso.com", id: "broker-alice" });
const bob = fakeBrokerAccount({ username: "bob@contoso.com", id: "broker-bob" });

describe("interactive through the broker: attempt order", () => {
  it("signs the OS default account in without UI when there is no prompt", async () => {
    const { ctx, broker } = setup({ accounts: [alice], defaultAccountId: alice.id });
    let launched = false;
    const result = assertToken(await interactive(ctx, { onBeforeLaunchingUi: () => launched = true }));
    assert.equal(result.token_source, "broker");
    assert.equal(result.id_token_claims?.preferred_username, "alice@contoso.com");
    assert.equal(result.account?.username, "alice@contoso.com");
    assert.equal(result.account?.local_account_id, "broker-alice");
    assert.equal(result.account?.account_source, "broker");
    assert.deepEqual(methods(broker), ["signInSilently"]);
    assert.equal(launched, false);
  });

  it("shows the broker's UI when there is no default account, with the console handle as given", async () => {
    const { ctx, broker } = setup({ interactiveAccount: bob });
    const launched: unknown[] = [];
    const result = assertToken(
      await interactive(ctx, { onBeforeLaunchingUi: (info) => launched.push(info) }),
    );
    assert.equal(result.account?.username, "bob@contoso.com");
    assert.deepEqual(methods(broker), ["signInSilently", "acquireTokenInteractive"]);
    assert.deepEqual(launched, [{ ui: "broker" }]);
    const [request] = broker.callsTo("acquireTokenInteractive");
    assert.equal(request.windowHandle, CONSOLE_WINDOW_HANDLE);
    assert.deepEqual(request.scopes, ["User.Read"]); // not decorated with openid profile offline_access
    assert.equal(request.redirectUri, `ms-appx-web://Microsoft.AAD.BrokerPlugin/${CLIENT_ID}`);
    assert.equal(request.authority, "https://login.microsoftonline.com/common");
    assert.equal(request.prompt, undefined);
  });

  it("passes a native window handle through unchanged", async () => {
    const { ctx, broker } = setup();
    const handle = new Uint8Array([1, 2, 3, 4, 0, 0, 0, 0]);
    assertToken(await interactive(ctx, { parentWindowHandle: handle }));
    assert.equal(broker.callsTo("acquireTokenInteractive")[0].windowHandle, handle);
  });

  it("uses the cached account named by login_hint silently, before the default account or UI", async () => {
    const { ctx, broker } = setup({
      accounts: [alice, bob],
      defaultAccountId: bob.id,
      interactiveAccount: alice,
    });
    assertToken(await interactive(ctx, { prompt: "select_account" })); // caches alice
    broker.calls.length = 0;

    const result = assertToken(await interactive(ctx, { loginHint: "ALICE@contoso.com" }));
    assert.equal(result.account?.username, "alice@contoso.com");
    assert.deepEqual(methods(broker), ["readAccount", "acquireTokenSilent"]);
    assert.equal(broker.callsTo("acquireTokenSilent")[0].account.id, "broker-alice");
  });

  it("goes on to the default account when the silent attempt for the login_hint fails", async () => {
    const { ctx, broker } = setup({ accounts: [alice], defaultAccountId: alice.id });
    assertToken(await interactive(ctx)); // caches alice
    broker.calls.length = 0;
    broker.script("acquireTokenSilent", { reply: brokerError("InteractionRequired") });

    const result = assertToken(await interactive(ctx, { loginHint: "alice@contoso.com" }));
    assert.equal(result.account?.username, "alice@contoso.com");
    assert.deepEqual(methods(broker), ["readAccount", "acquireTokenSilent", "signInSilently"]);
  });

  it("shows the UI with the login_hint when the default account is someone else", async () => {
    const { ctx, broker } = setup({ accounts: [alice, bob], defaultAccountId: bob.id });
    const result = assertToken(await interactive(ctx, { loginHint: "alice@contoso.com" }));
    assert.equal(result.account?.username, "alice@contoso.com");
    assert.deepEqual(methods(broker), ["signInSilently", "acquireTokenInteractive"]);
    assert.equal(broker.callsTo("acquireTokenInteractive")[0].loginHint, "alice@contoso.com");
  });

  it("escalates AccountUnusable and InteractionRequired from the default account to the UI", async () => {
    for (const status of ["AccountUnusable", "InteractionRequired", "Status_AccountUnusable"]) {
      const { ctx, broker } = setup({ accounts: [alice], defaultAccountId: alice.id });
      broker.script("signInSilently", { reply: brokerError(status) });
      assertToken(await interactive(ctx));
      assert.deepEqual(methods(broker), ["signInSilently", "acquireTokenInteractive"], status);
    }
  });

  it("returns other errors of the default account without showing UI", async () => {
    const { ctx, broker } = setup({ accounts: [alice], defaultAccountId: alice.id });
    broker.script("signInSilently", {
      reply: brokerError("ServerTemporarilyUnavailable", "Try again later", 7, 42),
    });
    let launched = false;
    const error = assertError(await interactive(ctx, { onBeforeLaunchingUi: () => launched = true }));
    assert.equal(error.broker_status, "ServerTemporarilyUnavailable");
    assert.deepEqual(methods(broker), ["signInSilently"]);
    assert.equal(launched, false);
  });

  it("select_account skips the silent attempts, drops login_hint with a warning and asks for the picker", async () => {
    const { ctx, broker, warnings } = setup({ accounts: [alice], defaultAccountId: alice.id });
    assertToken(await interactive(ctx)); // caches alice
    broker.calls.length = 0;

    assertToken(await interactive(ctx, { prompt: "select_account", loginHint: "alice@contoso.com" }));
    assert.deepEqual(methods(broker), ["acquireTokenInteractive"]);
    const [request] = broker.callsTo("acquireTokenInteractive");
    assert.equal(request.prompt, "select_account");
    assert.equal(request.loginHint, undefined);
    assert.ok(
      warnings.some((w) =>
        w.endsWith("Using both select_account and login_hint is ambiguous. Ignoring login_hint.")
      ),
    );
  });
});

describe("interactive through the broker: prompt none", () => {
  it("returns the default account's token without UI", async () => {
    const { ctx, broker } = setup({ accounts: [alice], defaultAccountId: alice.id });
    assertToken(await interactive(ctx, { prompt: "none", loginHint: "alice@contoso.com" }));
    assert.deepEqual(methods(broker), ["signInSilently"]);
  });

  it("returns the broker's error instead of showing UI", async () => {
    const { ctx, broker } = setup();
    const error = assertError(await interactive(ctx, { prompt: "none" }));
    assert.equal(error.broker_status, "InteractionRequired");
    assert.deepEqual(methods(broker), ["signInSilently"]);
  });
});

describe("interactive through the broker: options", () => {
  it("warns about each option the broker ignores", async () => {
    const { ctx, warnings } = setup();
    assertToken(
      await interactive(ctx, {
        domainHint: "contoso.com",
        port: 8400,
        timeout: 60,
        extraScopesToConsent: ["Mail.Read"],
        prompt: "login",
      }),
    );
    for (const option of ["domainHint", "port", "timeout", "extraScopesToConsent"]) {
      assert.ok(
        warnings.some((w) => w.includes(`Ignoring parameter ${option}, which is not supported by broker`)),
        option,
      );
    }
    assert.ok(warnings.some((w) => w.includes("prompt=login is not supported by broker")));
  });

  it("sends max_age, validateAuthority=no and the merged claims to the broker", async () => {
    const { ctx, broker } = setup({}, { clientCapabilities: ["CP1"], ...KNOWN_TO_DEVELOPER });
    const challenge = JSON.stringify({ access_token: { nbf: { essential: true, value: "1700000000" } } });
    assertToken(await interactive(ctx, { maxAge: 300, claimsChallenge: challenge }));
    const claims = mergeClaims(["CP1"], challenge);
    assert.deepEqual(JSON.parse(claims!), {
      access_token: { nbf: { essential: true, value: "1700000000" }, xms_cc: { values: ["CP1"] } },
    });
    for (
      const request of [broker.callsTo("signInSilently")[0], broker.callsTo("acquireTokenInteractive")[0]]
    ) {
      assert.deepEqual(request.extraParameters, { max_age: "300", validateAuthority: "no" });
      assert.equal(request.claims, claims);
    }
  });

  it("sends no claims and no extra parameters when there are none", async () => {
    const { ctx, broker } = setup();
    assertToken(await interactive(ctx));
    const [request] = broker.callsTo("acquireTokenInteractive");
    assert.equal(request.claims, undefined);
    assert.equal(request.extraParameters, undefined);
  });
});

describe("broker failures are returned, never a switch to the browser", () => {
  it("returns MSAL's broker_error shape", async () => {
    const { ctx, broker, cache } = setup();
    broker.script("acquireTokenInteractive", {
      reply: brokerError("UserCanceled", "User canceled the flow", 1234, "0x1f9"),
    });
    const launched: unknown[] = [];
    const error = assertError(
      await interactive(ctx, { correlationId: "corr-1", onBeforeLaunchingUi: (i) => launched.push(i) }),
    );
    assert.deepEqual(error, {
      error: "broker_error",
      error_description: "User canceled the flow. Status: UserCanceled, Error code: 1234, Tag: 0x1f9",
      broker_status: "UserCanceled",
      broker_error_code: 1234,
      broker_tag: "0x1f9",
      correlation_id: "corr-1",
    });
    assert.deepEqual(launched, [{ ui: "broker" }]);
    assert.deepEqual(JSON.parse(cache.serialize()).AccessToken, {});
  });

  it("throws RedirectUriError naming the broker's redirect URI when the app has not registered it", async () => {
    const { ctx, broker } = setup({
      redirectUri: "https://login.microsoftonline.com/common/oauth2/nativeclient",
    });
    broker.script("acquireTokenInteractive", {
      reply: brokerError("ApiContractViolation", "AADSTS50011: The redirect URI does not match"),
    });
    await assert.rejects(interactive(ctx), (error: unknown) => {
      assert.ok(error instanceof RedirectUriError);
      assert.equal(error.redirectUri, "https://login.microsoftonline.com/common/oauth2/nativeclient");
      return true;
    });
  });

  it("throws RedirectUriError from silent calls too (AADSTS7000218)", async () => {
    const { ctx, broker } = setup({ accounts: [alice] });
    broker.script("acquireTokenSilent", {
      reply: brokerError("Unexpected", "AADSTS7000218: client_assertion"),
    });
    await assert.rejects(
      acquireTokenSilentViaBroker(ctx, SCOPES, accountOf(alice), {}),
      RedirectUriError,
    );
  });
});

describe("timeouts and cancellation", () => {
  it("returns a Timeout broker_error when the broker does not answer in time, and cancels the call", async () => {
    const { ctx, broker } = setup({}, { brokerDeadlines: { silentMs: 20, interactiveMs: 20 } });
    broker.script("signInSilently", { delayMs: 60_000 });
    const error = assertError(await interactive(ctx));
    assert.equal(error.error, "broker_error");
    assert.equal(error.broker_status, "Timeout");
    assert.match(error.error_description ?? "", /^The broker did not answer within 20 ms/);
    assert.equal(broker.callsTo("signInSilently")[0].signal.aborted, true);
    assert.deepEqual(methods(broker), ["signInSilently"]);
  });

  it("times out even when the plugin ignores the signal", async () => {
    const { ctx, broker } = setup({}, { brokerDeadlines: { silentMs: 10_000, interactiveMs: 20 } });
    broker.script("acquireTokenInteractive", { reply: () => new Promise(() => {}) });
    const error = assertError(await interactive(ctx));
    assert.equal(error.broker_status, "Timeout");
    assert.match(error.error_description ?? "", /within 20 ms/);
  });

  it("rejects with AbortError when the caller aborts during a broker call", async () => {
    const { ctx, broker } = setup();
    const controller = new AbortController();
    broker.script("acquireTokenInteractive", {
      reply: () => {
        controller.abort();
        return new Promise(() => {});
      },
    });
    await assert.rejects(interactive(ctx, { signal: controller.signal }), AbortError);
    assert.equal(broker.callsTo("acquireTokenInteractive")[0].signal.aborted, true);
  });

  it("rejects with AbortError without calling the broker when already aborted", async () => {
    const { ctx, broker } = setup();
    await assert.rejects(interactive(ctx, { signal: AbortSignal.abort() }), AbortError);
    await assert.rejects(
      acquireTokenSilentViaBroker(ctx, SCOPES, accountOf(alice), { signal: AbortSignal.abort() }),
      AbortError,
    );
    assert.deepEqual(broker.calls, []);
  });
});

describe("what a broker token leaves in the cache", () => {
  it("the access token, ID token and account (account_source broker), but no refresh token", async () => {
    const { ctx, cache } = setup({ interactiveAccount: alice });
    const result = assertToken(await interactive(ctx));
    const state = JSON.parse(cache.serialize());
    assert.deepEqual(state.RefreshToken, {});
    const [at] = Object.values(state.AccessToken) as Record<string, string>[];
    assert.equal(at.secret, result.access_token);
    assert.equal(at.client_id, CLIENT_ID);
    assert.equal(at.environment, "login.microsoftonline.com");
    assert.equal(at.target, "User.Read");
    assert.equal(Object.keys(state.IdToken).length, 1);
    const [account] = Object.values(state.Account) as Record<string, string>[];
    assert.equal(account.account_source, "broker");
    assert.equal(account.local_account_id, "broker-alice");
    assert.equal(account.username, "alice@contoso.com");
    assert.equal(account.home_account_id, alice.homeAccountId);
    assert.equal(result.account?.home_account_id, alice.homeAccountId);
    assert.ok(result.expires_in > 3500 && result.expires_in <= 3600);
    assert.equal(result.token_type, "Bearer");
  });
});

describe("silent through the broker", () => {
  it("gets a token for an account the broker established", async () => {
    const { ctx, broker } = setup({ accounts: [alice], defaultAccountId: alice.id });
    const first = assertToken(await interactive(ctx));
    const result = assertToken(await acquireTokenSilentViaBroker(ctx, ["Mail.Read"], first.account!, {}));
    assert.equal(result.token_source, "broker");
    assert.notEqual(result.access_token, first.access_token);
    assert.deepEqual(broker.callsTo("acquireTokenSilent")[0].scopes, ["Mail.Read"]);
  });

  it("returns null when the broker does not know the account", async () => {
    const { ctx, broker } = setup({ accounts: [bob] });
    assert.equal(await acquireTokenSilentViaBroker(ctx, SCOPES, accountOf(alice), {}), null);
    assert.deepEqual(methods(broker), ["readAccount"]);
  });

  it("finds the account through getAccounts when the plugin has no readAccount", async () => {
    const { ctx, broker } = setup({ accounts: [alice], readAccount: false });
    assertToken(await acquireTokenSilentViaBroker(ctx, SCOPES, accountOf(alice), {}));
    assert.equal(await acquireTokenSilentViaBroker(ctx, SCOPES, accountOf(bob), {}), null);
    assert.deepEqual(methods(broker), ["getAccounts", "acquireTokenSilent", "getAccounts"]);
  });

  it("returns the broker's error for the account", async () => {
    const { ctx, broker } = setup({ accounts: [alice] });
    broker.script("acquireTokenSilent", { reply: brokerError("InteractionRequired", "AADSTS50076: MFA") });
    const error = assertError(await acquireTokenSilentViaBroker(ctx, SCOPES, accountOf(alice), {}));
    assert.equal(error.broker_status, "InteractionRequired");
  });

  it("sends the claims challenge merged with the client capabilities, without max_age", async () => {
    const { ctx, broker } = setup({ accounts: [alice] }, { clientCapabilities: ["CP1"] });
    const challenge = '{"access_token":{"acrs":{"essential":true,"value":"c1"}}}';
    assertToken(
      await acquireTokenSilentViaBroker(ctx, SCOPES, accountOf(alice), { claimsChallenge: challenge }),
    );
    const [request] = broker.callsTo("acquireTokenSilent");
    assert.equal(request.claims, mergeClaims(["CP1"], challenge));
    assert.equal(request.extraParameters, undefined);
    assert.equal(request.correlationId.length > 0, true);
  });

  it("returns a Timeout broker_error when the silent call hangs", async () => {
    const { ctx, broker } = setup({ accounts: [alice] }, {
      brokerDeadlines: { silentMs: 20, interactiveMs: 10_000 },
    });
    broker.script("acquireTokenSilent", { delayMs: 60_000 });
    const error = assertError(await acquireTokenSilentViaBroker(ctx, SCOPES, accountOf(alice), {}));
    assert.equal(error.broker_status, "Timeout");
  });
});

describe("username and password through the broker", () => {
  it("signs the user in silently with MSALRuntime_Username / MSALRuntime_Password as a broker account", async () => {
    const { ctx, broker } = setup({ accounts: [bob], defaultAccountId: bob.id }, {
      clientCapabilities: ["CP1"],
      ...KNOWN_TO_DEVELOPER,
    });
    const result = assertToken(
      await acquireTokenByUsernamePasswordViaBroker(ctx, SCOPES, "alice@contoso.com", "s3cret", {}),
    );
    assert.equal(result.token_source, "broker");
    assert.equal(result.account?.username, "alice@contoso.com");
    assert.equal(result.account?.account_source, "broker");
    const [request] = broker.callsTo("signInSilently");
    assert.deepEqual(request.extraParameters, {
      validateAuthority: "no",
      MSALRuntime_Username: "alice@contoso.com",
      MSALRuntime_Password: "s3cret",
    });
    assert.equal(request.claims, mergeClaims(["CP1"], undefined));
  });

  it("returns the broker's error", async () => {
    const { ctx, broker } = setup();
    broker.script("signInSilently", { reply: brokerError("IncorrectConfiguration", "bad password") });
    const error = assertError(
      await acquireTokenByUsernamePasswordViaBroker(ctx, SCOPES, "alice@contoso.com", "wrong", {}),
    );
    assert.equal(error.error, "broker_error");
    assert.equal(error.broker_status, "IncorrectConfiguration");
  });
});

describe("accounts and sign-out", () => {
  it("lists the broker's accounts in this cloud as broker accounts", async () => {
    const sovereign = fakeBrokerAccount({
      username: "carol@contoso.us",
      environment: "login.microsoftonline.us",
    });
    const { ctx } = setup({ accounts: [alice, bob, sovereign] });
    const accounts = await listBrokerAccounts(ctx);
    assert.deepEqual(accounts.map((a) => a.username), ["alice@contoso.com", "bob@contoso.com"]);
    assert.deepEqual(accounts[0], {
      home_account_id: alice.homeAccountId,
      environment: "login.microsoftonline.com",
      username: "alice@contoso.com",
      realm: alice.realm,
      local_account_id: "broker-alice",
      authority_type: "MSSTS",
      account_source: "broker",
    });
  });

  it("gives no accounts and a warning when the broker fails or throws", async () => {
    const { ctx, broker, warnings } = setup({ accounts: [alice] });
    broker.script("getAccounts", { reply: brokerError("Unexpected", "bus closed") }, {
      throws: new Error("boom"),
    });
    assert.deepEqual(await listBrokerAccounts(ctx), []);
    assert.deepEqual(await listBrokerAccounts(ctx), []);
    assert.equal(warnings.length, 2);
    assert.match(warnings[0], /Status: Unexpected/);
    assert.match(warnings[1], /boom/);
  });

  it("signs the account out of the broker", async () => {
    const { ctx, broker } = setup({ accounts: [alice, bob] });
    await signOutViaBroker(ctx, accountOf(alice));
    assert.deepEqual([...broker.accounts.keys()], ["broker-bob"]);
    assert.equal(broker.callsTo("signOut")[0].account.id, "broker-alice");
  });

  it("logs, and does not throw, when sign-out fails or the account is unknown", async () => {
    const { ctx, broker, warnings } = setup({ accounts: [alice] });
    broker.script("signOut", { reply: brokerError("Unexpected", "cannot sign out") });
    await signOutViaBroker(ctx, accountOf(alice));
    await signOutViaBroker(ctx, accountOf(bob));
    assert.equal(warnings.length, 1);
    assert.match(warnings[0], /Broker sign-out failed: .*Status: Unexpected/);
    assert.deepEqual(methods(broker), ["readAccount", "signOut", "readAccount"]);
  });
});

describe("a broker that throws or hangs outside token calls: logged, never thrown", () => {
  const quick = { brokerDeadlines: { silentMs: 20, interactiveMs: 10_000 } };

  it("an account lookup that throws: the account counts as unknown", async () => {
    const { ctx, broker, verbose } = setup({ accounts: [alice] });
    broker.script("readAccount", { throws: new Error("bus closed") });
    assert.equal(await acquireTokenSilentViaBroker(ctx, SCOPES, accountOf(alice), {}), null);
    assert.deepEqual(methods(broker), ["readAccount"]);
    assert.ok(verbose.some((m) => m.endsWith("Could not read the broker account: bus closed")));
  });

  it("an account lookup that hangs: a Timeout broker_error", async () => {
    const { ctx, broker } = setup({ accounts: [alice] }, quick);
    broker.script("readAccount", { delayMs: 60_000 });
    const error = assertError(await acquireTokenSilentViaBroker(ctx, SCOPES, accountOf(alice), {}));
    assert.equal(error.broker_status, "Timeout");
    assert.deepEqual(methods(broker), ["readAccount"]);
  });

  it("sign-out that throws or hangs: one warning each", async () => {
    const { ctx, broker, warnings } = setup({ accounts: [alice] }, quick);
    broker.script("signOut", { throws: new Error("boom") }, { delayMs: 60_000 });
    await signOutViaBroker(ctx, accountOf(alice));
    await signOutViaBroker(ctx, accountOf(alice));
    assert.equal(warnings.length, 2);
    assert.match(warnings[0], /Broker sign-out failed: boom$/);
    assert.match(warnings[1], /Broker sign-out failed: The broker did not answer within 20 ms/);
  });

  it("listing accounts that hangs: no accounts and a warning", async () => {
    const { ctx, broker, warnings } = setup({ accounts: [alice] }, quick);
    broker.script("getAccounts", { delayMs: 60_000 });
    assert.deepEqual(await listBrokerAccounts(ctx), []);
    assert.equal(warnings.length, 1);
    assert.match(warnings[0], /Could not list the broker's accounts: The broker did not answer within 20 ms/);
  });

  it("an aborted caller still gets AbortError", async () => {
    const { ctx, broker } = setup({ accounts: [alice] });
    const controller = new AbortController();
    broker.script("signOut", {
      reply: () => {
        controller.abort();
        return new Promise(() => {});
      },
    });
    await assert.rejects(signOutViaBroker(ctx, accountOf(alice), { signal: controller.signal }), AbortError);
    await assert.rejects(listBrokerAccounts(ctx, { signal: controller.signal }), AbortError);
  });
});

function accountOf(account: BrokerAccount): Account {
  return {
    home_account_id: account.homeAccountId!,
    environment: account.environment!,
    username: account.username!,
    realm: account.realm!,
    local_account_id: account.id,
    authority_type: "MSSTS",
    account_source: "broker",
  };
}
