// The four broker fallback rules and the opt-in flags.
// End to end through PublicClientApplication; the shared setup is in _broker_app.ts.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  BrokerDependencyError,
  type BrokerStatus,
  ConfigurationError,
  CONSOLE_WINDOW_HANDLE,
  DependencyError,
  type Platform,
  type PublicClientApplicationOptions,
  RedirectUriError,
} from "../mod.ts";
import {
  type BrokerPluginContext,
  type BrokerPluginDescriptor,
  brokerPluginFromModule,
  type BrokerPluginModule,
  BrokerUnavailableError,
} from "../broker.ts";
import { brokerError, FakeBroker } from "../testing/fake_broker.ts";
import {
  assertError,
  assertToken,
  CLIENT_ID,
  createApp,
  newApp,
  recordingLogger,
  signInWithDeviceCode,
} from "./_helpers.ts";
import {
  ALICE,
  aliceAccount,
  aliceInBroker,
  ALL_FLAGS,
  brokerApp,
  browserSigningIn,
  cacheContents,
  fixture,
  FLAG_OF,
  host,
  idp,
  methods,
  MISSING_DEPENDENCY,
  PLATFORMS,
  pluginFrom,
  RUNTIME,
  SCOPES,
  useFakeAuthority,
  WAM_REDIRECT_URI,
  watchUnhandledRejections,
} from "./_broker_app.ts";

useFakeAuthority();

describe("opt-in: each flag on each platform", () => {
  for (const platform of PLATFORMS) {
    for (const [flagPlatform, flag] of Object.entries(FLAG_OF)) {
      const enabled = flagPlatform === platform || (flag === "enableBrokerOnLinux" && platform === "wsl");
      it(`${flag} on ${platform}: ${enabled ? "the broker" : "no broker"}`, async () => {
        const brokers = Object.fromEntries(
          PLATFORMS.map((p) => [p, new FakeBroker({ name: `${p}-broker`, accounts: [aliceInBroker()] })]),
        );
        const app = newApp(idp, { platform, [flag]: true, brokers });
        const accounts = await app.getAccounts();
        if (enabled) {
          assert.deepEqual(await app.brokerStatus(), {
            enabled: true,
            platform,
            plugin: `${platform}-broker`,
          });
          assert.deepEqual(accounts.map((a) => [a.username, a.account_source]), [[ALICE.username, "broker"]]);
          await assert.rejects(app.acquireTokenInteractive(SCOPES), ConfigurationError);
        } else {
          assert.deepEqual(await app.brokerStatus(), {
            enabled: false,
            platform,
            reason: `not opted in on ${platform}`,
          });
          assert.deepEqual(accounts, []);
        }
        for (const p of PLATFORMS) {
          const used = enabled && p === platform;
          assert.equal((brokers[p] as FakeBroker).calls.length > 0, used, `${p} broker used`);
        }
      });
    }
  }

  it("no flag: no broker anywhere", async () => {
    for (const platform of PLATFORMS) {
      const broker = new FakeBroker({ accounts: [aliceInBroker()] });
      const app = newApp(idp, { platform, brokers: { [platform]: broker } });
      assert.deepEqual(await app.brokerStatus(), {
        enabled: false,
        platform,
        reason: `not opted in on ${platform}`,
      });
      assert.deepEqual(await app.getAccounts(), []);
      assert.deepEqual(broker.calls, []);
    }
  });

  it("the platform's flag set to false, every other flag on: no broker, nothing loaded", async () => {
    for (const platform of PLATFORMS) {
      // On WSL the Linux flag counts too.
      const off = platform === "wsl" ? [FLAG_OF.wsl, FLAG_OF.linux] : [FLAG_OF[platform]];
      const plugin = pluginFrom(
        "counting",
        () => Promise.resolve({ createBroker: () => Promise.resolve(new FakeBroker()) }),
      );
      const app = newApp(idp, {
        ...ALL_FLAGS,
        ...Object.fromEntries(off.map((flag) => [flag, false])),
        platform,
        brokers: { [platform]: plugin },
      });
      assert.deepEqual(await app.brokerStatus(), {
        enabled: false,
        platform,
        reason: `not opted in on ${platform}`,
      });
      assert.equal(plugin.loads, 0, platform);
    }
  });

  it("a plugin is created with the app's client id, the platform and the runtime", async () => {
    const contexts: BrokerPluginContext[] = [];
    const plugin = brokerPluginFromModule("wsl", "recording", () =>
      Promise.resolve({
        createBroker: (context: BrokerPluginContext) => {
          contexts.push(context);
          return Promise.resolve(new FakeBroker());
        },
      }));
    const app = newApp(idp, { enableBrokerOnWsl: true, platform: "wsl", brokers: { wsl: plugin } });
    assert.deepEqual(await app.brokerStatus(), { enabled: true, platform: "wsl", plugin: "recording" });
    assert.deepEqual(contexts.map(({ clientId, platform, runtime }) => ({ clientId, platform, runtime })), [
      { clientId: CLIENT_ID, platform: "wsl", runtime: RUNTIME },
    ]);
  });

  it("a plugin's logger reports the app's piiLoggingEnabled under MSAL's name (piiEnabled, deprecated, agrees)", async () => {
    const seen: { piiLoggingEnabled: boolean; piiEnabled: boolean; pii: string }[] = [];
    const plugin = brokerPluginFromModule("wsl", "recording", () =>
      Promise.resolve({
        createBroker: ({ logger }: BrokerPluginContext) => {
          seen.push({
            piiLoggingEnabled: logger.piiLoggingEnabled,
            piiEnabled: logger.piiEnabled,
            pii: logger.pii("ada"),
          });
          return Promise.resolve(new FakeBroker());
        },
      }));
    for (const piiLoggingEnabled of [true, false]) {
      const app = newApp(idp, {
        enableBrokerOnWsl: true,
        platform: "wsl",
        brokers: { wsl: plugin },
        logger: { piiLoggingEnabled },
      });
      await app.brokerStatus();
    }
    assert.deepEqual(seen, [
      { piiLoggingEnabled: true, piiEnabled: true, pii: "ada" },
      { piiLoggingEnabled: false, piiEnabled: false, pii: "(pii)" },
    ]);
  });
});

describe("rule 1: authorities the broker does not support bypass it silently", () => {
  // Options are functions: the fake authority's URL is known only once the suite runs.
  const cases: { type: string; label: string; options: () => PublicClientApplicationOptions }[] = [
    { type: "ADFS", label: "/adfs", options: () => ({ authority: `${idp.url}/adfs` }) },
    {
      type: "B2C",
      label: "/<tenant>/B2C_1_<policy>",
      options: () => ({ authority: `${idp.url}/contoso.onmicrosoft.com/B2C_1_signin` }),
    },
    {
      type: "B2C",
      label: "*.b2clogin.com",
      options: () => ({ authority: "https://contoso.b2clogin.com/contoso.onmicrosoft.com" }),
    },
    {
      type: "CIAM",
      label: "*.ciamlogin.com",
      options: () => ({ authority: "https://contoso.ciamlogin.com/" }),
    },
    {
      type: "OIDC",
      label: "oidcAuthority",
      options: () => ({ authority: undefined, oidcAuthority: `${idp.url}/organizations/v2.0` }),
    },
    {
      type: "DSTS",
      label: "/dstsv2/<tenant>",
      options: () => ({ authority: `${idp.url}/dstsv2/7a433bfc-2514-4697-b467-e0933190487f` }),
    },
  ];
  for (const { type, label, options } of cases) {
    it(`${type} (${label}): no plugin load, no log, the reason in brokerStatus()`, async () => {
      for (const platform of PLATFORMS) {
        const plugin = pluginFrom(
          "counting",
          () => Promise.resolve({ createBroker: () => Promise.resolve(new FakeBroker()) }),
        );
        const { logger, logged } = recordingLogger();
        const app = newApp(idp, {
          ...ALL_FLAGS,
          platform,
          brokers: { [platform]: plugin },
          logger,
          ...options(),
        });
        assert.deepEqual(await app.brokerStatus(), {
          enabled: false,
          platform,
          reason: `authority ${type} is not supported by the broker`,
        });
        assert.equal(plugin.loads, 0);
        assert.deepEqual(logged, []);
      }
    });
  }

  it("an ADFS app with the flag constructs fine even though the broker's dependency is missing", async () => {
    const plugin = pluginFrom(
      "linux",
      () => import(fixture("plugin_missing_dependency.ts")),
      MISSING_DEPENDENCY,
    );
    const app = await createApp(idp, {
      authority: `${idp.url}/adfs`,
      enableBrokerOnLinux: true,
      platform: "linux",
      brokers: { linux: plugin },
    });
    assert.equal((await app.brokerStatus()).enabled, false);
    assert.equal(plugin.loads, 0);
  });

  it("an Entra authority with instance discovery off still uses the broker, telling it not to validate", async () => {
    const { app, broker } = brokerApp(
      { accounts: [aliceInBroker()], defaultAccountId: "broker-alice" },
      { instanceDiscovery: false },
    );
    assert.equal((await app.brokerStatus()).enabled, true);
    const result = assertToken(
      await app.acquireTokenInteractive(SCOPES, { parentWindowHandle: CONSOLE_WINDOW_HANDLE }),
    );
    assert.equal(result.token_source, "broker");
    const [request] = broker.callsTo("signInSilently");
    assert.equal(request.authority, `https://${host}/organizations`);
    assert.deepEqual(request.extraParameters, { validateAuthority: "no" });
  });
});

describe("rule 2: a missing broker dependency is an error naming the install command", () => {
  const env = (globalThis as { process?: { env: Record<string, string | undefined> } }).process!.env;
  let savedUserAgent: string | undefined;
  before(() => {
    savedUserAgent = env.npm_config_user_agent;
    delete env.npm_config_user_agent; // so Node's command is npm's, whatever launched the tests
  });
  after(() => {
    if (savedUserAgent !== undefined) env.npm_config_user_agent = savedUserAgent;
  });

  const expectedMessage = {
    node: `You need to install dependency by: npm install ${MISSING_DEPENDENCY}`,
    bun: `You need to install dependency by: bun add ${MISSING_DEPENDENCY}`,
    deno: `You need to install dependency by: deno add npm:${MISSING_DEPENDENCY}`,
  }[RUNTIME];
  // What import() itself says, per runtime: the rule depends on recognising it.
  const expectedCause = RUNTIME === "deno"
    ? new RegExp(`^Import "${MISSING_DEPENDENCY}" not a dependency and not in import map from "file:///`)
    : new RegExp(`^Cannot find package '${MISSING_DEPENDENCY}' imported from `);

  const isDependencyError = (error: unknown): boolean => {
    assert.ok(error instanceof BrokerDependencyError, `expected BrokerDependencyError, got ${error}`);
    assert.ok(error instanceof DependencyError, "a BrokerDependencyError is a DependencyError");
    assert.equal(error.message, expectedMessage);
    assert.equal(error.installCommand, expectedMessage.split(": ")[1]);
    assert.equal(error.code, "broker_dependency_missing");
    assert.match((error.cause as Error).message, expectedCause);
    return true;
  };

  const missing = (): BrokerPluginDescriptor & { loads: number } =>
    pluginFrom("linux", () => import(fixture("plugin_missing_dependency.ts")), MISSING_DEPENDENCY);
  const missingLazily = (): BrokerPluginDescriptor & { loads: number } =>
    pluginFrom("linux", () => import(fixture("plugin_lazy_dependency.ts")), MISSING_DEPENDENCY);

  it("PublicClientApplication.create throws it, for a plugin that imports the package at load or in createBroker", async () => {
    const fromModule = (module: string) =>
      brokerPluginFromModule("linux", "linux", () => import(fixture(module)), MISSING_DEPENDENCY);
    const plugins = [
      missing(),
      missingLazily(),
      fromModule("plugin_missing_dependency.ts"),
      fromModule("plugin_lazy_dependency.ts"),
    ];
    for (const plugin of plugins) {
      const { logger, warnings } = recordingLogger();
      await assert.rejects(
        createApp(idp, {
          enableBrokerOnLinux: true,
          platform: "linux",
          brokers: { linux: plugin },
          logger,
        }),
        isDependencyError,
      );
      assert.deepEqual(warnings(), []);
    }
  });

  it("a plugin's own BrokerDependencyError is thrown as it is (the plugin knows its dependency best)", async () => {
    const installCommand = expectedMessage.split(": ")[1];
    const plugin = pluginFrom("linux", () =>
      Promise.resolve({
        createBroker: () => Promise.reject(new BrokerDependencyError(installCommand)),
      }), "dbus-next");
    await assert.rejects(
      createApp(idp, {
        enableBrokerOnLinux: true,
        platform: "linux",
        brokers: { linux: plugin },
      }),
      (error: unknown) => {
        assert.ok(error instanceof BrokerDependencyError, `expected BrokerDependencyError, got ${error}`);
        assert.equal(error.message, expectedMessage);
        assert.equal(error.installCommand, installCommand);
        return true;
      },
    );
  });

  it("new PublicClientApplication constructs, and then every call rejects with it, before any request", async () => {
    idp.clearRequests();
    const app = newApp(idp, { enableBrokerOnLinux: true, platform: "linux", brokers: { linux: missing() } });
    const account = aliceAccount();
    const calls: [string, () => Promise<unknown>][] = [
      ["brokerStatus", () => app.brokerStatus()],
      ["isPopSupported", () => app.isPopSupported()],
      ["getAccounts", () => app.getAccounts()],
      ["acquireTokenSilent", () => app.acquireTokenSilent(SCOPES, { account })],
      ["acquireTokenSilent without account", () => app.acquireTokenSilent(SCOPES, { account: null })],
      ["acquireTokenSilentWithError", () => app.acquireTokenSilentWithError(SCOPES, { account })],
      [
        "acquireTokenInteractive",
        () => app.acquireTokenInteractive(SCOPES, { parentWindowHandle: CONSOLE_WINDOW_HANDLE }),
      ],
      ["initiateDeviceFlow", () => app.initiateDeviceFlow(SCOPES)],
      ["acquireTokenByRefreshToken", () => app.acquireTokenByRefreshToken("rt", SCOPES)],
      ["acquireTokenByUsernamePassword", () => app.acquireTokenByUsernamePassword("u", "p", SCOPES)],
      [
        "getAuthorizationRequestUrl",
        () => app.getAuthorizationRequestUrl(SCOPES, { redirectUri: "http://localhost" }),
      ],
      ["initiateAuthCodeFlow", () => app.initiateAuthCodeFlow(SCOPES, { redirectUri: "http://localhost" })],
      ["removeAccount", () => app.removeAccount(account)],
    ];
    for (const [name, call] of calls) {
      await assert.rejects(call(), isDependencyError, name);
    }
    assert.deepEqual(idp.requests, []);
    await app.close(); // closing an app without a broker is fine
  });

  it("new PublicClientApplication leaves no unhandled rejection when the app never calls anything", async () => {
    const unhandled = watchUnhandledRejections();
    try {
      let imported: Promise<unknown> | undefined;
      const plugin = pluginFrom("linux", () => {
        const module = import(fixture("plugin_missing_dependency.ts"));
        imported = module;
        return module;
      }, MISSING_DEPENDENCY);
      const app = newApp(idp, { enableBrokerOnLinux: true, platform: "linux", brokers: { linux: plugin } });
      assert.ok(imported, "the plugin starts loading in the constructor");
      await imported.catch(() => {});
      // Let the rejection travel through loadBroker and the runtime's unhandled-rejection check.
      for (let turn = 0; turn < 3; turn++) await new Promise((resolve) => setTimeout(resolve, 0));
      assert.deepEqual(unhandled.reasons, []);
      await assert.rejects(app.getAccounts(), BrokerDependencyError); // it did fail
    } finally {
      unhandled.stop();
    }
  });

  it("not on the flag's platform: nothing is loaded, nothing fails", async () => {
    const plugin = missing();
    const app = await createApp(idp, {
      enableBrokerOnLinux: true,
      platform: "mac",
      brokers: { linux: plugin, mac: plugin },
    });
    assert.deepEqual(await app.brokerStatus(), {
      enabled: false,
      platform: "mac",
      reason: "not opted in on mac",
    });
    assert.equal(plugin.loads, 0);
  });
});

describe("rule 3: a broker that cannot initialise falls back to the browser, with one warning", () => {
  it("init failure: the reason is in brokerStatus(), and sign-in goes through the browser", async () => {
    const { logger, warnings } = recordingLogger();
    const plugin = pluginFrom("linux", () => import(fixture("plugin_unavailable.ts")), "dbus-next");
    const app = newApp(idp, {
      enableBrokerOnLinux: true,
      platform: "linux",
      brokers: { linux: plugin },
      logger,
    });
    const reason = "no identity broker on the D-Bus session bus";
    assert.deepEqual(await app.brokerStatus(), {
      enabled: false,
      platform: "linux",
      plugin: "linux",
      reason,
    });
    assert.deepEqual(await app.getAccounts(), []);

    const launched: unknown[] = [];
    const result = assertToken(
      await app.acquireTokenInteractive(SCOPES, {
        openBrowser: browserSigningIn(ALICE),
        onBeforeLaunchingUi: (info) => launched.push(info.ui),
      }), // no parentWindowHandle needed without a broker
    );
    assert.equal(result.token_source, "identity_provider");
    assert.equal(result.account?.account_source, "authorization_code");
    assert.deepEqual(launched, ["browser"]);
    assert.deepEqual(await app.brokerStatus(), {
      enabled: false,
      platform: "linux",
      plugin: "linux",
      reason,
    });

    const [warning, ...more] = warnings();
    assert.deepEqual(more, [], "one warning, however many calls");
    assert.ok(warning.includes(reason), warning);
    assert.match(warning, /We will fallback to non-broker\.$/);
    assert.equal(plugin.loads, 1);
  });

  it("a broker that never finishes starting: fallback after the broker timeout, and its late connection is closed", async () => {
    const { logger, warnings } = recordingLogger();
    let closed = false;
    let finishStarting: (broker: FakeBroker) => void = () => {};
    const plugin = {
      name: "linux",
      dependency: "dbus-next",
      load: () =>
        Promise.resolve({
          createBroker: () => new Promise<FakeBroker>((resolve) => (finishStarting = resolve)),
        }),
    };
    const app = newApp(idp, {
      enableBrokerOnLinux: true,
      platform: "linux",
      brokers: { linux: plugin },
      brokerTimeoutMs: 100,
      logger,
    });
    const status = await app.brokerStatus();
    assert.equal(status.enabled, false);
    assert.equal(status.reason, "the broker did not initialise within 100 ms");
    assert.equal((await signInWithDeviceCode(idp, app, ALICE.username)).token_source, "identity_provider");
    assert.equal(warnings().length, 1);
    const late = new FakeBroker({});
    late.close = () => {
      closed = true;
      return Promise.resolve();
    };
    finishStarting(late);
    await new Promise((resolve) => setTimeout(resolve, 10));
    assert.equal(closed, true);
  });

  it("brokerTimeoutMs per kind, in ms: silentMs bounds start-up (the deprecated `silent` name too)", async () => {
    for (const brokerTimeoutMs of [{ silentMs: 50, interactiveMs: 60_000 }, { silent: 50 }]) {
      const plugin = {
        name: "linux",
        load: () => Promise.resolve({ createBroker: () => new Promise<FakeBroker>(() => {}) }),
      };
      const app = newApp(idp, {
        enableBrokerOnLinux: true,
        platform: "linux",
        brokers: { linux: plugin },
        brokerTimeoutMs,
      });
      const status = await app.brokerStatus();
      assert.equal(
        status.reason,
        "the broker did not initialise within 50 ms",
        JSON.stringify(brokerTimeoutMs),
      );
    }
  });

  it("a load that fails otherwise (a native library missing): the reason in brokerStatus(), device code works", async () => {
    const { logger, warnings } = recordingLogger();
    const plugin = pluginFrom(
      "msalruntime",
      () => import(fixture("plugin_throws_on_load.ts")),
      "@azure/msal-node-runtime",
    );
    const app = newApp(idp, {
      enableBrokerOnWindows: true,
      platform: "windows",
      brokers: { windows: plugin },
      logger,
    });
    const status = await app.brokerStatus();
    assert.equal(status.enabled, false);
    assert.equal(status.platform, "windows");
    assert.equal(status.plugin, "msalruntime");
    assert.match(
      status.reason ?? "",
      /^the broker plugin "msalruntime" failed to initialise: libmsalruntime\.so: cannot open shared object file/,
    );
    const result = await signInWithDeviceCode(idp, app, ALICE.username);
    assert.equal(result.token_source, "identity_provider");
    assert.equal(warnings().length, 1);
    assert.ok(warnings()[0].includes(status.reason!));
  });

  it("createBroker throwing anything else is a fallback too", async () => {
    const { logger, warnings } = recordingLogger();
    const plugin = pluginFrom("flaky", () =>
      Promise.resolve({
        createBroker: () => Promise.reject(new Error("Authenticator Factory has already been started")),
      }));
    const app = newApp(idp, { enableBrokerOnMac: true, platform: "mac", brokers: { mac: plugin }, logger });
    assert.deepEqual(await app.brokerStatus(), {
      enabled: false,
      platform: "mac",
      plugin: "flaky",
      reason:
        'the broker plugin "flaky" failed to initialise: Authenticator Factory has already been started',
    });
    assert.equal(warnings().length, 1);
  });

  it("BrokerUnavailableError from an inline plugin gives its message as the reason", async () => {
    const plugin = pluginFrom("wam", () =>
      Promise.resolve({
        createBroker: () => Promise.reject(new BrokerUnavailableError("Windows 10 or later is required")),
      }));
    const app = await createApp(idp, {
      enableBrokerOnWindows: true,
      platform: "windows",
      brokers: { windows: plugin },
    });
    assert.deepEqual(await app.brokerStatus(), {
      enabled: false,
      platform: "windows",
      plugin: "wam",
      reason: "Windows 10 or later is required",
    });
  });
});

describe("rule 3: what counts as a broker that cannot initialise", () => {
  /** The status of an app opted in on `platform` with `plugin`, asserting its one fallback warning. */
  async function fallback(
    plugin: BrokerPluginDescriptor,
    platform: Platform = "linux",
  ): Promise<BrokerStatus> {
    const { logger, warnings } = recordingLogger();
    const app = newApp(idp, { ...ALL_FLAGS, platform, brokers: { [platform]: plugin }, logger });
    const status = await app.brokerStatus();
    assert.equal(status.enabled, false);
    assert.equal(status.platform, platform);
    assert.equal(status.plugin, plugin.name);
    const [warning, ...more] = warnings();
    assert.deepEqual(more, []);
    assert.ok(warning.includes(status.reason!), warning);
    assert.match(warning, /We will fallback to non-broker\.$/);
    return status;
  }

  it("a plugin module without createBroker", async () => {
    const status = await fallback({ name: "empty", load: () => Promise.resolve({} as BrokerPluginModule) });
    assert.equal(status.reason, 'the broker plugin "empty" does not export createBroker');
  });

  it("a plugin module that is not there: not available in this version, and no install command", async () => {
    const plugin = brokerPluginFromModule(
      "mac",
      "msalruntime",
      () => import(fixture("no_such_plugin.ts")),
      "@azure/msal-node-runtime",
    );
    const status = await fallback(plugin, "mac");
    assert.equal(status.reason, "the mac broker plugin is not available in this version");
  });

  it("a missing package other than the plugin's dependency: a fallback, not rule 2", async () => {
    for (const dependency of ["dbus-next", "authbroker-test-missing"]) {
      const plugin = brokerPluginFromModule(
        "linux",
        "linux",
        () => import(fixture("plugin_missing_dependency.ts")),
        dependency,
      );
      const status = await fallback(plugin);
      assert.match(status.reason ?? "", new RegExp(MISSING_DEPENDENCY), dependency);
    }
  });
});

describe("rule 4: a failing broker request is an error result, never a switch to the browser", () => {
  it("interactive: MSAL's broker_error shape, without UI and without the identity provider", async () => {
    const { app, broker } = brokerApp({ accounts: [aliceInBroker()], defaultAccountId: "broker-alice" });
    broker.script("signInSilently", {
      reply: brokerError("ServerTemporarilyUnavailable", "Try again later", 7, 42),
    });
    idp.clearRequests();
    const launched: unknown[] = [];
    const error = assertError(
      await app.acquireTokenInteractive(SCOPES, {
        parentWindowHandle: CONSOLE_WINDOW_HANDLE,
        onBeforeLaunchingUi: (info) => launched.push(info),
      }),
    );
    assert.equal(error.error, "broker_error");
    assert.equal(
      error.error_description,
      "Try again later. Status: ServerTemporarilyUnavailable, Error code: 7, Tag: 42",
    );
    assert.equal(error.broker_status, "ServerTemporarilyUnavailable");
    assert.equal(error.broker_error_code, 7);
    assert.equal(error.broker_tag, 42);
    assert.match(error.correlation_id ?? "", /^[0-9a-f-]{36}$/);
    assert.deepEqual(launched, []);
    assert.deepEqual(methods(broker), ["signInSilently"]);
    assert.deepEqual(idp.requestsTo("authorize"), []);
    assert.deepEqual(idp.requestsTo("token"), []);
  });

  it("interactive: the broker UI's failure is returned as is", async () => {
    const { app, broker } = brokerApp();
    broker.script("acquireTokenInteractive", {
      reply: brokerError("UserCanceled", "The user closed the window", 1, "ui"),
    });
    idp.clearRequests();
    const launched: unknown[] = [];
    const error = assertError(
      await app.acquireTokenInteractive(SCOPES, {
        parentWindowHandle: CONSOLE_WINDOW_HANDLE,
        correlationId: "corr-1",
        onBeforeLaunchingUi: (info) => launched.push(info),
      }),
    );
    assert.deepEqual(error, {
      error: "broker_error",
      error_description: "The user closed the window. Status: UserCanceled, Error code: 1, Tag: ui",
      broker_status: "UserCanceled",
      broker_error_code: 1,
      broker_tag: "ui",
      correlation_id: "corr-1",
    });
    assert.deepEqual(launched, [{ ui: "broker" }]);
    assert.deepEqual(methods(broker), ["signInSilently", "acquireTokenInteractive"]);
    assert.deepEqual(cacheContents(app).AccessToken, {});
    assert.deepEqual(idp.requestsTo("authorize"), []);
  });

  it("silent, for a broker account: the error, not the refresh-token path", async () => {
    const { app, broker } = brokerApp({ accounts: [aliceInBroker()] });
    const [account] = await app.getAccounts();
    broker.script("acquireTokenSilent", {
      reply: brokerError("InteractionRequired", "AADSTS50076: MFA", 50076, 3),
    });
    idp.clearRequests();
    const error = assertError(await app.acquireTokenSilentWithError(SCOPES, { account }));
    assert.equal(error.error, "broker_error");
    assert.equal(error.broker_status, "InteractionRequired");
    broker.script("acquireTokenSilent", { reply: brokerError("InteractionRequired") });
    assert.equal(await app.acquireTokenSilent(SCOPES, { account }), null);
    assert.deepEqual(idp.requestsTo("token"), []);
  });

  it("the redirect-URI error is thrown, naming the exact URI to register", async () => {
    const { app, broker } = brokerApp({}, {}, "windows");
    broker.script("acquireTokenInteractive", {
      reply: brokerError(
        "ApiContractViolation",
        "AADSTS50011: The redirect URI specified in the request does not match",
      ),
    });
    await assert.rejects(
      app.acquireTokenInteractive(SCOPES, { parentWindowHandle: CONSOLE_WINDOW_HANDLE }),
      (error: unknown) => {
        assert.ok(error instanceof RedirectUriError);
        assert.equal(error.redirectUri, WAM_REDIRECT_URI);
        assert.equal(
          error.message,
          `The broker needs the current app to register this redirect_uri: ${WAM_REDIRECT_URI}\n` +
            "AADSTS50011: The redirect URI specified in the request does not match",
        );
        return true;
      },
    );
  });

  it("the redirect-URI error names the Linux broker's URI, from a silent call too", async () => {
    const native = "https://login.microsoftonline.com/common/oauth2/nativeclient";
    const { app, broker } = brokerApp({ accounts: [aliceInBroker()], redirectUri: native });
    const [account] = await app.getAccounts();
    broker.script("acquireTokenSilent", {
      reply: brokerError("ApiContractViolation", "AADSTS7000218: client_assertion"),
    });
    await assert.rejects(app.acquireTokenSilent(SCOPES, { account }), (error: unknown) => {
      assert.ok(error instanceof RedirectUriError);
      assert.equal(error.redirectUri, native);
      assert.ok(
        error.message.startsWith(`The broker needs the current app to register this redirect_uri: ${native}`),
      );
      return true;
    });
  });
});

describe("module-not-found wording the rules rely on, as this runtime reports it", () => {
  const message = async (load: () => Promise<unknown>): Promise<string> => {
    try {
      await load();
    } catch (error) {
      return (error as Error).message;
    }
    throw new Error("expected the import to fail");
  };

  it("a package that is not installed", async () => {
    const text = await message(() => import(fixture("plugin_missing_dependency.ts")));
    const lazy = await message(async () =>
      (await import(fixture("plugin_lazy_dependency.ts"))).createBroker()
    );
    const expected = RUNTIME === "deno"
      ? /^Import "authbroker-test-missing-dependency" not a dependency and not in import map from "file:\/\/\/.*\/tests\/fixtures\/plugin_(missing|lazy)_dependency\.ts"/
      : /^Cannot find package 'authbroker-test-missing-dependency' imported from .*[\/\\]tests[\/\\]fixtures[\/\\]plugin_(missing|lazy)_dependency\.ts/;
    assert.match(text, expected);
    assert.match(lazy, expected);
  });

  it("a module file that does not exist", async () => {
    const text = await message(() => import(fixture("no_such_plugin.ts")));
    const expected = RUNTIME === "deno"
      ? /^Module not found "file:\/\/\/.*\/tests\/fixtures\/no_such_plugin\.ts"\.$/
      : /^Cannot find module '.*[\/\\]tests[\/\\]fixtures[\/\\]no_such_plugin\.ts' imported from /;
    assert.match(text, expected);
  });
});
