// enableBrokerOnLinux end to end: PublicClientApplication with the built-in Linux plugin, on a private
// dbus-daemon with the test kit's FakeLinuxBroker (both broker generations), and a fake Entra ID
// authority on 127.0.0.1 for discovery and for the browser flow the app falls back to (rule 3).
import { after, afterEach, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import process from "node:process";
import {
  ConfigurationError,
  CONSOLE_WINDOW_HANDLE,
  type PublicClientApplication,
  type PublicClientApplicationOptions,
  TokenCache,
} from "../mod.ts";
import {
  FakeAuthority,
  FakeLinuxBroker,
  type FakeLinuxBrokerOptions,
  type FakeLinuxBrokerProfile,
  type FakeLinuxBrokerRequest,
  type PrivateBus,
  startPrivateBus,
} from "../testing/mod.ts";
import { FetchBrowser } from "./_browser.ts";
import { assertError, assertToken, CLIENT_ID, createApp, recordingLogger } from "./_helpers.ts";

const SCOPES = ["User.Read"];
const NATIVE_CLIENT = "https://login.microsoftonline.com/common/oauth2/nativeclient";
const ALICE = {
  username: "alice@contoso.com",
  password: "alice-pw",
  oid: "00000000-0000-0000-0000-0000000a11ce",
};
const BOB = { username: "bob@contoso.com", password: "bob-pw", oid: "00000000-0000-0000-0000-000000000b0b" };

/** Every field Microsoft's runtime sends in `authParameters` of a token call (spec §11). */
const AUTH_PARAMETER_FIELDS = [
  "accessTokenToRenew",
  "account",
  "additionalQueryParametersForAuthorization",
  "authority",
  "authorizationType",
  "clientId",
  "decodedClaims",
  "enrollmentId",
  "isTestMode",
  "password",
  "popParams",
  "redirectUri",
  "requestedScopes",
  "username",
  "uxContextHandle",
];

let idp: FakeAuthority;
let host: string;
before(async () => {
  idp = await FakeAuthority.start({ users: [ALICE, BOB] });
  host = new URL(idp.url).host;
});
after(() => idp.close());

// The plugin finds the bus where apps find it: DBUS_SESSION_BUS_ADDRESS.
const savedAddress = process.env.DBUS_SESSION_BUS_ADDRESS;
function useBus(address: string | undefined): void {
  if (address === undefined) delete process.env.DBUS_SESSION_BUS_ADDRESS;
  else process.env.DBUS_SESSION_BUS_ADDRESS = address;
}
after(() => useBus(savedAddress));

/** Starts a broker on `bus` that knows Alice, as the fake authority does. */
function aliceBroker(
  bus: PrivateBus,
  options: Partial<FakeLinuxBrokerOptions> = {},
): Promise<FakeLinuxBroker> {
  return FakeLinuxBroker.start({
    address: bus.address,
    authority: idp,
    environment: host,
    accounts: [{ username: ALICE.username, oid: ALICE.oid }],
    ...options,
  });
}

/** A private session bus for the enclosing describe's tests, which apps find through the environment. */
function sessionBus(): () => PrivateBus {
  let bus: PrivateBus;
  before(async () => {
    bus = await startPrivateBus();
    useBus(bus.address);
  });
  after(async () => {
    await bus.stop();
    useBus(savedAddress);
  });
  return () => bus;
}

const linuxApp = (options: PublicClientApplicationOptions = {}): Promise<PublicClientApplication> =>
  createApp(idp, { enableBrokerOnLinux: true, ...options });

function authParameters(record: FakeLinuxBrokerRequest): Record<string, unknown> {
  assert.equal(record.protocolVersion, "0.0");
  assert.match(record.correlationId, /^[0-9a-f-]{36}$/);
  const params = record.request?.authParameters;
  assert.ok(params && typeof params === "object", `authParameters in ${record.json}`);
  return params as Record<string, unknown>;
}

/** The fields §11 lists for every token call, with the values every call shares. */
function assertTokenCallFields(params: Record<string, unknown>, authorizationType: number): void {
  for (const field of AUTH_PARAMETER_FIELDS) assert.ok(field in params, `authParameters.${field}`);
  assert.equal(params.authorizationType, authorizationType);
  assert.equal(params.clientId, CLIENT_ID);
  assert.equal(params.redirectUri, NATIVE_CLIENT);
  assert.equal(params.authority, `https://${host}/organizations`);
  assert.deepEqual(params.requestedScopes, SCOPES);
  assert.equal(params.uxContextHandle, -1);
  assert.equal(params.popParams, null);
  assert.equal(params.accessTokenToRenew, "");
  assert.equal(params.password, "");
}

for (const profile of ["2.0.1", "3.0.2"] as FakeLinuxBrokerProfile[]) {
  describe(`enableBrokerOnLinux with a ${profile} broker on the session bus`, () => {
    const bus = sessionBus();
    let broker: FakeLinuxBroker;

    const start = async (options: PublicClientApplicationOptions = {}): Promise<PublicClientApplication> => {
      broker = await aliceBroker(bus(), { profile });
      return await linuxApp(options);
    };
    afterEach(async () => {
      await broker?.close();
    });

    it("getAccounts lists the broker's account, from a getAccounts call shaped like Microsoft's", async () => {
      const app = await start();
      assert.deepEqual(await app.brokerStatus(), { enabled: true, platform: "linux", plugin: "linux" });
      const accounts = await app.getAccounts();
      assert.equal(accounts.length, 1);
      assert.equal(accounts[0].username, ALICE.username);
      assert.equal(accounts[0].account_source, "broker");
      assert.equal(accounts[0].home_account_id, broker.accounts[0].homeAccountId);
      const [call] = broker.requestsTo("getAccounts");
      assert.equal(call.protocolVersion, "0.0");
      assert.deepEqual(call.request, { clientId: CLIENT_ID, redirectUri: CLIENT_ID });
    });

    it("acquireTokenSilent: the broker's token, then the same token from the local cache", async () => {
      const app = await start();
      const [account] = await app.getAccounts();
      broker.clearRequests();
      const first = assertToken(await app.acquireTokenSilent(SCOPES, { account }));
      assert.equal(first.token_source, "broker");
      assert.equal(first.id_token_claims?.preferred_username, ALICE.username);
      assert.ok(first.expires_in > 3000 && first.expires_in <= 3600, String(first.expires_in));
      const [silent] = broker.requestsTo("acquireTokenSilently");
      const params = authParameters(silent);
      assertTokenCallFields(params, 1);
      // The account goes back exactly as the broker listed it, with its username; no sign-in.
      assert.deepEqual(params.account, broker.accounts[0]);
      assert.equal(params.username, ALICE.username);
      assert.equal("isSignIn" in params, false);
      assert.equal(params.decodedClaims, "");

      const second = assertToken(await app.acquireTokenSilent(SCOPES, { account }));
      assert.equal(second.token_source, "cache");
      assert.equal(second.access_token, first.access_token);
      assert.equal(broker.requestsTo("acquireTokenSilently").length, 1);
    });

    it("acquireTokenInteractive with CONSOLE_WINDOW_HANDLE: the default account first, then the broker's window", async () => {
      const app = await start();
      const signedIn = assertToken(
        await app.acquireTokenInteractive(SCOPES, { parentWindowHandle: app.CONSOLE_WINDOW_HANDLE }),
      );
      assert.equal(signedIn.token_source, "broker");
      const signIn = authParameters(broker.requestsTo("acquireTokenSilently")[0]);
      assertTokenCallFields(signIn, 1);
      assert.equal(signIn.isSignIn, true);
      assert.equal(signIn.account, null);
      assert.equal(signIn.username, "");

      // Interaction required, for the cached account and for the default one: the broker's window.
      broker.clearRequests();
      broker.fail("acquireTokenSilently", { kind: "error", status: 2 }, 2);
      const picked = assertToken(
        await app.acquireTokenInteractive(SCOPES, {
          parentWindowHandle: CONSOLE_WINDOW_HANDLE,
          loginHint: ALICE.username,
          claimsChallenge: '{"access_token":{"acrs":{"essential":true,"value":"c1"}}}',
        }),
      );
      assert.equal(picked.token_source, "broker");
      assert.equal(picked.id_token_claims?.preferred_username, ALICE.username);
      const [interactive, ...more] = broker.requestsTo("acquireTokenInteractively");
      assert.deepEqual(more, []);
      assert.equal(interactive.request?.parentWindowHandle, 1);
      const params = authParameters(interactive);
      assertTokenCallFields(params, 6);
      assert.deepEqual(params.parentWindow, { handle: 1 });
      assert.equal(params.isSignIn, true);
      assert.equal(params.account, null);
      assert.equal(params.username, ALICE.username);
      assert.equal(params.decodedClaims, '{"access_token":{"acrs":{"essential":true,"value":"c1"}}}');
    });

    it("acquireTokenInteractive without parentWindowHandle throws MSAL Python's error", async () => {
      const app = await start();
      await assert.rejects(
        app.acquireTokenInteractive(SCOPES, {}),
        (error: unknown) => {
          assert.ok(error instanceof ConfigurationError);
          assert.match(error.message, /^parentWindowHandle is required when you opted into using broker/);
          return true;
        },
      );
      assert.deepEqual(broker.requestsTo("acquireTokenInteractively"), []);
    });

    it("removeAccount signs the account out of the broker and the app", async () => {
      const app = await start();
      const [account] = await app.getAccounts();
      const [listed] = broker.accounts;
      assertToken(await app.acquireTokenSilent(SCOPES, { account }));
      await app.removeAccount(account);
      const [removal] = broker.requestsTo("removeAccount");
      assert.equal(removal.protocolVersion, "0.0");
      assert.deepEqual(removal.request, { clientId: CLIENT_ID, account: listed });
      assert.deepEqual(await app.getAccounts(), []);
      assert.equal(await app.acquireTokenSilent(SCOPES, { account }), null);
    });

    it("rule 4: broker errors come back as error results, classified, with the broker's details", async () => {
      const app = await start();
      const [account] = await app.getAccounts();
      const cases: [number, string][] = [
        [2, "interaction_required"],
        [13, "interaction_required"],
        [7, "user_canceled"],
        [3, "network_error"],
        [0, "broker_error"],
        [6, "broker_error"],
      ];
      for (const [status, error] of cases) {
        broker.fail("acquireTokenSilently", {
          kind: "error",
          status,
          context: `Broker says ${status}`,
          tag: 595719680,
          errorCode: 50076,
          subStatus: 4,
        });
        const result = assertError(await app.acquireTokenSilentWithError(SCOPES, { account }));
        assert.equal(result.error, error, `status ${status}`);
        assert.match(
          result.error_description ?? "",
          new RegExp(`^Broker says ${status}\\. Status: \\w+, Error code: 50076, Tag: 595719680$`),
        );
        assert.equal(result.broker_error_code, 50076);
        assert.equal(result.broker_tag, 595719680);
        assert.equal(result.broker_sub_status, 4);
        assert.equal(typeof result.broker_status, "string");
      }
      // Interactive: the user closes the broker's window.
      broker.fail("acquireTokenSilently", { kind: "error", status: 2 });
      broker.fail("acquireTokenInteractively", { kind: "error", status: 7 });
      const cancelled = assertError(
        await app.acquireTokenInteractive(SCOPES, { parentWindowHandle: CONSOLE_WINDOW_HANDLE }),
      );
      assert.equal(cancelled.error, "user_canceled");
      assert.equal(cancelled.broker_status, "UserCanceled");
      assert.deepEqual(idp.requestsTo("authorize"), []);
    });

    it("a reply that is not JSON is a typed broker error, not a crash", async () => {
      const app = await start();
      const [account] = await app.getAccounts();
      broker.fail("acquireTokenSilently", { kind: "reply", json: "{not json" });
      const result = assertError(await app.acquireTokenSilentWithError(SCOPES, { account }));
      assert.equal(result.error, "broker_error");
      assert.equal(result.broker_status, "MalformedReply");
    });

    it("a token whose idToken is not a JWT is a typed broker error, and the cache is kept", async () => {
      const tokenCache = new TokenCache();
      const app = await start({ tokenCache });
      const [account] = await app.getAccounts();
      const first = assertToken(await app.acquireTokenSilent(SCOPES, { account }));
      const cached = tokenCache.serialize();
      for (const idToken of ["garbage", "eyJhbGciOiJub25lIn0.bm90IGpzb24.", "e30.WzFd.sig"]) {
        broker.fail("acquireTokenSilently", {
          kind: "reply",
          json: JSON.stringify({
            brokerTokenResponse: {
              accessToken: "at",
              accessTokenType: 0,
              expiresOn: Date.now() + 3_600_000,
              grantedScopes: "Mail.Read",
              idToken,
            },
          }),
        });
        const result = assertError(await app.acquireTokenSilentWithError(["Mail.Read"], { account }));
        assert.equal(result.error, "broker_error", idToken);
        assert.equal(result.broker_status, "InvalidResponse");
        assert.match(result.error_description ?? "", /idToken/);
      }
      assert.equal(tokenCache.serialize(), cached);
      const again = assertToken(await app.acquireTokenSilent(SCOPES, { account }));
      assert.equal(again.token_source, "cache");
      assert.equal(again.access_token, first.access_token);
    });

    it("a broker that dies mid-call: a typed error, and the next call reaches the restarted broker", async () => {
      const app = await start();
      const [account] = await app.getAccounts();
      broker.fail("acquireTokenSilently", { kind: "disconnect" });
      const result = assertError(await app.acquireTokenSilentWithError(SCOPES, { account }));
      assert.equal(result.error, "broker_error");
      assert.equal(result.broker_status, "Disconnected");
      assert.equal(result.broker_tag, "org.freedesktop.DBus.Error.NoReply");
      assertToken(await app.acquireTokenSilent(SCOPES, { account }));
    });

    it("an interactive call that dies mid-call is not sent again", async () => {
      const app = await start();
      broker.fail("acquireTokenSilently", { kind: "error", status: 2 });
      broker.fail("acquireTokenInteractively", { kind: "disconnect" });
      const result = assertError(
        await app.acquireTokenInteractive(SCOPES, { parentWindowHandle: CONSOLE_WINDOW_HANDLE }),
      );
      assert.equal(result.broker_status, "Disconnected");
      assert.equal(broker.requestsTo("acquireTokenInteractively").length, 1);
    });
  });
}

describe("enableBrokerOnLinux: the broker's start-up and deadlines", () => {
  const bus = sessionBus();
  let broker: FakeLinuxBroker | undefined;
  afterEach(async () => {
    await broker?.close();
    broker = undefined;
  });

  it("UnknownObject while the broker starts is retried: the first call succeeds", async () => {
    broker = await aliceBroker(bus(), { exportDelayMs: 700 });
    const app = await linuxApp();
    const accounts = await app.getAccounts();
    assert.deepEqual(accounts.map((a) => a.username), [ALICE.username]);
  });

  it("a broker that never answers: a Timeout error result at the app's deadline", async () => {
    broker = await aliceBroker(bus());
    const app = await linuxApp({ brokerTimeoutMs: 1_000 });
    const [account] = await app.getAccounts();
    broker.fail("acquireTokenSilently", { kind: "noReply" });
    const result = assertError(await app.acquireTokenSilentWithError(SCOPES, { account }));
    assert.equal(result.error, "broker_error");
    assert.equal(result.broker_status, "Timeout");
  });
});

describe("enableBrokerOnLinux rule 3: no broker, so the browser flow, with the reason", () => {
  let bus: PrivateBus;
  before(async () => {
    bus = await startPrivateBus();
  });
  after(async () => {
    await bus.stop();
    useBus(savedAddress);
  });

  it("a session bus without the broker: not installed, and acquireTokenInteractive signs in in the browser", async () => {
    useBus(bus.address);
    const { logger, warnings } = recordingLogger();
    const app = await linuxApp({ logger });
    const status = await app.brokerStatus();
    assert.equal(status.enabled, false);
    assert.equal(status.plugin, "linux");
    assert.match(
      status.reason ?? "",
      /not installed: com\.microsoft\.identity\.broker1 is neither running nor activatable/,
    );
    const [warning, ...more] = warnings();
    assert.deepEqual(more, []);
    assert.ok(warning.includes(status.reason!), warning);

    const browser = new FetchBrowser();
    const result = assertToken(
      await app.acquireTokenInteractive(SCOPES, {
        parentWindowHandle: CONSOLE_WINDOW_HANDLE,
        openBrowser: async (url) => {
          await browser.signIn(url, ALICE);
        },
      }),
    );
    await browser.idle();
    assert.equal(result.token_source, "identity_provider");
    assert.equal(result.account?.username, ALICE.username);
  });

  it("no session bus at that address", async () => {
    useBus(`unix:path=${bus.directory}/no-such-socket`);
    const status = await (await linuxApp()).brokerStatus();
    assert.equal(status.enabled, false);
    assert.match(
      status.reason ?? "",
      /cannot connect to the D-Bus session bus at unix:path=.*no-such-socket/,
    );
  });

  it("an abstract socket address, which dbus-next cannot open, says so", async () => {
    useBus("unix:abstract=/tmp/dbus-Xu2Ab3,guid=0123456789abcdef0123456789abcdef");
    const status = await (await linuxApp()).brokerStatus();
    assert.equal(status.enabled, false);
    assert.match(status.reason ?? "", /abstract socket \(unix:abstract=\), which dbus-next cannot open/);
  });

  it("no session bus at all", async () => {
    const runtimeDir = process.env.XDG_RUNTIME_DIR;
    useBus(undefined);
    delete process.env.XDG_RUNTIME_DIR;
    try {
      const status = await (await linuxApp()).brokerStatus();
      assert.equal(status.enabled, false);
      assert.match(status.reason ?? "", /no D-Bus session bus/);
    } finally {
      if (runtimeDir !== undefined) process.env.XDG_RUNTIME_DIR = runtimeDir;
    }
  });
});
