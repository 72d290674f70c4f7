// The broker rules and routes end to end, through PublicClientApplication: in-process broker doubles
// injected through the `brokers` option, the platform overridden, and a fake Entra ID authority on
// 127.0.0.1 for discovery and for the non-broker flows a route falls through to.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  BrokerDependencyError,
  ConfigurationError,
  CONSOLE_WINDOW_HANDLE,
  InvalidInputError,
  PublicClientApplication,
  RedirectUriError,
  TokenCache,
} from "../mod.ts";
import type {
  Account,
  AcquireTokenInteractiveOptions,
  DeviceFlow,
  Platform,
  PublicClientApplicationOptions,
  TokenResult,
} from "../mod.ts";
import {
  type BrokerAccount,
  type BrokerPluginDescriptor,
  type BrokerPluginModule,
  BrokerUnavailableError,
} from "../broker.ts";
import { DEFAULT_TENANT_ID, FakeAuthority, parseAutoPostForm } from "../testing/mod.ts";
import {
  brokerError,
  FakeBroker,
  fakeBrokerAccount,
  type FakeBrokerOptions,
} from "../testing/fake_broker.ts";
import { assertError, assertToken, CLIENT_ID, type Logged, newApp, recordingLogger } from "./_helpers.ts";

const SCOPES = ["User.Read"];
const DEVICE_CODE_SOURCE = "urn:ietf:params:oauth:grant-type:device_code";
const WAM_REDIRECT_URI = `ms-appx-web://Microsoft.AAD.BrokerPlugin/${CLIENT_ID}`;
const ALICE = {
  username: "alice@contoso.com",
  password: "alice-pw",
  oid: "00000000-0000-0000-0000-0000000a11ce",
};
const BOB = { username: "bob@contoso.com", password: "bob-pw", oid: "00000000-0000-0000-0000-000000000b0b" };
const PLATFORMS: Platform[] = ["windows", "mac", "linux", "wsl"];
const FLAG_OF = {
  windows: "enableBrokerOnWindows",
  mac: "enableBrokerOnMac",
  linux: "enableBrokerOnLinux",
  wsl: "enableBrokerOnWsl",
} as const satisfies Record<Platform, keyof PublicClientApplicationOptions>;
const ALL_FLAGS: PublicClientApplicationOptions = {
  enableBrokerOnWindows: true,
  enableBrokerOnMac: true,
  enableBrokerOnLinux: true,
  enableBrokerOnWsl: true,
};
const MISSING_DEPENDENCY = "authbroker-test-missing-dependency";
const RUNTIME = "Deno" in globalThis ? "deno" : "Bun" in globalThis ? "bun" : "node";

const fixture = (name: string): string => new URL(`./fixtures/${name}`, import.meta.url).href;

let idp: FakeAuthority;
/** The authority's host: the cache environment of every account in these tests. */
let host: string;

before(async () => {
  idp = await FakeAuthority.start({ users: [ALICE, BOB], deviceCodeInterval: 0 });
  host = new URL(idp.url).host;
});
after(() => idp.close());

// --- helpers -----------------------------------------------------------------------------------------

/** Alice as the OS broker knows her: the same user (oid, tenant) as at the authority. */
function aliceInBroker(): BrokerAccount {
  return fakeBrokerAccount({
    username: ALICE.username,
    id: "broker-alice",
    oid: ALICE.oid,
    tenantId: DEFAULT_TENANT_ID,
    environment: host,
  });
}

function bobInBroker(): BrokerAccount {
  return fakeBrokerAccount({
    username: BOB.username,
    id: "broker-bob",
    oid: BOB.oid,
    tenantId: DEFAULT_TENANT_ID,
    environment: host,
  });
}

interface BrokerSetup {
  app: PublicClientApplication;
  broker: FakeBroker;
  warnings: () => string[];
  logged: Logged[];
}

/** An app opted in on `platform`, whose broker there is a FakeBroker. */
function brokerApp(
  fake: FakeBrokerOptions = {},
  options: PublicClientApplicationOptions = {},
  platform: Platform = "linux",
): BrokerSetup {
  const broker = new FakeBroker(fake);
  const { logger, logged, warnings } = recordingLogger();
  const app = newApp(idp, {
    platform,
    [FLAG_OF[platform]]: true,
    brokers: { [platform]: broker },
    logger,
    ...options,
  });
  return { app, broker, warnings, logged };
}

function methods(broker: FakeBroker): string[] {
  return broker.calls.map((call) => call.method);
}

const tokenGrants = (): string[] => idp.requestsTo("token").map((r) => r.form.grant_type);

async function signInWithDeviceCode(
  app: PublicClientApplication,
  username = ALICE.username,
): Promise<TokenResult> {
  const flow = await app.initiateDeviceFlow(SCOPES) as DeviceFlow;
  assert.equal(typeof flow.user_code, "string", JSON.stringify(flow));
  idp.approveDeviceCode(flow.user_code, username);
  return assertToken(await app.acquireTokenByDeviceFlow(flow));
}

/**
 * A headless "system browser": opens the authorize URL, signs in on the fake authority's page, and
 * delivers the form_post response to the app's loopback listener.
 */
function browserSigningIn(user: { username: string; password: string }): (url: string) => Promise<void> {
  return async (url) => {
    const page = await fetch(url, { redirect: "manual" });
    const html = await page.text();
    const request = /name="request" value="([^"]+)"/.exec(html)?.[1];
    assert.ok(request, "the authority shows its sign-in page");
    const signedIn = await fetch(new URL("/login", idp.url), {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ request, username: user.username, password: user.password }),
      redirect: "manual",
    });
    const form = parseAutoPostForm(await signedIn.text());
    const delivered = await fetch(form.action.replace("//localhost:", "//127.0.0.1:"), {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams(form.fields),
    });
    await delivered.text();
  };
}

interface CacheJson {
  AccessToken: Record<string, Record<string, string>>;
  RefreshToken: Record<string, Record<string, string>>;
  IdToken: Record<string, Record<string, string>>;
  Account: Record<string, Record<string, string>>;
}

function cacheContents(app: PublicClientApplication): CacheJson {
  const json = JSON.parse(app.tokenCache.serialize());
  return {
    AccessToken: json.AccessToken ?? {},
    RefreshToken: json.RefreshToken ?? {},
    IdToken: json.IdToken ?? {},
    Account: json.Account ?? {},
  };
}

/** A token cache persisted in `store.state` through a plugin, as a file-backed cache would be. */
function persistedCache(store: { state: string }): TokenCache {
  return new TokenCache({
    plugin: {
      beforeCacheAccess({ cache }) {
        cache.deserialize(store.state);
        return Promise.resolve();
      },
      afterCacheAccess({ cache, cacheHasChanged }) {
        if (cacheHasChanged) store.state = cache.serialize();
        return Promise.resolve();
      },
    },
  });
}

/** A plugin descriptor over a module, counting its loads. */
function pluginFrom(
  name: string,
  load: () => Promise<BrokerPluginModule>,
  dependency?: string,
): BrokerPluginDescriptor & { loads: number } {
  const plugin = {
    name,
    ...(dependency ? { dependency } : {}),
    loads: 0,
    load: () => {
      plugin.loads++;
      return load();
    },
  };
  return plugin;
}

// --- rules -------------------------------------------------------------------------------------------

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
    const app = await PublicClientApplication.create(CLIENT_ID, {
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

  it("PublicClientApplication.create throws it", async () => {
    for (const plugin of [missing(), missingLazily()]) {
      const { logger, warnings } = recordingLogger();
      await assert.rejects(
        PublicClientApplication.create(CLIENT_ID, {
          authority: idp.authority("organizations"),
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

  it("new PublicClientApplication constructs, and then every call rejects with it, before any request", async () => {
    idp.clearRequests();
    const app = newApp(idp, { enableBrokerOnLinux: true, platform: "linux", brokers: { linux: missing() } });
    const account: Account = {
      home_account_id: `${ALICE.oid}.${DEFAULT_TENANT_ID}`,
      environment: host,
      username: ALICE.username,
      realm: DEFAULT_TENANT_ID,
      local_account_id: "broker-alice",
      authority_type: "MSSTS",
      account_source: "broker",
    };
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
    const app = await PublicClientApplication.create(CLIENT_ID, {
      authority: idp.authority("organizations"),
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
    assert.equal((await signInWithDeviceCode(app)).token_source, "identity_provider");
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
    const result = await signInWithDeviceCode(app);
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
    const app = await PublicClientApplication.create(CLIENT_ID, {
      authority: idp.authority("organizations"),
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
    assert.deepEqual(idp.requestsTo("authorize"), []);
    assert.deepEqual(idp.requestsTo("token"), []);
  });

  it("interactive: the broker UI's failure is returned as is", async () => {
    const { app, broker } = brokerApp();
    broker.script("acquireTokenInteractive", {
      reply: brokerError("UserCanceled", "The user closed the window", 1, "ui"),
    });
    idp.clearRequests();
    const error = assertError(
      await app.acquireTokenInteractive(SCOPES, { parentWindowHandle: CONSOLE_WINDOW_HANDLE }),
    );
    assert.equal(error.broker_status, "UserCanceled");
    assert.equal(
      error.error_description,
      "The user closed the window. Status: UserCanceled, Error code: 1, Tag: ui",
    );
    assert.deepEqual(methods(broker), ["signInSilently", "acquireTokenInteractive"]);
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

// --- routes ------------------------------------------------------------------------------------------

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
    await signInWithDeviceCode(app, ALICE.username);
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

describe("flows that never touch the broker, even when it is ready", () => {
  it("device code, then silent refresh and a refresh token from elsewhere: identity_provider every time", async () => {
    const { app, broker } = brokerApp({ accounts: [aliceInBroker()], defaultAccountId: "broker-alice" });
    const signedIn = await signInWithDeviceCode(app);
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

describe("an account without account_source (older cache data) tries the broker, then refresh tokens", () => {
  /** An app whose cache holds Alice from a device-code sign-in, with account_source stripped. */
  async function legacyApp(fake: FakeBrokerOptions): Promise<BrokerSetup & { account: Account }> {
    const plain = newApp(idp);
    await signInWithDeviceCode(plain);
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
    const { account } = await signInWithDeviceCode(app);
    await app.removeAccount(account!);
    assert.deepEqual(methods(broker).filter((m) => m !== "getAccounts"), []);
    const cache = cacheContents(app);
    assert.deepEqual([cache.AccessToken, cache.RefreshToken, cache.IdToken, cache.Account], [{}, {}, {}, {}]);
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

// --- bound tokens ------------------------------------------------------------------------------------

describe("proof-of-possession tokens: only from a broker that supports them", () => {
  const pop = { method: "get", url: "https://graph.microsoft.com/v1.0/me", nonce: "nonce-1" };
  const onlyFromBroker =
    "popParameters is currently only available from broker. You can enable broker with " +
    "the enableBrokerOnWindows or enableBrokerOnMac option of PublicClientApplication, on a device whose " +
    "broker supports it.";

  it("through the broker: the request carries the PoP parameters, the token is not cached", async () => {
    const { app, broker } = brokerApp(
      { accounts: [aliceInBroker()], defaultAccountId: "broker-alice", supportsPop: true },
      {},
      "windows",
    );
    assert.equal(await app.isPopSupported(), true);
    const result = assertToken(
      await app.acquireTokenInteractive(SCOPES, {
        parentWindowHandle: CONSOLE_WINDOW_HANDLE,
        popParameters: pop,
      }),
    );
    assert.equal(result.token_type, "pop");
    assert.equal(result.token_source, "broker");
    assert.deepEqual(broker.callsTo("signInSilently")[0].pop, { ...pop, method: "GET" });
    const cache = cacheContents(app);
    assert.deepEqual(cache.AccessToken, {});
    assert.equal(Object.values(cache.Account)[0].account_source, "broker");

    // A bearer token in the cache does not answer a PoP request.
    const [account] = await app.getAccounts();
    assertToken(await app.acquireTokenSilent(SCOPES, { account }));
    broker.calls.length = 0;
    const silent = assertToken(await app.acquireTokenSilent(SCOPES, { account, popParameters: pop }));
    assert.equal(silent.token_source, "broker");
    assert.equal(silent.token_type, "pop");
    assert.deepEqual(methods(broker), ["readAccount", "acquireTokenSilent"]);
    assert.equal(broker.callsTo("acquireTokenSilent")[0].pop?.nonce, "nonce-1");
  });

  it('on Linux and WSL: "POP is not supported on Linux", with or without a broker', async () => {
    for (const platform of ["linux", "wsl"] as const) {
      const { app, broker } = brokerApp({ accounts: [aliceInBroker()] }, {}, platform);
      const [account] = await app.getAccounts();
      assert.equal(await app.isPopSupported(), false);
      for (
        const call of [
          () =>
            app.acquireTokenInteractive(SCOPES, {
              parentWindowHandle: CONSOLE_WINDOW_HANDLE,
              popParameters: pop,
            }),
          () => app.acquireTokenSilent(SCOPES, { account, popParameters: pop }),
          () => newApp(idp, { platform }).acquireTokenInteractive(SCOPES, { popParameters: pop }),
        ]
      ) {
        await assert.rejects(call(), (error: unknown) => {
          assert.ok(error instanceof ConfigurationError);
          assert.equal(error.message, "POP is not supported on Linux");
          return true;
        });
      }
      assert.deepEqual(methods(broker), ["getAccounts"]);
    }
  });

  it("elsewhere, without a broker or with one that does not support it: only available from broker", async () => {
    const withoutSupport = brokerApp({ accounts: [aliceInBroker()] }, {}, "windows");
    const [account] = await withoutSupport.app.getAccounts();
    const apps = [withoutSupport.app, newApp(idp, { platform: "mac" }), newApp(idp, { platform: "windows" })];
    for (const app of apps) {
      await assert.rejects(
        app.acquireTokenInteractive(SCOPES, {
          parentWindowHandle: CONSOLE_WINDOW_HANDLE,
          popParameters: pop,
        }),
        { name: "ConfigurationError", message: onlyFromBroker },
      );
      await assert.rejects(app.acquireTokenSilent(SCOPES, { account, popParameters: pop }), {
        message: onlyFromBroker,
      });
    }
    assert.deepEqual(methods(withoutSupport.broker), ["getAccounts"]);
  });

  it("a device-code account does not get one from the refresh token", async () => {
    const { app, broker } = brokerApp({ supportsPop: true }, {}, "windows");
    const { account } = await signInWithDeviceCode(app);
    await assert.rejects(app.acquireTokenSilent(SCOPES, { account, popParameters: pop }), {
      message: onlyFromBroker,
    });
    assert.deepEqual(broker.calls, []);
  });

  it("incomplete or malformed parameters are configuration errors", async () => {
    const { app } = brokerApp({ supportsPop: true }, {}, "mac");
    for (
      const [popParameters, message] of [
        [{ ...pop, nonce: "" }, "All method, url and nonce of popParameters are required"],
        [{ ...pop, method: "TRACE" }, "popParameters.method must be one of GET, POST, PUT, DELETE, PATCH"],
        [{ ...pop, url: "not a url" }, "popParameters.url is not a URL: not a url"],
      ] as const
    ) {
      await assert.rejects(
        app.acquireTokenInteractive(SCOPES, { parentWindowHandle: CONSOLE_WINDOW_HANDLE, popParameters }),
        { name: "ConfigurationError", message },
      );
    }
  });
});

describe("SSH certificates: only from a broker that supports them", () => {
  const ssh = { keyId: "key-1", reqCnf: '{"kty":"RSA","n":"0vx7agoebGcQSuu","e":"AQAB"}' };
  const CERT = "AAAAHHNzaC1yc2EtY2VydC12MDFAb3BlbnNzaC5jb20AAAAg";

  /** A broker that answers SSH-certificate requests with a certificate-looking token. */
  function sshBroker(): BrokerSetup {
    const setup = brokerApp(
      { accounts: [aliceInBroker()], defaultAccountId: "broker-alice", supportsSshCert: true },
      {},
      "mac",
    );
    const certify = (request: Parameters<FakeBroker["signInSilently"]>[0]) => ({
      ...setup.broker.issueToken(aliceInBroker(), request),
      accessToken: `${CERT}-${request.keyId}`,
      tokenType: "ssh-cert",
    });
    setup.broker.script("signInSilently", { reply: certify });
    setup.broker.script("acquireTokenSilent", { reply: certify });
    return setup;
  }

  it("through the broker, then from the cache for the same key only", async () => {
    const { app, broker } = sshBroker();
    const result = assertToken(
      await app.acquireTokenInteractive(SCOPES, {
        parentWindowHandle: CONSOLE_WINDOW_HANDLE,
        sshCertificate: ssh,
      }),
    );
    assert.equal(result.token_type, "ssh-cert");
    assert.equal(result.access_token, `${CERT}-key-1`);
    const [request] = broker.callsTo("signInSilently");
    assert.deepEqual([request.tokenType, request.keyId, request.reqCnf], ["ssh-cert", "key-1", ssh.reqCnf]);
    const [at] = Object.values(cacheContents(app).AccessToken);
    assert.equal(at.key_id, "key-1");

    const [account] = await app.getAccounts();
    broker.calls.length = 0;
    const cached = assertToken(await app.acquireTokenSilent(SCOPES, { account, sshCertificate: ssh }));
    assert.equal(cached.token_source, "cache");
    assert.equal(cached.token_type, "ssh-cert");
    assert.equal(cached.access_token, `${CERT}-key-1`);
    assert.deepEqual(broker.calls, []);

    const otherKey = assertToken(
      await app.acquireTokenSilent(SCOPES, { account, sshCertificate: { ...ssh, keyId: "key-2" } }),
    );
    assert.equal(otherKey.token_source, "broker");
    assert.equal(otherKey.access_token, `${CERT}-key-2`);

    // A bearer request is not answered with a certificate.
    broker.calls.length = 0;
    const bearer = assertToken(await app.acquireTokenSilent(SCOPES, { account }));
    assert.equal(bearer.token_type, "Bearer");
    assert.equal(bearer.token_source, "broker");
  });

  it("a broker answer that is not a certificate is an error (MSAL Python's TokenTypeError)", async () => {
    const { app } = brokerApp({
      defaultAccountId: "broker-alice",
      accounts: [aliceInBroker()],
      supportsSshCert: true,
    });
    await assert.rejects(
      app.acquireTokenInteractive(SCOPES, { parentWindowHandle: CONSOLE_WINDOW_HANDLE, sshCertificate: ssh }),
      (error: unknown) => {
        assert.ok(error instanceof InvalidInputError);
        assert.equal(error.message, "Broker could not get an SSH Cert: fake-bro...");
        return true;
      },
    );
  });

  it("without a broker that supports them: a configuration error; missing parameters: MSAL's messages", async () => {
    const { app } = brokerApp({ accounts: [aliceInBroker()] }, {}, "windows");
    await assert.rejects(
      app.acquireTokenInteractive(SCOPES, { parentWindowHandle: CONSOLE_WINDOW_HANDLE, sshCertificate: ssh }),
      { name: "ConfigurationError", message: /^sshCertificate is currently only available from broker\./ },
    );
    await assert.rejects(
      app.acquireTokenInteractive(SCOPES, { sshCertificate: { ...ssh, reqCnf: "" } }),
      {
        message: "When requesting an SSH certificate, you must include a string parameter named 'reqCnf' " +
          "containing the public key in JWK format (https://tools.ietf.org/html/rfc7517).",
      },
    );
    await assert.rejects(
      app.acquireTokenSilent(SCOPES, { account: null, sshCertificate: { ...ssh, keyId: "" } }),
      {
        message: "When requesting an SSH certificate, you must include a string parameter named 'keyId' " +
          "which identifies the key in the 'reqCnf' argument.",
      },
    );
    await assert.rejects(
      app.acquireTokenInteractive(SCOPES, {
        parentWindowHandle: CONSOLE_WINDOW_HANDLE,
        sshCertificate: ssh,
        popParameters: { method: "GET", url: "https://example.com", nonce: "n" },
      }),
      { message: "popParameters and sshCertificate cannot be used together" },
    );
  });
});

// --- unhandled rejections ----------------------------------------------------------------------------

interface UnhandledWatch {
  reasons: unknown[];
  stop: () => void;
}

/** Records unhandled promise rejections: Deno's window event, or Node's and Bun's process event. */
function watchUnhandledRejections(): UnhandledWatch {
  const reasons: unknown[] = [];
  if ("Deno" in globalThis) {
    const listener = (event: PromiseRejectionEvent) => {
      event.preventDefault();
      reasons.push(event.reason);
    };
    globalThis.addEventListener("unhandledrejection", listener);
    return { reasons, stop: () => globalThis.removeEventListener("unhandledrejection", listener) };
  }
  const process = (globalThis as unknown as {
    process: {
      on(event: string, listener: (reason: unknown) => void): void;
      off(event: string, listener: (reason: unknown) => void): void;
    };
  }).process;
  const listener = (reason: unknown) => reasons.push(reason);
  process.on("unhandledRejection", listener);
  return { reasons, stop: () => process.off("unhandledRejection", listener) };
}
