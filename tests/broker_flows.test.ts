// Flows that never touch the broker: device code, refresh tokens, username/password.
// End to end through PublicClientApplication; the shared setup is in _broker_app.ts.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { brokerError } from "../testing/fake_broker.ts";
import {
  assertError,
  assertToken,
  type Logged,
  newApp,
  recordingLogger,
  signInWithDeviceCode,
} from "./_helpers.ts";
import {
  ALICE,
  aliceInBroker,
  BOB,
  bobInBroker,
  brokerApp,
  cacheContents,
  DEVICE_CODE_SOURCE,
  idp,
  methods,
  PLATFORMS,
  SCOPES,
  tokenGrants,
  useFakeAuthority,
} from "./_broker_app.ts";

useFakeAuthority();

describe("flows that never touch the broker, even when it is ready", () => {
  it("device code, then silent refresh and a refresh token from elsewhere: identity_provider every time", async () => {
    const { app, broker } = brokerApp({ accounts: [aliceInBroker()], defaultAccountId: "broker-alice" });
    const signedIn = await signInWithDeviceCode(idp, app, ALICE.username);
    assert.equal(signedIn.token_source, "identity_provider");
    const account = signedIn.account!;
    assert.equal(account.account_source, DEVICE_CODE_SOURCE);

    const cached = assertToken(await app.acquireTokenSilent(SCOPES, { account }));
    assert.equal(cached.token_source, "cache");
    idp.clearRequests();
    const refreshed = assertToken(await app.acquireTokenSilent(SCOPES, { account, forceRefresh: true }));
    assert.equal(refreshed.token_source, "identity_provider");
    assert.deepEqual(tokenGrants(), ["refresh_token"]);

    const [current] = Object.values(cacheContents(app).RefreshToken); // rotated by the refresh above
    const migrated = assertToken(await app.acquireTokenByRefreshToken(current.secret, SCOPES));
    assert.equal(migrated.token_source, "identity_provider");
    assert.deepEqual(broker.calls, []);
  });
});

describe("acquireTokenByUsernamePassword", () => {
  /** Fails if any log line, at any level, contains the password. */
  function assertPasswordNotLogged(logged: Logged[], password: string): void {
    const leaked = logged.filter((line) => line.message.includes(password));
    assert.deepEqual(leaked, [], "the password must never be logged");
  }

  for (const platform of ["windows", "mac"] as const) {
    it(`${platform}, broker ready: the broker's silent sign-in with MSALRuntime_Username / _Password`, async () => {
      const { app, broker, logged } = brokerApp({ accounts: [bobInBroker()] }, {}, platform);
      idp.clearRequests();
      const result = assertToken(
        await app.acquireTokenByUsernamePassword(ALICE.username, ALICE.password, SCOPES),
      );
      assert.equal(result.token_source, "broker");
      assert.equal(result.account?.account_source, "broker");
      assert.equal(result.account?.username, ALICE.username);
      assert.deepEqual(methods(broker), ["signInSilently"]);
      const [request] = broker.callsTo("signInSilently");
      assert.deepEqual(request.extraParameters, {
        MSALRuntime_Username: ALICE.username,
        MSALRuntime_Password: ALICE.password,
      });
      assert.deepEqual(request.scopes, SCOPES);
      assert.deepEqual(idp.requestsTo("token"), []);
      const [account, ...others] = Object.values(cacheContents(app).Account);
      assert.deepEqual(others, []);
      assert.equal(account.account_source, "broker");

      broker.script("signInSilently", { reply: brokerError("InteractionRequired", "MFA required") });
      const error = assertError(await app.acquireTokenByUsernamePassword(BOB.username, BOB.password, SCOPES));
      assert.equal(error.error, "broker_error");
      assertPasswordNotLogged(logged, ALICE.password);
      assertPasswordNotLogged(logged, BOB.password);
    });
  }

  it("windows, instance discovery off, client capabilities: validateAuthority=no and the capabilities as claims", async () => {
    const { app, broker } = brokerApp({ accounts: [bobInBroker()] }, {
      clientCapabilities: ["CP1"],
      instanceDiscovery: false,
    }, "windows");
    const result = assertToken(
      await app.acquireTokenByUsernamePassword(ALICE.username, ALICE.password, SCOPES),
    );
    assert.equal(result.token_source, "broker");
    const [request] = broker.callsTo("signInSilently");
    assert.deepEqual(request.extraParameters, {
      validateAuthority: "no",
      MSALRuntime_Username: ALICE.username,
      MSALRuntime_Password: ALICE.password,
    });
    assert.deepEqual(JSON.parse(request.claims ?? "null"), { access_token: { xms_cc: { values: ["CP1"] } } });
  });

  for (const platform of ["linux", "wsl"] as const) {
    it(`${platform}, broker ready: the identity provider's password grant; the broker is not called`, async () => {
      const { app, broker, logged } = brokerApp(
        { accounts: [aliceInBroker()], defaultAccountId: "broker-alice" },
        {},
        platform,
      );
      assert.equal((await app.brokerStatus()).enabled, true);
      idp.clearRequests();
      const result = assertToken(
        await app.acquireTokenByUsernamePassword(ALICE.username, ALICE.password, SCOPES),
      );
      assert.equal(result.token_source, "identity_provider");
      assert.equal(result.account?.account_source, "password");
      assert.equal(result.account?.username, ALICE.username);
      const [request, ...more] = idp.requestsTo("token");
      assert.deepEqual(more, []);
      assert.equal(request.form.grant_type, "password");
      assert.equal(request.form.username, ALICE.username);
      assert.equal(request.form.password, ALICE.password);

      const wrong = "not-alice-pw";
      assert.equal(
        assertError(await app.acquireTokenByUsernamePassword(ALICE.username, wrong, SCOPES)).error,
        "invalid_grant",
      );
      assert.deepEqual(broker.calls, []);
      assertPasswordNotLogged(logged, ALICE.password);
      assertPasswordNotLogged(logged, wrong);
    });
  }

  it("without a broker: a plain password sign-in, then acquireTokenSilent serves it from the cache", async () => {
    for (const platform of PLATFORMS) {
      const { logger, logged } = recordingLogger();
      const app = newApp(idp, { platform, logger });
      idp.clearRequests();
      const result = assertToken(
        await app.acquireTokenByUsernamePassword(ALICE.username, ALICE.password, SCOPES),
      );
      assert.equal(result.token_source, "identity_provider", platform);
      assert.equal(result.account?.account_source, "password");
      assert.deepEqual(tokenGrants(), ["password"]);

      const [account, ...others] = await app.getAccounts({ username: ALICE.username });
      assert.deepEqual(others, []);
      const cached = assertToken(await app.acquireTokenSilent(SCOPES, { account }));
      assert.equal(cached.token_source, "cache");
      assert.equal(cached.access_token, result.access_token);
      assert.deepEqual(tokenGrants(), ["password"]);
      assertPasswordNotLogged(logged, ALICE.password);
    }
  });
});
