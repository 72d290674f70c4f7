// The msalruntime plugin with Microsoft's real native runtime (@azure/msal-node-runtime, its Linux x64
// build) and the whole PublicClientApplication flow: the runtime talks to the fake Linux broker on a
// private D-Bus bus with a Secret Service (where it keeps its own account cache), exactly as it talks
// to microsoft-identity-broker. The app runs in a child process under the runtime running this file,
// because the native runtime is one per process and reads the session bus address when it loads.
// Platform overrides (Windows, macOS) run the same native code with the Windows/macOS redirect URIs and
// PoP support, which is what an app on those systems sends to WAM or Enterprise SSO.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import process from "node:process";
import { FakeAuthority, FakeLinuxBroker, type PrivateBus, startPrivateBus } from "../testing/mod.ts";
import { RuntimeChild } from "./_runtime_child.ts";
import { CLIENT_ID } from "./_helpers.ts";

const ALICE = { username: "alice@contoso.com", password: "a", oid: "00000000-0000-0000-0000-0000000a11ce" };
const BOB = { username: "bob@contoso.com", password: "b", oid: "00000000-0000-0000-0000-000000000b0b" };
const SCOPES = ["User.Read"];
const NATIVE_CLIENT = "https://login.microsoftonline.com/common/oauth2/nativeclient";
const TIMEOUT = { timeout: 120_000 };

interface Result {
  access_token?: string;
  token_type?: string;
  token_source?: string;
  expires_in?: number;
  scope?: string;
  id_token_claims?: Record<string, unknown>;
  account?: { username: string; local_account_id: string; account_source?: string };
  error?: string;
  error_description?: string;
  broker_status?: string;
  broker_error_code?: number;
  broker_tag?: number | string;
}
interface Status {
  enabled: boolean;
  platform: string;
  plugin?: string;
  reason?: string;
}
interface Account {
  username: string;
  local_account_id: string;
  home_account_id: string;
  account_source?: string;
}
interface Logged {
  level: string;
  message: string;
}

type AuthParameters = Record<string, unknown> & {
  account?: { username?: string } | null;
  additionalQueryParametersForAuthorization?: Record<string, string>;
};

function jwtPayload(token: string): Record<string, unknown> {
  return JSON.parse(new TextDecoder().decode(Uint8Array.from(
    atob(token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/")),
    (c) => c.charCodeAt(0),
  )));
}

describe("the msalruntime plugin with Microsoft's runtime and the fake Linux broker", () => {
  let bus: PrivateBus;
  let idp: FakeAuthority;
  let broker: FakeLinuxBroker;
  let app: RuntimeChild;

  /** The auth parameters of the broker's last call of `method`. */
  const lastParams = (method: "acquireTokenSilently" | "acquireTokenInteractively"): AuthParameters => {
    const request = broker.requestsTo(method).at(-1)?.request;
    assert.ok(request, `the broker received no ${method}`);
    return request.authParameters as AuthParameters;
  };

  before(async () => {
    bus = await startPrivateBus({ secretService: true });
    idp = await FakeAuthority.start({ users: [ALICE, BOB], origin: "https://login.microsoftonline.com" });
    broker = await FakeLinuxBroker.start({
      address: bus.address,
      authority: idp,
      defaultAccount: ALICE.username,
    });
    app = new RuntimeChild({
      ...process.env,
      ...bus.env,
      CLIENT_ID,
      AUTHORITY: idp.authority("organizations"),
      IDP_URL: idp.url,
    });
  });

  after(async () => {
    await app?.close();
    await broker?.close();
    await bus?.stop();
    await idp?.close();
  });

  it("loads: brokerStatus names the plugin", TIMEOUT, async () => {
    const status = await app.value<Status>("create", { brokerNativeLogging: true });
    assert.deepEqual(status, { enabled: true, platform: "linux", plugin: "msalruntime" });
  });

  it("lists the broker's accounts, with the broker's account id as local_account_id", TIMEOUT, async () => {
    const accounts = await app.value<Account[]>("getAccounts");
    assert.deepEqual(
      accounts.map((a) => [a.username, a.local_account_id, a.account_source]).sort(),
      [[ALICE.username, ALICE.oid, "broker"], [BOB.username, BOB.oid, "broker"]],
    );
    assert.equal(broker.requestsTo("getAccounts").at(-1)?.request?.clientId, CLIENT_ID);
  });

  it("interactive with CONSOLE_WINDOW_HANDLE and select_account shows the broker's UI", TIMEOUT, async () => {
    broker.clearRequests();
    const result = await app.value<Result>("interactive", { scopes: SCOPES, prompt: "select_account" });
    assert.equal(result.token_source, "broker", JSON.stringify(result));
    assert.equal(result.token_type, "Bearer");
    assert.ok(result.access_token);
    assert.ok(result.expires_in! > 3500 && result.expires_in! <= 3600, String(result.expires_in));
    assert.equal(result.id_token_claims?.preferred_username, ALICE.username);
    assert.equal(result.account?.local_account_id, ALICE.oid);
    assert.equal(result.scope, "User.Read");
    const [call] = broker.requestsTo("acquireTokenInteractively");
    const params = call.request!.authParameters as AuthParameters;
    assert.equal(params.authorizationType, 6);
    assert.equal(params.redirectUri, NATIVE_CLIENT);
    assert.deepEqual(params.requestedScopes, SCOPES);
    // The console's null window handle: the runtime parents the UI itself.
    assert.equal(call.request!.parentWindowHandle, 1);
    assert.equal(params.additionalQueryParametersForAuthorization?.msal_gui_thread, "true");
    assert.equal(
      broker.requestsTo("acquireTokenSilently").length,
      0,
      "select_account goes straight to the UI",
    );
  });

  it(
    "interactive with a login hint: the OS default account is someone else, so Bob signs in",
    TIMEOUT,
    async () => {
      broker.clearRequests();
      const result = await app.value<Result>("interactive", { scopes: SCOPES, loginHint: BOB.username });
      assert.equal(result.account?.username, BOB.username, JSON.stringify(result));
      assert.equal(result.id_token_claims?.preferred_username, BOB.username);
      assert.equal(lastParams("acquireTokenInteractively").username, BOB.username);
    },
  );

  it("silent for an account the broker knows: a broker token, then the local cache", TIMEOUT, async () => {
    const first = await app.value<Result>("silent", { scopes: ["Mail.Read"], username: BOB.username });
    assert.equal(first.token_source, "broker", JSON.stringify(first));
    assert.equal(first.account?.username, BOB.username);
    assert.equal(jwtPayload(first.access_token!).scp, "Mail.Read");
    const second = await app.value<Result>("silent", { scopes: ["Mail.Read"], username: BOB.username });
    assert.equal(second.token_source, "cache");
    assert.equal(second.access_token, first.access_token);
  });

  it("a claims challenge reaches the broker as the runtime's decoded claims", TIMEOUT, async () => {
    const challenge = '{"access_token":{"nbf":{"essential":true,"value":"1700000000"}}}';
    const result = await app.value<Result>("silent", {
      scopes: SCOPES,
      username: ALICE.username,
      claimsChallenge: challenge,
    });
    assert.equal(result.token_source, "broker", JSON.stringify(result));
    const params = lastParams("acquireTokenSilently");
    assert.deepEqual(JSON.parse(params.decodedClaims as string), JSON.parse(challenge));
    assert.equal(params.account?.username, ALICE.username);
  });

  it(
    "a broker error is an error result with status, code and tag (rule 4), not a browser",
    TIMEOUT,
    async () => {
      broker.fail("acquireTokenSilently", {
        kind: "error",
        status: 2,
        errorCode: 50076,
        tag: 595719680,
        context: "AADSTS50076: MFA required",
      });
      const result = await app.value<Result>("silent", {
        scopes: ["Files.Read"],
        username: ALICE.username,
        claimsChallenge: '{"access_token":{"nbf":{"essential":true,"value":"1700000001"}}}',
      });
      assert.equal(result.error, "broker_error", JSON.stringify(result));
      assert.equal(result.broker_status, "InteractionRequired");
      assert.equal(result.broker_error_code, 50076);
      assert.equal(result.broker_tag, 595719680);
      assert.equal(
        result.error_description,
        "AADSTS50076: MFA required. Status: InteractionRequired, Error code: 50076, Tag: 595719680",
      );
      assert.equal(idp.requestsTo("token").length, 0, "no request bypassed the broker");
    },
  );

  it(
    "a known account that needs interaction is signed in again with AcquireTokenInteractively",
    TIMEOUT,
    async () => {
      broker.clearRequests();
      // Its silent attempt and the OS default account's both need interaction.
      broker.fail("acquireTokenSilently", { kind: "error", status: 2 }, 2);
      const result = await app.value<Result>("interactive", {
        scopes: ["Calendars.Read"],
        loginHint: ALICE.username,
      });
      assert.equal(result.account?.username, ALICE.username, JSON.stringify(result));
      const params = lastParams("acquireTokenInteractively");
      assert.equal(params.account?.username, ALICE.username);
      assert.equal(params.additionalQueryParametersForAuthorization?.hsu, "1");
    },
  );

  it("on Windows: WAM's redirect URI, and a proof-of-possession token", TIMEOUT, async () => {
    const status = await app.value<Status>("create", {
      name: "windows",
      platform: "windows",
      enableBrokerOnWindows: true,
    });
    assert.deepEqual(status, { enabled: true, platform: "windows", plugin: "msalruntime" });
    const pop = { method: "POST", url: "https://contoso.com/api/orders?id=1", nonce: "nonce-1" };
    const result = await app.value<Result>("silent", {
      app: "windows",
      scopes: SCOPES,
      username: ALICE.username,
      pop,
    });
    assert.equal(result.token_type, "pop", JSON.stringify(result));
    const params = lastParams("acquireTokenSilently");
    assert.equal(params.redirectUri, `ms-appx-web://Microsoft.AAD.BrokerPlugin/${CLIENT_ID}`);
    assert.deepEqual(
      { ...params.popParams as Record<string, string> },
      {
        clientClaims: "",
        homeAccountId: "",
        httpMethod: "POST",
        nonce: "nonce-1",
        uriHost: "contoso.com",
        uriPath: "/api/orders",
      },
    );
    // The runtime's `pop <signed HTTP request>` authorization header: the request, over a bound token.
    const shr = jwtPayload(result.access_token!);
    assert.deepEqual([shr.m, shr.u, shr.p, shr.nonce], ["POST", "contoso.com", "/api/orders", "nonce-1"]);
    assert.ok((jwtPayload(shr.at as string).cnf as { kid?: string })?.kid, "over a bound (cnf) access token");
  });

  it(
    "an unregistered redirect URI is a RedirectUriError naming the exact URI to register",
    TIMEOUT,
    async () => {
      broker.fail("acquireTokenInteractively", {
        kind: "error",
        status: 9,
        context:
          "AADSTS50011: The redirect URI specified in the request does not match the redirect URIs configured",
      });
      const answer = await app.send("interactive", {
        app: "windows",
        scopes: SCOPES,
        prompt: "select_account",
      });
      assert.ok("error" in answer, JSON.stringify(answer));
      assert.equal(answer.error.name, "RedirectUriError");
      assert.ok(
        answer.error.message?.includes(`ms-appx-web://Microsoft.AAD.BrokerPlugin/${CLIENT_ID}`),
        answer.error.message,
      );
    },
  );

  it(
    "on WSL: WAM's redirect URI, and a GUI app's window handle passed as the native handle",
    TIMEOUT,
    async () => {
      const status = await app.value<Status>("create", {
        name: "wsl",
        platform: "wsl",
        enableBrokerOnLinux: false,
        enableBrokerOnWsl: true,
      });
      assert.deepEqual(status, { enabled: true, platform: "wsl", plugin: "msalruntime" });
      const result = await app.value<Result>("interactive", {
        app: "wsl",
        scopes: SCOPES,
        prompt: "select_account",
        windowHandle: 0x1234,
      });
      assert.equal(result.token_source, "broker", JSON.stringify(result));
      const call = broker.requestsTo("acquireTokenInteractively").at(-1)!;
      assert.equal(call.request!.parentWindowHandle, 0x1234);
      const params = call.request!.authParameters as AuthParameters;
      assert.equal(params.redirectUri, `ms-appx-web://Microsoft.AAD.BrokerPlugin/${CLIENT_ID}`);
      assert.equal(params.additionalQueryParametersForAuthorization?.msal_gui_thread, undefined);
    },
  );

  it("on Linux without linuxBroker, the D-Bus plugin serves the same broker", TIMEOUT, async () => {
    const status = await app.value<Status>("create", { name: "dbus", linuxBroker: "dbus" });
    assert.deepEqual(status, { enabled: true, platform: "linux", plugin: "linux" });
  });

  it("on macOS: the unsigned app's redirect URI, or the signed app's own", TIMEOUT, async () => {
    for (
      const [name, override, expected] of [
        ["mac", undefined, "msauth.com.msauth.unsignedapp://auth"],
        ["signed-mac", "msauth.com.contoso.app://auth", "msauth.com.contoso.app://auth"],
      ] as const
    ) {
      await app.value<Status>("create", {
        name,
        platform: "mac",
        enableBrokerOnMac: true,
        brokerRedirectUri: override,
      });
      const result = await app.value<Result>("interactive", {
        app: name,
        scopes: SCOPES,
        prompt: "select_account",
      });
      assert.equal(result.token_source, "broker", JSON.stringify(result));
      assert.equal(lastParams("acquireTokenInteractively").redirectUri, expected);
    }
  });

  it("calls end at their deadline, and when the caller aborts", TIMEOUT, async () => {
    await app.value<Status>("create", { name: "impatient", brokerTimeoutMs: 1_000 });
    broker.fail("acquireTokenSilently", { kind: "delay", delayMs: 4_000 });
    const late = await app.value<Result>("silent", {
      app: "impatient",
      scopes: ["Tasks.Read"],
      username: ALICE.username,
      claimsChallenge: '{"access_token":{"nbf":{"essential":true,"value":"1700000002"}}}',
    });
    assert.equal(late.error, "broker_error", JSON.stringify(late));
    assert.equal(late.broker_status, "Timeout");

    broker.fail("acquireTokenInteractively", { kind: "delay", delayMs: 4_000 });
    const aborted = await app.send("interactive", {
      scopes: SCOPES,
      prompt: "select_account",
      abortAfterMs: 500,
    });
    assert.ok("error" in aborted, JSON.stringify(aborted));
    assert.equal(aborted.error.name, "AbortError");
  });

  it("sign-out: the runtime signs the account out of this app", TIMEOUT, async () => {
    await app.value<string[]>("removeAccount", { username: BOB.username });
    const result = await app.value<Result>("silent", { scopes: ["Mail.Read"], username: BOB.username });
    assert.equal(result.error, "broker_error", JSON.stringify(result));
    assert.equal(result.broker_status, "AccountUnusable");
    assert.match(result.error_description!, /signed out of this application/);
  });

  it(
    "the runtime's own log reaches the app's logger, with personal data only where allowed",
    TIMEOUT,
    async () => {
      const logs = await app.value<Logged[]>("logs");
      const native = logs.filter((line) => line.message.includes("[msalruntime]"));
      assert.ok(native.length > 10, `${native.length} lines from the runtime`);
      assert.ok(native.some((line) => line.level === "info"));
      const names = (lines: Logged[]) =>
        lines.filter((line) => line.message.includes(ALICE.username) || line.message.includes(BOB.username));
      assert.deepEqual(names(logs), []);

      // A second app allows PII: the runtime now logs it, to that app's logger only.
      await app.value<Status>("create", { name: "pii", pii: true, brokerNativeLogging: true });
      await app.value<Logged[]>("logs");
      const result = await app.value<Result>("silent", {
        app: "pii",
        scopes: ["Notes.Read"],
        username: ALICE.username,
        claimsChallenge: '{"access_token":{"nbf":{"essential":true,"value":"1700000003"}}}',
      });
      assert.equal(result.token_source, "broker", JSON.stringify(result));
      assert.ok(
        names(await app.value<Logged[]>("logs", { app: "pii" })).length > 0,
        "the PII app sees names",
      );
      assert.deepEqual(names(await app.value<Logged[]>("logs")), [], "the other app does not");
    },
  );
});

describe("a runtime that cannot start (rule 3)", () => {
  it("Deno without --allow-ffi: the reason says what to grant, and nobody is prompted", TIMEOUT, async () => {
    const app = new RuntimeChild(
      { ...process.env, CLIENT_ID, AUTHORITY: "https://login.microsoftonline.com/organizations" },
      ["--allow-read", "--allow-env", "--allow-sys"],
    );
    try {
      const status = await app.value<Status>("create");
      assert.equal(status.enabled, false, JSON.stringify(status));
      assert.equal(status.plugin, "msalruntime");
      assert.equal(
        status.reason,
        `Microsoft's runtime (@azure/msal-node-runtime) could not load its native library ("Binaries could ` +
          `not be loaded. This is unexpected."): Deno needs --allow-ffi to load a native library`,
      );
    } finally {
      await app.close();
    }
  });

  it(
    "no broker on the session bus: the app falls back, and brokerStatus quotes the runtime",
    TIMEOUT,
    async () => {
      const bus = await startPrivateBus();
      const app = new RuntimeChild({
        ...process.env,
        ...bus.env,
        CLIENT_ID,
        AUTHORITY: "https://login.microsoftonline.com/organizations",
      });
      try {
        const status = await app.value<Status>("create");
        assert.equal(status.enabled, false, JSON.stringify(status));
        assert.equal(status.plugin, "msalruntime");
        assert.match(
          status.reason!,
          /^Microsoft's runtime could not start the broker: Broker cannot be initialized for MSALRuntime \(status ApiContractViolation, code 0, tag \d+\)$/,
        );
        const logs = await app.value<Logged[]>("logs");
        assert.ok(
          logs.some((line) =>
            line.level === "warning" && line.message.includes("We will fallback to non-broker")
          ),
          JSON.stringify(logs),
        );
      } finally {
        await app.close();
        await bus.stop();
      }
    },
  );
});
