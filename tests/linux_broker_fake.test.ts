// The fake Linux broker and the private bus of the test kit, driven with raw dbus-next calls shaped
// like the requests Microsoft's runtime sends (linux-broker-dbus spec §11).

import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { spawn } from "node:child_process";
import process from "node:process";
import { fileURLToPath } from "node:url";
import {
  FakeAuthority,
  FakeLinuxBroker,
  type FakeLinuxBrokerAccount,
  type FakeLinuxBrokerOptions,
  type FakeLinuxBrokerRequest,
  linuxBrokerService,
  type PrivateBus,
  PrivateBusError,
  startPrivateBus,
} from "../testing/mod.ts";
import {
  alive,
  BROKER,
  BROKER_ACCOUNT_FIELDS,
  dbusErrorOf,
  groupAlive,
  type RawClient,
  rawClient,
} from "./_dbus_client.ts";
import { CLIENT_ID } from "./_helpers.ts";

type Json = Record<string, unknown>;

// Child processes and daemons: generous, for a loaded machine (Bun's default is 5 s).
const SLOW = { timeout: 120_000 };
const NATIVE_CLIENT = "https://login.microsoftonline.com/common/oauth2/nativeclient";

function decodeJwt(jwt: string): Json {
  const [, payload] = jwt.split(".");
  return JSON.parse(atob(payload.replace(/-/g, "+").replace(/_/g, "/"))) as Json;
}

/** `authParameters` as Microsoft's runtime sends them for AcquireTokenSilently (§11). */
function silentRequest(account: FakeLinuxBrokerAccount | null, overrides: Json = {}): Json {
  return {
    authParameters: {
      accessTokenToRenew: "",
      account,
      additionalQueryParametersForAuthorization: { "x-client-xtra-sku": "test" },
      authority: "https://login.microsoftonline.com/common",
      authorizationType: 1,
      clientId: CLIENT_ID,
      decodedClaims: "",
      enrollmentId: "",
      isTestMode: false,
      password: "",
      popParams: null,
      redirectUri: NATIVE_CLIENT,
      requestedScopes: ["User.Read"],
      username: account?.username ?? "",
      uxContextHandle: -1,
      ...(account ? {} : { isSignIn: true }),
      ...overrides,
    },
  };
}

/** `acquireTokenInteractively` as Microsoft's runtime sends it for SignInInteractively (§11). */
function interactiveRequest(loginHint: string, overrides: Json = {}): Json {
  return {
    authParameters: {
      ...silentRequest(null).authParameters as Json,
      authorizationType: 6,
      isSignIn: true,
      username: loginHint,
      parentWindow: { handle: 1 },
      ...overrides,
    },
    parentWindowHandle: 1,
  };
}

function cookieRequest(account: FakeLinuxBrokerAccount, type = 8, inner: Json = {}): Json {
  const ssoUrl = "https://login.microsoftonline.com/?sso_nonce=AwABEgEAAAADAOz";
  return {
    account,
    ssoUrl,
    mamEnrollment: false,
    authParameters: {
      account,
      additionalQueryParametersForAuthorization: {},
      authority: "https://login.microsoftonline.com/common",
      authorizationType: type,
      clientId: CLIENT_ID,
      redirectUri: NATIVE_CLIENT,
      requestedScopes: ["https://graph.microsoft.com/.default"],
      username: account.username,
      uxContextHandle: -1,
      ssoUrl,
      ...inner,
    },
  };
}

function errorOf(reply: Json): Json {
  const inner = (reply.brokerTokenResponse as Json | undefined)?.error ?? reply.error;
  assert.ok(inner, `expected an error reply, got ${JSON.stringify(reply)}`);
  return inner as Json;
}

describe("startPrivateBus", () => {
  it("runs a dbus-daemon on a unix:path socket and stop() leaves no process or file behind", async () => {
    const bus = await startPrivateBus();
    assert.match(bus.address, /^unix:path=\/.+,guid=[0-9a-f]{32}$/);
    const client = await rawClient(bus.address);
    const [names] = await client.daemon("ListNames");
    assert.ok((names as string[]).includes("org.freedesktop.DBus"));
    client.close();
    assert.equal(bus.processGroups.length, 1);
    assert.ok(bus.processGroups.every(groupAlive));
    await bus.stop();
    assert.ok(!bus.processGroups.some(groupAlive), "dbus-daemon is still running");
    assert.equal(existsSync(bus.directory), false);
    await bus.stop(); // idempotent
  });

  it("starts gnome-keyring's Secret Service on the bus when asked, and stops it too", SLOW, async () => {
    const bus = await startPrivateBus({ secretService: true });
    try {
      assert.equal(bus.processGroups.length, 2);
      const client = await rawClient(bus.address);
      assert.deepEqual(await client.daemon("NameHasOwner", "s", ["org.freedesktop.secrets"]), [true]);
      client.close();
    } finally {
      await bus.stop();
    }
    assert.ok(!bus.processGroups.some(groupAlive), "a daemon is still running");
  });

  for (const ending of ["exit", "kill"] as const) {
    it(
      ending === "exit"
        ? "a test process that forgets stop() still exits by itself, and its daemons die with it"
        : "a test process killed by SIGKILL takes its daemons with it",
      SLOW,
      async () => {
        const script = fileURLToPath(new URL("./fixtures/forgotten_bus.ts", import.meta.url));
        const runner = "Deno" in globalThis ? ["run", "-A"] : "Bun" in globalThis ? [] : ["--import", "tsx"];
        const child = spawn(process.execPath, [...runner, script, ending], {
          stdio: ["ignore", "pipe", "pipe"],
        });
        let output = "";
        child.stdout.on("data", (chunk) => output += chunk);
        child.stderr.on("data", (chunk) => output += chunk);
        // A safety net, not a timing assertion: a child still alive after 60 s is killed and fails.
        const killer = setTimeout(() => child.kill("SIGKILL"), 60_000);
        const [code, signal] = await new Promise<[number | null, string | null]>((resolve) =>
          child.once("close", (code, signal) => resolve([code, signal]))
        ).finally(() => clearTimeout(killer));
        if (ending === "exit") {
          assert.equal(signal, null, `the child did not exit by itself:\n${output}`);
          assert.equal(code, 0, output);
        } else {
          assert.equal(signal, "SIGKILL", output);
        }
        const groups = JSON.parse(output.trim().split("\n")[0]) as number[];
        assert.equal(groups.length, 2);
        await until(() => !groups.some(groupAlive));
      },
    );
  }

  it("names a missing dbus-daemon", async () => {
    await assert.rejects(
      startPrivateBus({ env: { PATH: "/nonexistent" } }),
      (error: Error) => error instanceof PrivateBusError && /dbus-daemon/.test(error.message),
    );
  });

  it("without a service folder, an unowned name is ServiceUnknown (not installed)", async () => {
    const bus = await startPrivateBus();
    const client = await rawClient(bus.address);
    try {
      assert.equal(
        await dbusErrorOf(client.call("getAccounts", { clientId: CLIENT_ID })),
        "org.freedesktop.DBus.Error.ServiceUnknown",
      );
    } finally {
      client.close();
      await bus.stop();
    }
  });
});

describe("linuxBrokerService (D-Bus activation)", () => {
  it("is activatable before it runs; the first call starts it; stop() ends it too", SLOW, async () => {
    const bus = await startPrivateBus({
      services: [linuxBrokerService({ profile: "2.0.1", accounts: [{ username: "zed@contoso.com" }] })],
    });
    const client = await rawClient(bus.address);
    let brokerPid = 0;
    try {
      const requestLog = join(bus.directory, "calls.jsonl");
      assert.ok(((await client.daemon("ListActivatableNames"))[0] as string[]).includes(BROKER.name));
      assert.deepEqual(await client.daemon("NameHasOwner", "s", [BROKER.name]), [false]);
      const reply = await client.call("getAccounts", { clientId: CLIENT_ID });
      assert.deepEqual((reply.accounts as Json[]).map((a) => a.username), ["zed@contoso.com"]);
      assert.equal((reply.telemetry as Json).broker_version, "2.0.1");
      [brokerPid] = (await client.daemon("GetConnectionUnixProcessID", "s", [BROKER.name])) as number[];
      assert.ok(alive(brokerPid));
      assert.equal(existsSync(requestLog), false, "no log was asked for");
    } finally {
      client.close();
      await bus.stop();
    }
    assert.equal(alive(brokerPid), false, "the activated broker is still running");
  });

  it("reproduces the start-up race right after activation (UnknownObject)", SLOW, async () => {
    const bus = await startPrivateBus({ services: [linuxBrokerService({ exportDelayMs: 60_000 })] });
    const client = await rawClient(bus.address);
    try {
      assert.equal(
        await dbusErrorOf(client.call("getLinuxBrokerVersion", { msalCppVersion: "1.31.0" })),
        "org.freedesktop.DBus.Error.UnknownObject",
      );
      assert.deepEqual(await client.daemon("NameHasOwner", "s", [BROKER.name]), [true]);
    } finally {
      client.close();
      await bus.stop();
    }
  });

  it("appends each call to the request log as a JSON line", SLOW, async () => {
    const scratch = mkdtempSync(join(tmpdir(), "broker-log-"));
    const requestLog = join(scratch, "calls.jsonl");
    const bus = await startPrivateBus({ services: [linuxBrokerService({ requestLog })] });
    const client = await rawClient(bus.address);
    try {
      await client.call("getLinuxBrokerVersion", { msalCppVersion: "1.31.0" });
      await client.call("getAccounts", { clientId: CLIENT_ID });
      const calls = readFileSync(requestLog, "utf8").trim().split("\n").map((line) =>
        JSON.parse(line) as FakeLinuxBrokerRequest
      );
      assert.deepEqual(calls.map((c) => c.method), ["getLinuxBrokerVersion", "getAccounts"]);
      assert.deepEqual(calls[1].request, { clientId: CLIENT_ID });
      assert.equal((calls[0].reply as Json).linuxBrokerVersion, "3.0.2");
    } finally {
      client.close();
      await bus.stop();
      rmSync(scratch, { recursive: true, force: true });
    }
  });
});

for (const profile of ["3.0.2", "2.0.1"] as const) {
  describe(`FakeLinuxBroker, profile ${profile}`, () => {
    let bus: PrivateBus;
    let idp: FakeAuthority;
    let client: RawClient;
    let broker: FakeLinuxBroker;

    before(async () => {
      bus = await startPrivateBus();
      idp = await FakeAuthority.start({
        users: [
          { username: "alice@contoso.com", password: "pw", name: "Alice Smith" },
          { username: "bob@contoso.com", password: "pw", name: "Bob" },
        ],
      });
      client = await rawClient(bus.address);
    });
    after(async () => {
      client?.close();
      await idp?.close();
      await bus?.stop();
    });

    async function startBroker(options: FakeLinuxBrokerOptions = {}): Promise<FakeLinuxBroker> {
      await broker?.close();
      broker = await FakeLinuxBroker.start({ address: bus.address, profile, authority: idp, ...options });
      return broker;
    }

    async function accounts(): Promise<FakeLinuxBrokerAccount[]> {
      const reply = await client.call("getAccounts", { clientId: CLIENT_ID, redirectUri: CLIENT_ID });
      return reply.accounts as FakeLinuxBrokerAccount[];
    }

    it("answers getLinuxBrokerVersion with its version", async () => {
      await startBroker();
      const reply = await client.call("getLinuxBrokerVersion", { msalCppVersion: "1.31.0" });
      assert.equal(reply.linuxBrokerVersion, profile);
      assert.equal((reply.telemetry as Json).broker_version, profile);
    });

    it("lists the authority's users as broker accounts with every Account field", async () => {
      await startBroker();
      const list = await accounts();
      assert.deepEqual(list.map((a) => a.username), ["alice@contoso.com", "bob@contoso.com"]);
      const alice = list[0];
      const user = idp.users[0];
      assert.equal(alice.homeAccountId, `${user.oid}.${user.tenantId}`);
      assert.equal(alice.realm, user.tenantId);
      assert.equal(alice.localAccountId, user.oid);
      assert.equal(alice.environment, "login.windows.net");
      assert.equal(alice.passwordExpiry, 0);
      assert.deepEqual(JSON.parse(atob(alice.clientInfo)), { uid: user.oid, utid: user.tenantId });
      assert.deepEqual(Object.keys(alice).sort(), BROKER_ACCOUNT_FIELDS);
      assert.equal(alice.givenName, "Alice");
      assert.equal(alice.familyName, "Smith");
    });

    it("returns a token signed by the fake authority for the account sent back unchanged", async () => {
      await startBroker();
      const [alice] = await accounts();
      const before = Date.now();
      const reply = await client.call("acquireTokenSilently", silentRequest(alice));
      const response = reply.brokerTokenResponse as Json;
      assert.equal(response.error, undefined);
      for (
        const field of [
          "accessToken",
          "accessTokenType",
          "clientInfo",
          "expiresOn",
          "idToken",
          "grantedScopes",
        ]
      ) {
        assert.ok(field in response, `${field} is missing`);
      }
      assert.equal(response.accessTokenType, 0);
      assert.equal(response.grantedScopes, "User.Read");
      assert.ok((response.expiresOn as number) >= before + 3_500_000, "expiresOn is in epoch milliseconds");
      const claims = decodeJwt(response.accessToken as string);
      assert.equal(claims.oid, idp.users[0].oid);
      assert.equal(claims.appid, CLIENT_ID);
      assert.equal(claims.scp, "User.Read");
      assert.equal(claims.deviceid, broker.deviceId);
      assert.equal(claims.iss, `${idp.origin}/${idp.users[0].tenantId}/v2.0`);
      const id = decodeJwt(response.idToken as string);
      assert.equal(id.aud, CLIENT_ID);
      assert.equal(id.preferred_username, "alice@contoso.com");
      await verifiedBy(idp, response.accessToken as string);
      if (profile === "2.0.1") {
        assert.deepEqual(response.account, alice);
      } else {
        assert.equal(response.account, undefined);
        assert.equal(response.refreshToken, "");
      }
    });

    it("signs the default account in silently (isSignIn, no account)", async () => {
      await startBroker({ defaultAccount: "bob@contoso.com" });
      const reply = await client.call("acquireTokenSilently", silentRequest(null));
      const response = reply.brokerTokenResponse as Json;
      assert.equal(decodeJwt(response.idToken as string).preferred_username, "bob@contoso.com");
    });

    it("signs the hinted user in interactively", async () => {
      await startBroker();
      const reply = await client.call("acquireTokenInteractively", interactiveRequest("bob@contoso.com"));
      const response = reply.brokerTokenResponse as Json;
      assert.equal(decodeJwt(response.idToken as string).preferred_username, "bob@contoso.com");
      assert.equal(broker.requestsTo("acquireTokenInteractively")[0].request?.parentWindowHandle, 1);
    });

    it("issues the token in the tenant named by the authority", async () => {
      await startBroker();
      const [alice] = await accounts();
      const tenant = "0fd2b8a2-1d9c-4c53-8ef4-7c9d1e1b2a33";
      const reply = await client.call(
        "acquireTokenSilently",
        silentRequest(alice, { authority: `https://login.microsoftonline.com/${tenant}` }),
      );
      assert.equal(decodeJwt((reply.brokerTokenResponse as Json).accessToken as string).tid, tenant);
    });

    it("removes an account: getAccounts no longer lists it and silent calls need interaction", async () => {
      await startBroker();
      const [alice] = await accounts();
      const reply = await client.call("removeAccount", { clientId: CLIENT_ID, account: alice });
      assert.equal(reply.error, undefined);
      assert.deepEqual((await accounts()).map((a) => a.username), ["bob@contoso.com"]);
      const silent = await client.call("acquireTokenSilently", silentRequest(alice));
      assert.equal(errorOf(silent).status, 2);
    });

    it(`answers the PRT SSO cookie ${profile === "2.0.1" ? "flat" : "in cookieItems"}, bound to the nonce`, async () => {
      await startBroker();
      const [alice] = await accounts();
      const reply = await client.call("acquirePrtSsoCookie", cookieRequest(alice));
      const cookie = profile === "2.0.1" ? reply : (reply.cookieItems as Json[])[0];
      assert.equal(cookie.cookieName, "x-ms-RefreshTokenCredential");
      assert.equal(decodeJwt(cookie.cookieContent as string).request_nonce, "AwABEgEAAAADAOz");
      if (profile === "2.0.1") assert.deepEqual(reply.account, alice);
      else assert.equal(reply.cookieContent, undefined);
    });

    it("answers a token request with popParams with a signed HTTP request (accessTokenType 1)", async () => {
      await startBroker();
      const [alice] = await accounts();
      const popParams = {
        clientClaims: "",
        homeAccountId: "",
        httpMethod: "POST",
        nonce: "n-2",
        uriHost: "contoso.com",
        uriPath: "/orders",
      };
      const reply = await client.call("acquireTokenSilently", silentRequest(alice, { popParams }));
      const response = reply.brokerTokenResponse as Json;
      assert.equal(response.accessTokenType, 1);
      const shr = decodeJwt(response.accessToken as string);
      assert.deepEqual([shr.m, shr.u, shr.p, shr.nonce], ["POST", "contoso.com", "/orders", "n-2"]);
      const cnf = shr.cnf as { kid: string; jwk: Json };
      assert.deepEqual(
        decodeJwt(shr.at as string).cnf,
        { kid: cnf.kid },
        "the token is bound to the SHR's key",
      );
      assert.equal(cnf.jwk.kid, cnf.kid);
      const incomplete = await client.call(
        "acquireTokenSilently",
        silentRequest(alice, { popParams: { ...popParams, uriHost: "" } }),
      );
      assert.equal(errorOf(incomplete).status, 0);
    });

    it("signs an HTTP request for PoP", async () => {
      await startBroker();
      const [alice] = await accounts();
      const reply = await client.call("generateSignedHttpRequest", {
        clientId: CLIENT_ID,
        popParams: {
          httpMethod: "GET",
          uriHost: "contoso.com",
          uriPath: "/api",
          nonce: "n-1",
          homeAccountId: alice.homeAccountId,
        },
      });
      const shr = decodeJwt(reply.signedHttpRequest as string);
      assert.deepEqual([shr.m, shr.u, shr.p, shr.nonce], ["GET", "contoso.com", "/api", "n-1"]);
      assert.equal(decodeJwt(shr.at as string).oid, alice.localAccountId);
    });

    it(profile === "2.0.1" ? "is introspectable" : "answers Introspect with an empty node", async () => {
      await startBroker();
      const reply = await client.raw({
        interface: "org.freedesktop.DBus.Introspectable",
        member: "Introspect",
      });
      const xml = reply.body[0] as string;
      if (profile === "2.0.1") {
        assert.match(xml, /<interface name="com\.microsoft\.identity\.Broker1">/);
        assert.match(xml, /<method name="acquireTokenSilently">/);
      } else {
        assert.doesNotMatch(xml, /<interface/);
      }
      await client.raw({ interface: "org.freedesktop.DBus.Peer", member: "Ping" });
      assert.deepEqual(broker.busCalls.map((c) => c.member), ["Introspect", "Ping"]);
      assert.deepEqual(broker.requests, [], "only Broker1 calls are requests");
    });

    it("records each request with its method, arguments and parsed JSON", async () => {
      await startBroker();
      const [alice] = await accounts();
      await client.call("acquireTokenSilently", silentRequest(alice));
      const [listed, silent] = broker.requests;
      assert.equal(listed.method, "getAccounts");
      assert.deepEqual(listed.request, { clientId: CLIENT_ID, redirectUri: CLIENT_ID });
      assert.equal(silent.method, "acquireTokenSilently");
      assert.equal(silent.protocolVersion, "0.0");
      assert.equal(silent.correlationId, "00000000-0000-0000-0000-000000000000");
      assert.deepEqual(silent.request, silentRequest(alice));
      assert.equal(silent.sender, client.uniqueName);
      assert.deepEqual(
        broker.busCalls.map((c) => [c.interface, c.member, c.path]),
        [
          [BROKER.iface, "getAccounts", BROKER.path],
          [BROKER.iface, "acquireTokenSilently", BROKER.path],
        ],
      );
      assert.ok((silent.reply?.brokerTokenResponse as Json).accessToken);
      broker.clearRequests();
      assert.deepEqual(broker.requests, []);
    });

    describe("refuses what a real broker refuses, in the broker's error shape", () => {
      it("malformed JSON: status 0 Invalid requestJson, inside brokerTokenResponse for token calls", async () => {
        await startBroker();
        const silent = await client.call("acquireTokenSilently", "{not json");
        assert.deepEqual(Object.keys(silent).sort(), ["brokerTokenResponse", "telemetry"]);
        assert.equal(errorOf(silent).status, 0);
        assert.equal(errorOf(silent).context, "Invalid requestJson");
        assert.equal(errorOf(silent).tag, 508371229);
        const listed = await client.call("getAccounts", "[]");
        assert.equal((listed.error as Json).status, 0);
      });

      it("missing required fields", async () => {
        await startBroker();
        const [alice] = await accounts();
        const cases: [string, Json][] = [
          ["getAccounts", {}],
          ["getLinuxBrokerVersion", {}],
          ["removeAccount", { clientId: CLIENT_ID }],
          ["acquireTokenSilently", {}],
          ["acquireTokenSilently", silentRequest(alice, { clientId: undefined })],
          ["acquireTokenSilently", silentRequest(alice, { authority: "login.microsoftonline.com" })],
          ["acquireTokenSilently", silentRequest(alice, { redirectUri: "" })],
          ["acquireTokenSilently", silentRequest(alice, { requestedScopes: "User.Read" })],
          ["acquireTokenSilently", silentRequest(alice, { requestedScopes: [] })],
          ["acquireTokenInteractively", interactiveRequest("alice@contoso.com", { authority: 1 })],
          ["acquirePrtSsoCookie", { ...cookieRequest(alice), ssoUrl: undefined }],
          ["generateSignedHttpRequest", { clientId: CLIENT_ID, popParams: { httpMethod: "GET" } }],
        ];
        for (const [method, request] of cases) {
          const reply = await client.call(method, request);
          assert.equal(errorOf(reply).status, 0, `${method} ${JSON.stringify(request)}`);
          assert.match(errorOf(reply).context as string, /Invalid requestJson/);
        }
      });

      it("an account that is not the broker's, or was changed by the client", async () => {
        await startBroker();
        const [alice] = await accounts();
        const unknown = await client.call(
          "acquireTokenSilently",
          silentRequest({ ...alice, homeAccountId: "x.y" }),
        );
        assert.equal(errorOf(unknown).status, 2);
        const { middleName: _dropped, ...trimmed } = alice;
        const changed = await client.call(
          "acquireTokenSilently",
          silentRequest(trimmed as FakeLinuxBrokerAccount),
        );
        assert.equal(errorOf(changed).status, 6);
        assert.match(errorOf(changed).context as string, /middleName/);
      });

      it("a silent call with neither an account nor isSignIn", async () => {
        await startBroker();
        const reply = await client.call("acquireTokenSilently", silentRequest(null, { isSignIn: false }));
        assert.equal(errorOf(reply).status, 6);
      });

      it("a protocol version other than 0.0", async () => {
        await startBroker();
        const reply = await client.call("getAccounts", { clientId: CLIENT_ID }, { protocolVersion: "1.0" });
        assert.equal(errorOf(reply).status, 6);
      });

      it("a wrong signature (D-Bus InvalidArgs) or an unknown method (UnknownMethod)", async () => {
        await startBroker();
        assert.equal(
          await dbusErrorOf(
            client.raw({
              interface: BROKER.iface,
              member: "getAccounts",
              signature: "ss",
              body: ["0.0", ""],
            }),
          ),
          "org.freedesktop.DBus.Error.InvalidArgs",
        );
        assert.equal(
          await dbusErrorOf(
            client.raw({
              interface: BROKER.iface,
              member: "getToken",
              signature: "sss",
              body: ["0.0", "", "{}"],
            }),
          ),
          "org.freedesktop.DBus.Error.UnknownMethod",
        );
      });

      if (profile === "3.0.2") {
        it("authorizationType other than the method's (1 silent; 1, 6 or none interactive; 8 cookie)", async () => {
          await startBroker();
          const [alice] = await accounts();
          for (
            const [method, request] of [
              ["acquireTokenSilently", silentRequest(alice, { authorizationType: 8 })],
              ["acquireTokenSilently", silentRequest(alice, { authorizationType: undefined })],
              [
                "acquireTokenInteractively",
                interactiveRequest("alice@contoso.com", { authorizationType: 8 }),
              ],
              ["acquirePrtSsoCookie", cookieRequest(alice, 1)],
            ] as [string, Json][]
          ) {
            assert.equal(errorOf(await client.call(method, request)).status, 6, method);
          }
          for (const type of [1, undefined]) {
            const reply = await client.call(
              "acquireTokenInteractively",
              interactiveRequest("alice@contoso.com", { authorizationType: type }),
            );
            assert.ok((reply.brokerTokenResponse as Json).accessToken, `interactive with ${type}`);
          }
        });

        it("a cookie request without ssoUrl inside authParameters", async () => {
          await startBroker();
          const [alice] = await accounts();
          const reply = await client.call(
            "acquirePrtSsoCookie",
            cookieRequest(alice, 8, { ssoUrl: undefined }),
          );
          assert.equal(errorOf(reply).status, 0);
        });

        it("offline_access (declined scopes)", async () => {
          await startBroker();
          const [alice] = await accounts();
          const reply = await client.call(
            "acquireTokenSilently",
            silentRequest(alice, { requestedScopes: ["User.Read", "offline_access"] }),
          );
          assert.match(errorOf(reply).context as string, /declined scopes/);
        });
      } else {
        it("nothing about authorizationType (2.0.1 is lax)", async () => {
          await startBroker();
          const [alice] = await accounts();
          const reply = await client.call(
            "acquireTokenSilently",
            silentRequest(alice, { authorizationType: 8 }),
          );
          assert.ok((reply.brokerTokenResponse as Json).accessToken);
        });
      }
    });

    describe("faults on demand", () => {
      for (const status of [2, 7, 3, 0]) {
        it(`a JSON error with status ${status}, in the shape of each method`, async () => {
          await startBroker();
          const [alice] = await accounts();
          broker.fail("acquireTokenSilently", { kind: "error", status });
          const silent = await client.call("acquireTokenSilently", silentRequest(alice));
          const error = errorOf(silent);
          assert.equal(error.status, status);
          assert.equal(typeof error.context, "string");
          assert.equal(typeof error.tag, "number");
          assert.equal(error.errorCode, 0);
          assert.equal(error.subStatus, 0);
          if (profile === "2.0.1") {
            assert.equal((silent.brokerTokenResponse as Json).expiresOn, 0);
          }
          // the fault was used up
          assert.ok(
            ((await client.call("acquireTokenSilently", silentRequest(alice))).brokerTokenResponse as Json)
              .accessToken,
          );
          broker.fail("getAccounts", { kind: "error", status, context: "custom", tag: 42 });
          const listed = await client.call("getAccounts", { clientId: CLIENT_ID });
          assert.deepEqual(
            [(listed.error as Json).status, (listed.error as Json).context, (listed.error as Json).tag],
            [status, "custom", 42],
          );
          assert.equal(listed.brokerTokenResponse, undefined);
        });
      }

      it("empty accounts", async () => {
        await startBroker();
        broker.fail("getAccounts", { kind: "emptyAccounts" });
        assert.deepEqual(await accounts(), []);
        assert.equal((await accounts()).length, 2);
        assert.throws(() => broker.fail("acquireTokenSilently", { kind: "emptyAccounts" }), TypeError);
        for (const times of [0, 1.5, NaN]) {
          assert.throws(() => broker.fail("getAccounts", { kind: "noReply" }, times), RangeError, `${times}`);
        }
      });

      it("a verbatim (malformed) reply", async () => {
        await startBroker();
        broker.fail("*", { kind: "reply", json: "{oops" });
        const reply = await client.raw({
          interface: BROKER.iface,
          member: "getAccounts",
          signature: "sss",
          body: ["0.0", "", "{}"],
        });
        assert.equal(reply.body[0], "{oops");
      });

      it("a delayed answer is the normal answer, at least delayMs later (the deprecated `ms` too)", async () => {
        await startBroker();
        for (const fault of [{ kind: "delay", delayMs: 200 }, { kind: "delay", ms: 200 }] as const) {
          broker.fail("getAccounts", fault);
          const started = performance.now();
          assert.equal((await accounts()).length, 2);
          assert.ok(performance.now() - started >= 190, JSON.stringify(fault));
        }
      });

      it("the UnknownObject start-up race, per call or for the first milliseconds", async () => {
        await startBroker();
        broker.fail("getAccounts", { kind: "unknownObject" }, 2);
        for (let i = 0; i < 2; i++) {
          assert.equal(
            await dbusErrorOf(client.call("getAccounts", { clientId: CLIENT_ID })),
            "org.freedesktop.DBus.Error.UnknownObject",
          );
        }
        assert.equal((await accounts()).length, 2);

        await startBroker({ exportDelayMs: 60_000 });
        assert.deepEqual(await client.daemon("NameHasOwner", "s", [BROKER.name]), [true]);
        assert.equal(
          await dbusErrorOf(client.call("getAccounts", { clientId: CLIENT_ID })),
          "org.freedesktop.DBus.Error.UnknownObject",
        );
      });

      it("disconnect mid-call: the caller gets NoReply, the next call reaches a restarted broker", async () => {
        await startBroker();
        const [alice] = await accounts();
        broker.fail("acquireTokenSilently", { kind: "disconnect" });
        assert.equal(
          await dbusErrorOf(client.call("acquireTokenSilently", silentRequest(alice))),
          "org.freedesktop.DBus.Error.NoReply",
        );
        assert.ok(
          ((await client.call("acquireTokenSilently", silentRequest(alice))).brokerTokenResponse as Json)
            .accessToken,
        );
      });

      it("never reply: the call stays pending until cancelInteractiveFlow answers it with status 7", async () => {
        await startBroker();
        broker.fail("acquireTokenInteractively", { kind: "noReply" });
        const pending = client.call("acquireTokenInteractively", interactiveRequest("alice@contoso.com"));
        let settled = false;
        pending.finally(() => settled = true).catch(() => {});
        await client.call("getAccounts", { clientId: CLIENT_ID }); // a round trip later, still pending
        assert.equal(settled, false);
        await client.call("cancelInteractiveFlow", { Error: { status: 7 } });
        assert.equal(errorOf(await pending).status, 7);
      });

      it("never reply: a pending call ends with NoReply when the broker closes", async () => {
        await startBroker();
        broker.fail("getAccounts", { kind: "noReply" });
        const pending = dbusErrorOf(client.call("getAccounts", { clientId: CLIENT_ID }));
        await client.call("getLinuxBrokerVersion", { msalCppVersion: "1.0" });
        await broker.close();
        assert.equal(await pending, "org.freedesktop.DBus.Error.NoReply");
      });

      it("not installed: after close() the name is gone and calls fail with ServiceUnknown", async () => {
        await startBroker();
        await broker.close();
        assert.deepEqual(await client.daemon("NameHasOwner", "s", [BROKER.name]), [false]);
        assert.equal(
          await dbusErrorOf(client.call("getAccounts", { clientId: CLIENT_ID })),
          "org.freedesktop.DBus.Error.ServiceUnknown",
        );
      });

      if (profile === "3.0.2") {
        it("cancelInteractiveFlow with an empty body knocks the broker off the bus, as 3.0.2 did", async () => {
          await startBroker();
          assert.equal(
            await dbusErrorOf(client.call("cancelInteractiveFlow", "")),
            "org.freedesktop.DBus.Error.NoReply",
          );
        });
      }
    });
  });
}

describe("FakeLinuxBroker without an authority", () => {
  it("signs with a key of its own, issues as login.microsoftonline.com and knows alice by default", async () => {
    const bus = await startPrivateBus();
    const broker = await FakeLinuxBroker.start({ address: bus.address });
    const client = await rawClient(bus.address);
    try {
      assert.equal(broker.profile, "3.0.2");
      const [alice] = broker.accounts;
      assert.equal(alice.username, "alice@contoso.com");
      const reply = await client.call("acquireTokenSilently", silentRequest(alice));
      const claims = decodeJwt((reply.brokerTokenResponse as Json).accessToken as string);
      assert.equal(claims.iss, `https://login.microsoftonline.com/${alice.realm}/v2.0`);
    } finally {
      client.close();
      await broker.close();
      await bus.stop();
    }
  });

  it("refuses a second broker on the same bus", async () => {
    const bus = await startPrivateBus();
    const broker = await FakeLinuxBroker.start({ address: bus.address });
    try {
      await assert.rejects(FakeLinuxBroker.start({ address: bus.address }), /already owned/);
    } finally {
      await broker.close();
      await bus.stop();
    }
  });
});

/** Waits until `condition` holds; the killed daemons are reaped asynchronously. Fails after 30 s. */
async function until(condition: () => boolean): Promise<void> {
  for (let waited = 0; !condition(); waited += 50) {
    if (waited > 30_000) assert.fail("the daemons are still running");
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Verifies an RS256 JWT against the fake authority's published keys. */
async function verifiedBy(idp: FakeAuthority, jwt: string): Promise<void> {
  const jwks = await (await fetch(`${idp.url}/common/discovery/v2.0/keys`)).json() as { keys: JsonWebKey[] };
  const key = await crypto.subtle.importKey(
    "jwk",
    jwks.keys[0],
    { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" },
    false,
    ["verify"],
  );
  const [header, payload, signature] = jwt.split(".");
  const bytes = Uint8Array.from(
    atob(signature.replace(/-/g, "+").replace(/_/g, "/")),
    (c) => c.charCodeAt(0),
  );
  const ok = await crypto.subtle.verify(
    "RSASSA-PKCS1-v1_5",
    key,
    bytes,
    new TextEncoder().encode(`${header}.${payload}`),
  );
  assert.ok(ok, "the token's signature does not verify with the authority's JWKS");
}
