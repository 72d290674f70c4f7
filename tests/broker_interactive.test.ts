// Interactive sign-in in broker mode: parentWindowHandle, the attempt order, browser-only options.
// End to end through PublicClientApplication; the shared setup is in _broker_app.ts.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  AbortError,
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
  host,
  idp,
  methods,
  persistedCache,
  SCOPES,
  useFakeAuthority,
  WAM_REDIRECT_URI,
} from "./_broker_app.ts";

useFakeAuthority();

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
    assert.equal(result.account?.username, ALICE.username);
    assert.equal(result.account?.account_source, "broker");
    assert.equal(result.account?.local_account_id, "broker-alice");
    assert.deepEqual(methods(broker), ["signInSilently"]);
    assert.deepEqual(broker.callsTo("signInSilently")[0].scopes, SCOPES); // not decorated
    assert.deepEqual(launched, []);
  });

  it("no default account: the broker's UI, asked for the scopes as given, with nothing added", async () => {
    const { app, broker } = brokerApp({ interactiveAccount: bobInBroker() }, {}, "windows");
    const launched: unknown[] = [];
    const result = assertToken(
      await app.acquireTokenInteractive(SCOPES, {
        parentWindowHandle: CONSOLE_WINDOW_HANDLE,
        onBeforeLaunchingUi: (info) => launched.push(info),
      }),
    );
    assert.equal(result.account?.username, BOB.username);
    assert.deepEqual(methods(broker), ["signInSilently", "acquireTokenInteractive"]);
    assert.deepEqual(launched, [{ ui: "broker" }]);
    const [request] = broker.callsTo("acquireTokenInteractive");
    assert.deepEqual(request.scopes, SCOPES); // not decorated with openid profile offline_access
    assert.equal(request.redirectUri, WAM_REDIRECT_URI);
    assert.equal(request.authority, `https://${host}/organizations`);
    for (const field of ["prompt", "loginHint", "account", "claims", "extraParameters"] as const) {
      assert.equal(request[field], undefined, field);
    }
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

  it("a loginHint whose broker silent attempt fails: the OS default account next", async () => {
    const { app, broker } = brokerApp({ accounts: [aliceInBroker()], defaultAccountId: "broker-alice" });
    assertToken(await app.acquireTokenInteractive(SCOPES, { parentWindowHandle: CONSOLE_WINDOW_HANDLE }));
    broker.calls.length = 0;
    broker.script("acquireTokenSilent", { reply: brokerError("InteractionRequired") });

    const result = assertToken(
      await app.acquireTokenInteractive(SCOPES, {
        parentWindowHandle: CONSOLE_WINDOW_HANDLE,
        loginHint: ALICE.username,
      }),
    );
    assert.equal(result.account?.username, ALICE.username);
    assert.deepEqual(methods(broker), ["readAccount", "acquireTokenSilent", "signInSilently"]);
  });

  it("a loginHint for someone other than the OS default account: the broker's UI, with the hint", async () => {
    const { app, broker } = brokerApp({
      accounts: [aliceInBroker(), bobInBroker()],
      defaultAccountId: "broker-bob",
    });
    const result = assertToken(
      await app.acquireTokenInteractive(SCOPES, {
        parentWindowHandle: CONSOLE_WINDOW_HANDLE,
        loginHint: ALICE.username,
      }),
    );
    assert.equal(result.account?.username, ALICE.username);
    assert.deepEqual(methods(broker), ["signInSilently", "acquireTokenInteractive"]);
    assert.equal(broker.callsTo("acquireTokenInteractive")[0].loginHint, ALICE.username);
  });

  it("AccountUnusable (also as Status_AccountUnusable) or InteractionRequired from the default account: the broker's UI", async () => {
    for (const status of ["AccountUnusable", "Status_AccountUnusable", "InteractionRequired"]) {
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

  it("select_account with a loginHint of a cached account: no silent attempt, the hint dropped with a warning", async () => {
    const { app, broker, warnings } = brokerApp({
      accounts: [aliceInBroker(), bobInBroker()],
      defaultAccountId: "broker-alice",
      interactiveAccount: bobInBroker(),
    });
    assertToken(await app.acquireTokenInteractive(SCOPES, { parentWindowHandle: CONSOLE_WINDOW_HANDLE }));
    broker.calls.length = 0;

    const result = assertToken(
      await app.acquireTokenInteractive(SCOPES, {
        parentWindowHandle: CONSOLE_WINDOW_HANDLE,
        prompt: "select_account",
        loginHint: ALICE.username,
      }),
    );
    assert.equal(result.account?.username, BOB.username);
    assert.deepEqual(methods(broker), ["acquireTokenInteractive"]);
    const [request] = broker.callsTo("acquireTokenInteractive");
    assert.equal(request.prompt, "select_account");
    assert.equal(request.loginHint, undefined);
    assert.deepEqual(warnings(), [
      "[@authbroker/msal] Using both select_account and login_hint is ambiguous. Ignoring login_hint.",
    ]);
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

  it('prompt "none": the default account matching the loginHint, without UI', async () => {
    const { app, broker } = brokerApp({ accounts: [aliceInBroker()], defaultAccountId: "broker-alice" });
    const result = assertToken(
      await app.acquireTokenInteractive(SCOPES, {
        parentWindowHandle: CONSOLE_WINDOW_HANDLE,
        prompt: "none",
        loginHint: ALICE.username,
      }),
    );
    assert.equal(result.account?.username, ALICE.username);
    assert.deepEqual(methods(broker), ["signInSilently"]);
  });

  it('prompt "none" without a default account: the broker\'s error, not its UI', async () => {
    const { app, broker } = brokerApp();
    const launched: unknown[] = [];
    const error = assertError(
      await app.acquireTokenInteractive(SCOPES, {
        parentWindowHandle: CONSOLE_WINDOW_HANDLE,
        prompt: "none",
        onBeforeLaunchingUi: (info) => launched.push(info),
      }),
    );
    assert.equal(error.error, "broker_error");
    assert.equal(error.broker_status, "InteractionRequired");
    assert.deepEqual(methods(broker), ["signInSilently"]);
    assert.deepEqual(launched, []);
  });
});

describe("browser-only options in broker mode: one warning each, and nothing else", () => {
  const BROWSER_ONLY: [string, AcquireTokenInteractiveOptions][] = [
    ["openBrowser", { openBrowser: () => assert.fail("openBrowser must not be called") }],
    ["successTemplate", { successTemplate: "<p>Signed in.</p>" }],
    ["errorTemplate", { errorTemplate: "<p>$error: $error_description</p>" }],
    ["responseMode", { responseMode: "query" }],
    ["port", { port: 8400 }],
    ["timeoutMs", { timeoutMs: 60_000 }],
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

describe("what the broker is asked besides the scopes", () => {
  it("prompt=login: a warning that the broker ignores it, and the broker's UI", async () => {
    const { app, broker, warnings } = brokerApp({ interactiveAccount: aliceInBroker() });
    assertToken(
      await app.acquireTokenInteractive(SCOPES, {
        parentWindowHandle: CONSOLE_WINDOW_HANDLE,
        prompt: "login",
      }),
    );
    assert.deepEqual(warnings(), [
      "[@authbroker/msal] prompt=login is not supported by broker; it is ignored",
    ]);
    assert.deepEqual(methods(broker), ["acquireTokenInteractive"]);
    assert.equal(broker.callsTo("acquireTokenInteractive")[0].prompt, undefined);
  });

  it("max_age, validateAuthority=no (instance discovery off) and the claims challenge merged with the client capabilities", async () => {
    const { app, broker } = brokerApp({}, { clientCapabilities: ["CP1"], instanceDiscovery: false });
    const challenge = JSON.stringify({ access_token: { nbf: { essential: true, value: "1700000000" } } });
    assertToken(
      await app.acquireTokenInteractive(SCOPES, {
        parentWindowHandle: CONSOLE_WINDOW_HANDLE,
        maxAge: 300,
        claimsChallenge: challenge,
      }),
    );
    assert.deepEqual(methods(broker), ["signInSilently", "acquireTokenInteractive"]);
    for (
      const request of [broker.callsTo("signInSilently")[0], broker.callsTo("acquireTokenInteractive")[0]]
    ) {
      assert.deepEqual(request.extraParameters, { max_age: "300", validateAuthority: "no" });
      assert.deepEqual(JSON.parse(request.claims ?? "null"), {
        access_token: { nbf: { essential: true, value: "1700000000" }, xms_cc: { values: ["CP1"] } },
      });
    }
  });
});

describe("a broker that does not answer in time, and a caller who leaves", () => {
  it("the default account's sign-in hangs: a Timeout broker_error after silentMs, and the call is cancelled", async () => {
    const { app, broker } = brokerApp({ accounts: [aliceInBroker()], defaultAccountId: "broker-alice" }, {
      brokerTimeoutMs: { silentMs: 50, interactiveMs: 60_000 },
    });
    broker.script("signInSilently", { delayMs: 60_000 });
    const error = assertError(
      await app.acquireTokenInteractive(SCOPES, { parentWindowHandle: CONSOLE_WINDOW_HANDLE }),
    );
    assert.equal(error.error, "broker_error");
    assert.equal(error.broker_status, "Timeout");
    assert.match(error.error_description ?? "", /^The broker did not answer within 50 ms/);
    assert.equal(broker.callsTo("signInSilently")[0].signal.aborted, true);
    assert.deepEqual(methods(broker), ["signInSilently"]);
  });

  it("the broker's UI hangs, ignoring the cancellation: a Timeout broker_error after interactiveMs", async () => {
    const { app, broker } = brokerApp({}, { brokerTimeoutMs: { silentMs: 60_000, interactiveMs: 50 } });
    broker.script("acquireTokenInteractive", { reply: () => new Promise(() => {}) });
    const error = assertError(
      await app.acquireTokenInteractive(SCOPES, { parentWindowHandle: CONSOLE_WINDOW_HANDLE }),
    );
    assert.equal(error.broker_status, "Timeout");
    assert.match(error.error_description ?? "", /within 50 ms/);
  });

  it("the caller aborts while the broker's UI is open: AbortError, and the broker's call is cancelled", async () => {
    const { app, broker } = brokerApp();
    const controller = new AbortController();
    broker.script("acquireTokenInteractive", {
      reply: () => {
        controller.abort();
        return new Promise(() => {});
      },
    });
    await assert.rejects(
      app.acquireTokenInteractive(SCOPES, {
        parentWindowHandle: CONSOLE_WINDOW_HANDLE,
        signal: controller.signal,
      }),
      AbortError,
    );
    assert.equal(broker.callsTo("acquireTokenInteractive")[0].signal.aborted, true);
  });

  it("a signal already aborted: AbortError, and the broker is not called", async () => {
    const { app, broker } = brokerApp({ accounts: [aliceInBroker()], defaultAccountId: "broker-alice" });
    const [account] = await app.getAccounts();
    broker.calls.length = 0;
    const signal = AbortSignal.abort();
    await assert.rejects(
      app.acquireTokenInteractive(SCOPES, { parentWindowHandle: CONSOLE_WINDOW_HANDLE, signal }),
      AbortError,
    );
    await assert.rejects(app.acquireTokenSilent(SCOPES, { account, signal }), AbortError);
    assert.deepEqual(broker.calls, []);
  });
});
