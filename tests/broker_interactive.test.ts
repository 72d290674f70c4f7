// Interactive sign-in in broker mode: parentWindowHandle, the attempt order, browser-only options.
// End to end through PublicClientApplication; the shared setup is in _broker_app.ts.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  type AcquireTokenInteractiveOptions,
  ConfigurationError,
  CONSOLE_WINDOW_HANDLE,
  PublicClientApplication,
} from "../mod.ts";
import { brokerError } from "../testing/fake_broker.ts";
import { assertError, assertToken } from "./_helpers.ts";
import {
  ALICE,
  aliceInBroker,
  BOB,
  bobInBroker,
  brokerApp,
  idp,
  methods,
  persistedCache,
  SCOPES,
  startAuthority,
  stopAuthority,
} from "./_broker_app.ts";

before(startAuthority);
after(stopAuthority);

describe("parentWindowHandle", () => {
  const message =
    "parentWindowHandle is required when you opted into using broker. You need to provide the " +
    "window handle of your GUI application, or use PublicClientApplication.CONSOLE_WINDOW_HANDLE when and only " +
    "when your application is a console app.";

  it("is required when a broker is in use, with MSAL Python's message", async () => {
    const { app, broker } = brokerApp({ accounts: [aliceInBroker()], defaultAccountId: "broker-alice" });
    await assert.rejects(app.acquireTokenInteractive(SCOPES), (error: unknown) => {
      assert.ok(error instanceof ConfigurationError);
      assert.equal(error.message, message);
      return true;
    });
    await assert.rejects(
      app.acquireTokenInteractive(SCOPES, { parentWindowHandle: null as unknown as undefined }),
      { message },
    );
    assert.deepEqual(broker.calls, []);
  });

  it("is checked before anything goes to the network, so the developer sees this message even offline", async () => {
    const { app } = brokerApp({ accounts: [aliceInBroker()] }, {
      authority: "http://127.0.0.1:9/organizations", // nothing listens on the discard port
    });
    await assert.rejects(app.acquireTokenInteractive(SCOPES), { message });
  });

  it("CONSOLE_WINDOW_HANDLE is one sentinel, on the class, the instance and the module, passed to the broker", async () => {
    const { app, broker } = brokerApp();
    assert.equal(PublicClientApplication.CONSOLE_WINDOW_HANDLE, app.CONSOLE_WINDOW_HANDLE);
    assert.equal(app.CONSOLE_WINDOW_HANDLE, CONSOLE_WINDOW_HANDLE);
    assertToken(await app.acquireTokenInteractive(SCOPES, { parentWindowHandle: app.CONSOLE_WINDOW_HANDLE }));
    assert.equal(broker.callsTo("acquireTokenInteractive")[0].windowHandle, CONSOLE_WINDOW_HANDLE);
  });

  it("a GUI app's native handle reaches the broker unchanged", async () => {
    const { app, broker } = brokerApp({}, {}, "windows");
    const hwnd = 0x00120a4en;
    assertToken(await app.acquireTokenInteractive(SCOPES, { parentWindowHandle: hwnd }));
    assert.equal(broker.callsTo("acquireTokenInteractive")[0].windowHandle, hwnd);
  });
});

describe("interactive attempt order", () => {
  it("no prompt: the OS default account, without UI", async () => {
    const { app, broker } = brokerApp({ accounts: [aliceInBroker()], defaultAccountId: "broker-alice" });
    const launched: unknown[] = [];
    const result = assertToken(
      await app.acquireTokenInteractive(SCOPES, {
        parentWindowHandle: CONSOLE_WINDOW_HANDLE,
        onBeforeLaunchingUi: (info) => launched.push(info),
      }),
    );
    assert.equal(result.token_source, "broker");
    assert.equal(result.id_token_claims?.preferred_username, ALICE.username);
    assert.equal(result.account?.account_source, "broker");
    assert.equal(result.account?.local_account_id, "broker-alice");
    assert.deepEqual(methods(broker), ["signInSilently"]);
    assert.deepEqual(broker.callsTo("signInSilently")[0].scopes, SCOPES); // not decorated
    assert.deepEqual(launched, []);
  });

  it("a loginHint matching a cached account: broker silent for that account first", async () => {
    const { app, broker } = brokerApp({
      accounts: [aliceInBroker(), bobInBroker()],
      defaultAccountId: "broker-alice",
    });
    assertToken(await app.acquireTokenInteractive(SCOPES, { parentWindowHandle: CONSOLE_WINDOW_HANDLE }));
    broker.defaultAccountId = "broker-bob";
    broker.calls.length = 0;

    const result = assertToken(
      await app.acquireTokenInteractive(["Mail.Read"], {
        parentWindowHandle: CONSOLE_WINDOW_HANDLE,
        loginHint: "Alice@Contoso.com",
      }),
    );
    assert.equal(result.token_source, "broker");
    assert.equal(result.account?.username, ALICE.username);
    assert.deepEqual(methods(broker), ["readAccount", "acquireTokenSilent"]);
    assert.equal(broker.callsTo("acquireTokenSilent")[0].account.id, "broker-alice");
  });

  it("a loginHint finds the cached account through the cache's persistence plugin", async () => {
    const store = { state: "" };
    const broker = { accounts: [aliceInBroker(), bobInBroker()], defaultAccountId: "broker-alice" };
    const earlier = brokerApp(broker, { tokenCache: persistedCache(store) });
    assertToken(
      await earlier.app.acquireTokenInteractive(SCOPES, { parentWindowHandle: CONSOLE_WINDOW_HANDLE }),
    );
    const stored = Object.values(JSON.parse(store.state).Account) as Record<string, string>[];
    assert.deepEqual(stored.map((account) => account.local_account_id), ["broker-alice"]);

    // A later run: an empty in-memory cache over the same store, and Bob now the OS default account.
    const { app, broker: later } = brokerApp({ ...broker, defaultAccountId: "broker-bob" }, {
      tokenCache: persistedCache(store),
    });
    const result = assertToken(
      await app.acquireTokenInteractive(["Mail.Read"], {
        parentWindowHandle: CONSOLE_WINDOW_HANDLE,
        loginHint: ALICE.username,
      }),
    );
    assert.equal(result.token_source, "broker");
    assert.equal(result.account?.username, ALICE.username);
    assert.deepEqual(methods(later), ["readAccount", "acquireTokenSilent"]);
    assert.equal(later.callsTo("readAccount")[0].accountId, "broker-alice");
    assert.equal(later.callsTo("acquireTokenSilent")[0].account.id, "broker-alice");
    const targets = Object.values(JSON.parse(store.state).AccessToken) as Record<string, string>[];
    assert.deepEqual(targets.map((at) => at.target).sort(), ["Mail.Read", "User.Read"]);
  });

  it("AccountUnusable (or InteractionRequired) from the default account: the broker's UI", async () => {
    for (const status of ["AccountUnusable", "InteractionRequired"]) {
      const { app, broker } = brokerApp({ accounts: [aliceInBroker()], defaultAccountId: "broker-alice" });
      broker.script("signInSilently", { reply: brokerError(status) });
      const launched: unknown[] = [];
      const result = assertToken(
        await app.acquireTokenInteractive(SCOPES, {
          parentWindowHandle: CONSOLE_WINDOW_HANDLE,
          onBeforeLaunchingUi: (info) => launched.push(info),
        }),
      );
      assert.equal(result.token_source, "broker");
      assert.deepEqual(methods(broker), ["signInSilently", "acquireTokenInteractive"], status);
      assert.deepEqual(launched, [{ ui: "broker" }]);
    }
  });

  it("select_account: straight to the broker's UI, with the picker", async () => {
    const { app, broker } = brokerApp({
      accounts: [aliceInBroker(), bobInBroker()],
      defaultAccountId: "broker-alice",
      interactiveAccount: bobInBroker(),
    });
    const result = assertToken(
      await app.acquireTokenInteractive(SCOPES, {
        parentWindowHandle: CONSOLE_WINDOW_HANDLE,
        prompt: "select_account",
      }),
    );
    assert.equal(result.account?.username, BOB.username);
    assert.deepEqual(methods(broker), ["acquireTokenInteractive"]);
    assert.equal(broker.callsTo("acquireTokenInteractive")[0].prompt, "select_account");
  });

  it('prompt "none" refuses a default account other than the loginHint', async () => {
    const { app, broker } = brokerApp({
      accounts: [aliceInBroker(), bobInBroker()],
      defaultAccountId: "broker-bob",
    });
    const error = assertError(
      await app.acquireTokenInteractive(SCOPES, {
        parentWindowHandle: CONSOLE_WINDOW_HANDLE,
        prompt: "none",
        loginHint: ALICE.username,
      }),
    );
    assert.equal(error.error, "broker_error");
    assert.equal(error.error_description, `prompt="none" will not work for login_hint="${ALICE.username}"`);
    assert.deepEqual(methods(broker), ["signInSilently"]);
  });
});

describe("browser-only options in broker mode: one warning each, and nothing else", () => {
  const BROWSER_ONLY: [string, AcquireTokenInteractiveOptions][] = [
    ["openBrowser", { openBrowser: () => assert.fail("openBrowser must not be called") }],
    ["successTemplate", { successTemplate: "<p>Signed in.</p>" }],
    ["errorTemplate", { errorTemplate: "<p>$error: $error_description</p>" }],
    ["responseMode", { responseMode: "query" }],
    ["port", { port: 8400 }],
    ["timeout", { timeout: 60 }],
    ["domainHint", { domainHint: "contoso.com" }],
    ["extraScopesToConsent", { extraScopesToConsent: ["Mail.Read"] }],
  ];
  const ignoring = (name: string) =>
    `[@authbroker/msal] Ignoring parameter ${name}, which is not supported by broker`;

  /** Signs in through the broker's UI (there is no default account), recording what happened. */
  async function signIn(options: AcquireTokenInteractiveOptions) {
    const setup = brokerApp({ interactiveAccount: aliceInBroker() });
    const launched: unknown[] = [];
    idp.clearRequests();
    const result = assertToken(
      await setup.app.acquireTokenInteractive(SCOPES, {
        parentWindowHandle: CONSOLE_WINDOW_HANDLE,
        onBeforeLaunchingUi: (info) => launched.push(info),
        ...options,
      }),
    );
    const requests = setup.broker.calls.map(({ method, request }) => ({
      method,
      request: { ...request, signal: undefined, correlationId: undefined },
    }));
    const authorityCalls = idp.requestsTo("authorize").length + idp.requestsTo("token").length;
    return { ...setup, result, launched, requests, authorityCalls };
  }

  for (const [name, option] of BROWSER_ONLY) {
    it(name, async () => {
      const baseline = await signIn({});
      const ignored = await signIn(option);
      assert.deepEqual(ignored.logged, [...baseline.logged, { level: "warning", message: ignoring(name) }]);
      assert.deepEqual(ignored.requests, baseline.requests);
      assert.deepEqual(ignored.requests.map((call) => call.method), [
        "signInSilently",
        "acquireTokenInteractive",
      ]);
      assert.deepEqual(ignored.launched, [{ ui: "broker" }]);
      assert.equal(ignored.authorityCalls, 0);
      assert.equal(ignored.result.token_source, "broker");
      assert.deepEqual(ignored.result.account, baseline.result.account);
      assert.equal(ignored.result.scope, "User.Read");
    });
  }

  it("all of them at once: one warning per option", async () => {
    const all = Object.assign({}, ...BROWSER_ONLY.map(([, option]) => option));
    const { warnings } = await signIn(all);
    assert.deepEqual(warnings().sort(), BROWSER_ONLY.map(([name]) => ignoring(name)).sort());
  });
});
