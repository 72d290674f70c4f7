// Conformance: Microsoft's own MSAL runtime (@azure/msal-node-runtime, MSAL C++) accepts the fake Linux
// broker, and the requests it sends are the ones the spec recorded (linux-broker-dbus spec §11).
// The runtime runs in a child process of the current runtime (Node, Bun or Deno: the addon loads in all
// three), pointed at a private bus with gnome-keyring's Secret Service, where it keeps its accounts.

import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import process from "node:process";
import { fileURLToPath } from "node:url";
import {
  FakeAuthority,
  FakeLinuxBroker,
  type FakeLinuxBrokerAccount,
  type FakeLinuxBrokerRequest,
  startPrivateBus,
} from "../testing/mod.ts";
import { BROKER_ACCOUNT_FIELDS } from "./_dbus_client.ts";
import { CLIENT_ID } from "./_helpers.ts";

type Json = Record<string, unknown>;

const CORRELATION_ID = "00000000-0000-0000-0000-000000000000";
const NATIVE_CLIENT = "https://login.microsoftonline.com/common/oauth2/nativeclient";
// Child processes and daemons: generous, for a loaded machine (Bun's default is 5 s).
const SLOW = { timeout: 120_000 };
const PROBE = fileURLToPath(new URL("./fixtures/msal_runtime_probe.cjs", import.meta.url));

interface Step extends Json {
  step: string;
  error?: Json;
}

/** Runs the probe under the current runtime with `env`; resolves with its steps by name. */
async function runProbe(env: Record<string, string>, username = ""): Promise<Map<string, Step>> {
  const args = "Deno" in globalThis ? ["run", "-A", PROBE] : [PROBE];
  const child = spawn(
    process.execPath,
    [...args, CLIENT_ID, "https://login.microsoftonline.com/common", "User.Read", CORRELATION_ID, username],
    { env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] },
  );
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (chunk) => stdout += chunk);
  child.stderr.on("data", (chunk) => stderr += chunk);
  const code = await new Promise<number | null>((resolve) => child.on("close", resolve));
  assert.equal(code, 0, `the probe failed: ${stderr}`);
  const steps = stdout.trim().split("\n").filter(Boolean).map((line) => JSON.parse(line) as Step);
  return new Map(steps.map((s) => [s.step, s]));
}

function succeeded(steps: Map<string, Step>, name: string): Step {
  const step = steps.get(name);
  assert.ok(step, `no ${name} step; got ${JSON.stringify([...steps.values()])}`);
  assert.equal(step.error, undefined, `${name} failed: ${JSON.stringify(step.error)}`);
  return step;
}

function decodeJwt(jwt: string): Json {
  const payload = jwt.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
  return JSON.parse(atob(payload)) as Json;
}

function authParametersOf(record: FakeLinuxBrokerRequest): Json {
  return record.request?.authParameters as Json;
}

/** Fields every token request of the runtime carries, with their §11 values. */
function assertCommonAuthParameters(params: Json): void {
  assert.equal(params.accessTokenToRenew, "");
  assert.equal(params.clientId, CLIENT_ID);
  assert.equal(params.decodedClaims, "");
  assert.equal(params.enrollmentId, "");
  assert.equal(params.isTestMode, false);
  assert.equal(params.password, "");
  assert.equal(params.popParams, null);
  assert.equal(params.redirectUri, NATIVE_CLIENT);
  assert.deepEqual(params.requestedScopes, ["User.Read"]);
  assert.equal(params.uxContextHandle, -1);
  assert.match(
    (params.additionalQueryParametersForAuthorization as Json)["x-client-xtra-sku"] as string,
    /\d+\.\d+\.\d+/,
  );
}

function assertSentBack(sent: unknown, account: FakeLinuxBrokerAccount): void {
  const json = sent as Json;
  assert.deepEqual(Object.keys(json).sort(), BROKER_ACCOUNT_FIELDS);
  for (const field of BROKER_ACCOUNT_FIELDS) {
    if (field === "environment" || field === "homeEnvironment") continue; // normalised by the runtime
    assert.equal(json[field], account[field as keyof FakeLinuxBrokerAccount], field);
  }
}

for (const profile of ["3.0.2", "2.0.1"] as const) {
  describe(`Microsoft's MSAL runtime against the fake broker, profile ${profile}`, () => {
    it("discovers its accounts, gets its tokens, and sends the requests §11 recorded", SLOW, async () => {
      const bus = await startPrivateBus({ secretService: true });
      const idp = await FakeAuthority.start({
        users: [
          { username: "alice@contoso.com", password: "pw", name: "Alice Smith" },
          { username: "bob@contoso.com", password: "pw", name: "Bob Jones" },
        ],
      });
      const broker = await FakeLinuxBroker.start({ address: bus.address, profile, authority: idp });
      try {
        const steps = await runProbe(bus.env, "bob@contoso.com");
        assert.equal(steps.get("startup")?.error, undefined, "the MSAL runtime did not start");
        const [alice, bob] = broker.accounts;

        // DiscoverAccountsAsync lists the fake's accounts.
        const discovered = succeeded(steps, "discover").accounts as Json[];
        assert.deepEqual(discovered.map((a) => a.username).sort(), [alice.username, bob.username]);
        const bobSeen = discovered.find((a) => a.username === bob.username)!;
        assert.equal(bobSeen.homeAccountId, bob.homeAccountId);
        assert.equal(bobSeen.realm, bob.realm);
        assert.equal(bobSeen.localAccountId, bob.localAccountId);
        assert.equal(bobSeen.displayName, bob.name);
        assert.equal(bobSeen.clientInfo, bob.clientInfo);

        // AcquireTokenSilentlyAsync returns the fake's token for that account.
        const silent = succeeded(steps, "acquireTokenSilently");
        const silentCalls = broker.requestsTo("acquireTokenSilently");
        const served = silentCalls.map((r) =>
          (r.reply?.brokerTokenResponse as Json | undefined)?.accessToken
        );
        assert.ok(served.includes(silent.accessToken), "the runtime's token is not one the fake issued");
        assert.equal(silent.grantedScopes, "User.Read");
        assert.equal((silent.account as Json).username, bob.username);
        const expiresOnMs = (silentCalls.at(-2)!.reply!.brokerTokenResponse as Json).expiresOn as number;
        assert.equal(silent.expiresOn, Math.floor(expiresOnMs / 1000), "the runtime reports epoch seconds");

        // PoP: the fake's signed HTTP request becomes the runtime's "pop" Authorization header.
        const pop = succeeded(steps, "pop");
        assert.equal(pop.isPopAuthorization, true);
        const [scheme, shr] = (pop.authorizationHeader as string).split(" ");
        assert.equal(scheme.toLowerCase(), "pop");
        const shrClaims = decodeJwt(shr);
        assert.deepEqual([shrClaims.m, shrClaims.u, shrClaims.p, shrClaims.nonce], [
          "GET",
          "contoso.com",
          "/api",
          "nonce-1",
        ]);
        const popParams = authParametersOf(silentCalls.at(-1)!);
        assert.deepEqual(popParams.popParams, {
          clientClaims: "",
          homeAccountId: "",
          httpMethod: "GET",
          nonce: "nonce-1",
          uriHost: "contoso.com",
          uriPath: "/api",
        });
        assert.deepEqual(JSON.parse(popParams.decodedClaims as string), {
          access_token: { xms_cc: { values: ["cp1"] } },
        });

        // Sign-in silently (the OS default account), interactive sign-in and interactive with an account.
        assert.equal((succeeded(steps, "signInSilently").account as Json).username, alice.username);
        succeeded(steps, "signInInteractively");
        succeeded(steps, "acquireTokenInteractively");
        succeeded(steps, "signOutSilently");

        // It pings the broker object first, and never introspects.
        const busCalls = broker.busCalls.map((c) => `${c.interface}.${c.member}`);
        assert.equal(busCalls[0], "org.freedesktop.DBus.Peer.Ping");
        assert.ok(!busCalls.includes("org.freedesktop.DBus.Introspectable.Introspect"));

        // Every call: protocol version "0.0" and the caller's correlation id; no call the fake refused.
        for (const record of broker.requests) {
          assert.equal(record.protocolVersion, "0.0");
          assert.equal(record.correlationId, CORRELATION_ID);
          const reply = record.reply ?? {};
          assert.equal(reply.error ?? (reply.brokerTokenResponse as Json | undefined)?.error, undefined);
        }

        // getAccounts: {clientId, redirectUri} with the client id as redirectUri.
        for (const record of broker.requestsTo("getAccounts")) {
          assert.deepEqual(record.request, { clientId: CLIENT_ID, redirectUri: CLIENT_ID });
        }

        // SignInSilently with no account known: isSignIn, account null, no username.
        const signInSilently = authParametersOf(silentCalls[0]);
        assertCommonAuthParameters(signInSilently);
        assert.equal(signInSilently.authorizationType, 1);
        assert.equal(signInSilently.isSignIn, true);
        assert.equal(signInSilently.account, null);
        assert.equal(signInSilently.username, "");
        assert.equal(signInSilently.authority, "https://login.microsoftonline.com/common");

        // AcquireTokenSilently with an account: the full account back, its username, its tenant.
        const withAccount = authParametersOf(silentCalls.at(-2)!);
        assertCommonAuthParameters(withAccount);
        assert.equal(withAccount.authorizationType, 1);
        assert.equal(withAccount.isSignIn, undefined);
        assertSentBack(withAccount.account, bob);
        assert.equal(withAccount.username, bob.username);
        assert.equal(withAccount.authority, `https://login.microsoftonline.com/${bob.realm}`);

        // SignInInteractively: parentWindowHandle beside authParameters, authorizationType 6, isSignIn,
        // account null, parentWindow, an onboardingBlob.
        const [signIn, interactive] = broker.requestsTo("acquireTokenInteractively");
        assert.equal(signIn.request?.parentWindowHandle, 1);
        const signInParams = authParametersOf(signIn);
        assertCommonAuthParameters(signInParams);
        assert.equal(signInParams.authorizationType, 6);
        assert.equal(signInParams.isSignIn, true);
        assert.equal(signInParams.account, null);
        assert.deepEqual(signInParams.parentWindow, { handle: 1 });
        assert.equal(JSON.parse(signInParams.onboardingBlob as string).onboarding_mode, "brokered");

        // AcquireTokenInteractively with an account: the full account, hsu=1, the account's tenant.
        const interactiveParams = authParametersOf(interactive);
        assertCommonAuthParameters(interactiveParams);
        assert.equal(interactive.request?.parentWindowHandle, 1);
        assert.equal(interactiveParams.authorizationType, 6);
        assertSentBack(interactiveParams.account, bob);
        assert.equal(interactiveParams.username, bob.username);
        assert.equal((interactiveParams.additionalQueryParametersForAuthorization as Json).hsu, "1");
        assert.equal(interactiveParams.authority, `https://login.microsoftonline.com/${bob.realm}`);

        // SignOutSilently forgets the account locally: no removeAccount call.
        assert.deepEqual(broker.requestsTo("removeAccount"), []);
      } finally {
        await broker.close();
        await idp.close();
        await bus.stop();
      }
    });
  });
}

describe("Microsoft's MSAL runtime without a Secret Service", () => {
  it(
    "drops every account the broker lists: startPrivateBus({ secretService: true }) is needed",
    SLOW,
    async () => {
      const bus = await startPrivateBus();
      const broker = await FakeLinuxBroker.start({ address: bus.address });
      try {
        const steps = await runProbe(bus.env);
        assert.deepEqual(succeeded(steps, "discover").accounts, []);
        assert.equal((broker.requestsTo("getAccounts").at(-1)?.reply?.accounts as Json[]).length, 1);
      } finally {
        await broker.close();
        await bus.stop();
      }
    },
  );
});

describe("Microsoft's MSAL runtime against a failing fake broker", () => {
  it(
    "maps the fake's status 2 to InteractionRequired, and its empty account list to no accounts",
    SLOW,
    async () => {
      const bus = await startPrivateBus({ secretService: true });
      const broker = await FakeLinuxBroker.start({ address: bus.address });
      try {
        broker.fail("acquireTokenSilently", { kind: "error", status: 2 }, Infinity);
        broker.fail("getAccounts", { kind: "emptyAccounts" }, Infinity);
        const steps = await runProbe(bus.env);
        assert.equal((steps.get("signInSilently")?.error as Json | undefined)?.errorStatus, 2);
        assert.deepEqual(succeeded(steps, "discover").accounts, []);
      } finally {
        await broker.close();
        await bus.stop();
      }
    },
  );
});
