// The options of PublicClientApplication (and the interactive call's durations) are checked at run time,
// for plain JavaScript callers: a bad value is a ConfigurationError naming the option, never a RangeError or
// TypeError from inside a later call, and never silently taken as something else.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  ConfigurationError,
  PublicClientApplication,
  type PublicClientApplicationOptions,
  TokenCache,
} from "../mod.ts";
import { FakeBroker } from "../testing/mod.ts";
import { CLIENT_ID } from "./_helpers.ts";

/** Asserts that `run` throws (or rejects with) an `invalid_config` error whose message matches `message`. */
async function assertInvalidConfig(run: () => unknown, message: RegExp): Promise<void> {
  await assert.rejects(async () => await run(), (error: unknown) => {
    assert.ok(error instanceof ConfigurationError, `not a ConfigurationError: ${error}`);
    assert.equal(error.code, "invalid_config");
    assert.match(error.message, message);
    return true;
  });
}

const app = (options: unknown) => new PublicClientApplication(CLIENT_ID, options as never);

describe("the constructor refuses bad option values with invalid_config", () => {
  const bad: [string, unknown, RegExp][] = [
    ["httpTimeoutMs", -1, /httpTimeoutMs: expected a number of milliseconds > 0.*got -1/],
    ["httpTimeoutMs", NaN, /httpTimeoutMs.*got NaN/],
    ["httpTimeoutMs", 0, /httpTimeoutMs.*got 0/],
    ["httpTimeoutMs", Infinity, /httpTimeoutMs.*at most 2147483647.*got Infinity/],
    ["httpTimeoutMs", "30000", /httpTimeoutMs.*got "30000"/],
    ["brokerTimeoutMs", "30", /brokerTimeoutMs: expected a number of milliseconds.*or an object.*got "30"/],
    ["brokerTimeoutMs", -5, /brokerTimeoutMs.*got -5/],
    ["brokerTimeoutMs", { silentMs: NaN }, /brokerTimeoutMs\.silentMs: expected a number.*got NaN/],
    ["brokerTimeoutMs", { interactive: "600" }, /brokerTimeoutMs\.interactive:.*got "600"/],
    [
      "brokerTimeoutMs",
      { silenMs: 5 },
      /Unknown option brokerTimeoutMs\.silenMs; did you mean brokerTimeoutMs\.silentMs\?/,
    ],
    ["platform", "solaris", /platform: expected one of "windows", "mac", "linux", "wsl", got "solaris"/],
    ["linuxBroker", "foo", /linuxBroker: expected one of "dbus", "msalruntime", got "foo"/],
    ["enableBrokerOnLinux", "true", /enableBrokerOnLinux: expected a boolean, got "true"/],
    ["enableBrokerOnWindows", 1, /enableBrokerOnWindows: expected a boolean, got 1/],
    ["validateAuthority", "false", /validateAuthority: expected a boolean/],
    ["brokerNativeLogging", null, /brokerNativeLogging: expected a boolean, got null/],
    ["instanceDiscovery", 0, /instanceDiscovery: expected a boolean, or a non-empty string, got 0/],
    ["authority", 42, /authority: expected a non-empty string, got 42/],
    ["brokerRedirectUri", ["x"], /brokerRedirectUri: expected a non-empty string, got an array/],
    ["fetch", {}, /fetch: expected a function, got an object/],
    ["tokenCache", "cache.json", /tokenCache: expected an object, got "cache.json"/],
    ["logger", console.log, /logger: expected an object.*got a function/],
    ["logger", { warning: "stderr" }, /logger\.warning: expected a function, got "stderr"/],
    ["logger", { piiLoggingEnabled: "yes" }, /logger\.piiLoggingEnabled: expected a boolean/],
    ["clientCapabilities", "CP1", /clientCapabilities: expected an array of strings, got "CP1"/],
    ["clientCapabilities", [1], /clientCapabilities: expected an array of strings/],
    ["brokers", [], /brokers: expected an object/],
    ["brokers", { solaris: {} }, /Unknown option brokers\.solaris/],
    ["brokers", { linux: "dbus" }, /brokers\.linux: expected an object, or a function, got "dbus"/],
  ];
  for (const [name, value, message] of bad) {
    it(`${name}: ${typeof value === "number" ? value : JSON.stringify(value) ?? typeof value}`, async () => {
      await assertInvalidConfig(() => app({ [name]: value }), message);
      await assertInvalidConfig(
        () => PublicClientApplication.create(CLIENT_ID, { [name]: value } as never),
        message,
      );
    });
  }

  it("platform solaris, enableBrokerOnLinux: ConfigurationError from create(), not TypeError", async () => {
    await assertInvalidConfig(
      () =>
        PublicClientApplication.create(
          CLIENT_ID,
          { platform: "solaris", enableBrokerOnLinux: true } as never,
        ),
      /platform/,
    );
  });

  it("options that are not an object are refused", async () => {
    await assertInvalidConfig(() => app(null), /options must be an object, got null/);
    await assertInvalidConfig(
      () => app("https://login.microsoftonline.com/common"),
      /options must be an object/,
    );
  });
});

describe("an unknown option name is refused, with the closest known name", () => {
  const misspelt: [string, RegExp][] = [
    ["enableBrokerOnLinx", /Unknown option enableBrokerOnLinx; did you mean enableBrokerOnLinux\?/],
    ["enablebrokeronwindows", /did you mean enableBrokerOnWindows\?/],
    ["httpTimeout", /Unknown option httpTimeout\b/],
    ["timeoutMs", /Unknown option timeoutMs\. Known options: authority, .*httpTimeoutMs/],
    ["client_id", /Unknown option client_id\./],
  ];
  for (const [name, message] of misspelt) {
    it(name, async () => {
      await assertInvalidConfig(() => app({ [name]: true }), message);
    });
  }

  it("an option set to undefined counts as not set, known or not", () => {
    app({ authority: undefined, httpTimeoutMs: undefined, somethingElse: undefined });
  });
});

describe("valid options are all accepted", () => {
  it("every option at a valid value", async () => {
    const broker = new FakeBroker();
    const options: PublicClientApplicationOptions = {
      authority: "https://login.microsoftonline.com/organizations",
      validateAuthority: false,
      instanceDiscovery: "https://login.microsoftonline.com/common/discovery/instance",
      enableBrokerOnWindows: false,
      enableBrokerOnWsl: false,
      enableBrokerOnMac: false,
      enableBrokerOnLinux: true,
      tokenCache: new TokenCache(),
      fetch: globalThis.fetch,
      logger: { warning: () => {}, piiLoggingEnabled: false },
      clientCapabilities: ["CP1"],
      brokers: { linux: broker },
      linuxBroker: "msalruntime",
      brokerRedirectUri: "https://login.microsoftonline.com/common/oauth2/nativeclient",
      brokerNativeLogging: false,
      platform: "linux",
      brokerTimeoutMs: { silentMs: 1_000, interactiveMs: 2 ** 31 - 1 },
      httpTimeoutMs: 0.5,
    };
    const created = await PublicClientApplication.create(CLIENT_ID, options);
    assert.equal((await created.brokerStatus()).enabled, true);
    await created.close();
    new PublicClientApplication(CLIENT_ID, { oidcAuthority: "https://example.com", brokerTimeoutMs: 5 });
    new PublicClientApplication(CLIENT_ID, { instanceDiscovery: false, brokerTimeoutMs: { silent: 1 } });
  });
});

describe("the interactive call's durations and port are checked before any browser opens", () => {
  const bad: [string, unknown, RegExp][] = [
    ["timeoutMs", -1, /timeoutMs: expected a number of milliseconds > 0.*got -1/],
    ["timeoutMs", NaN, /timeoutMs.*got NaN/],
    ["timeoutMs", "60000", /timeoutMs.*got "60000"/],
    ["timeout", 0, /timeout: expected a number of seconds > 0, got 0/],
    ["port", -1, /port: expected an integer port from 0 .* to 65535, got -1/],
    ["port", 80.5, /port:.*got 80\.5/],
    ["port", 70_000, /port:.*got 70000/],
    [
      "redirectHost",
      "example.com",
      /redirectHost: expected one of "localhost", "127.0.0.1", got "example.com"/,
    ],
    ["openBrowser", "firefox", /openBrowser: expected a function, got "firefox"/],
    ["onBeforeLaunchingUi", {}, /onBeforeLaunchingUi: expected a function/],
    ["onBrowserUnavailable", true, /onBrowserUnavailable: expected a function, got true/],
    ["maxAge", -1, /maxAge: expected an integer number of seconds >= 0, got -1/],
    ["maxAge", "3600", /maxAge:.*got "3600"/],
    ["responseMode", "fragment", /responseMode: expected one of "form_post", "query", got "fragment"/],
  ];
  for (const [name, value, message] of bad) {
    it(`${name}: ${String(value)}`, async () => {
      let opened = false;
      const client = app({ oidcAuthority: "http://127.0.0.1:9" });
      await assertInvalidConfig(
        () =>
          client.acquireTokenInteractive(["User.Read"], {
            openBrowser: () => {
              opened = true;
            },
            [name]: value,
          } as never),
        message,
      );
      assert.equal(opened, false);
    });
  }
});

describe("an authorization request's maxAge and responseMode are checked", () => {
  const bad: [string, unknown, RegExp][] = [
    ["maxAge", 1.5, /maxAge: expected an integer number of seconds >= 0, got 1.5/],
    ["maxAge", NaN, /maxAge:.*got NaN/],
    ["responseMode", "form-post", /responseMode: expected one of "form_post", "query", got "form-post"/],
  ];
  for (const [name, value, message] of bad) {
    it(`${name}: ${String(value)}`, async () => {
      const client = app({ oidcAuthority: "http://127.0.0.1:9" });
      const options = { redirectUri: "http://127.0.0.1:8400/callback", [name]: value } as never;
      await assertInvalidConfig(() => client.getAuthorizationRequestUrl(["User.Read"], options), message);
      await assertInvalidConfig(() => client.initiateAuthCodeFlow(["User.Read"], options), message);
    });
  }
});
