// LinuxBrokerClient (the ./linux-broker entry) without PublicClientApplication: every broker method,
// against the test kit's FakeLinuxBroker on a private bus, for both broker generations; D-Bus
// activation, deadlines and the caller's abort.
import { after, afterEach, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  AbortError,
  BrokerUnavailableError,
  type LinuxBrokerAccount,
  LinuxBrokerClient,
  NATIVE_CLIENT_REDIRECT_URI,
} from "../linux_broker.ts";
import {
  FakeLinuxBroker,
  type FakeLinuxBrokerProfile,
  linuxBrokerService,
  type PrivateBus,
  startPrivateBus,
} from "../testing/mod.ts";
import { CLIENT_ID } from "./_helpers.ts";

const ALICE = "alice@contoso.com";

function claims(jwt: string): Record<string, unknown> {
  const [, payload] = jwt.split(".");
  return JSON.parse(atob(payload.replace(/-/g, "+").replace(/_/g, "/")));
}

for (const profile of ["2.0.1", "3.0.2"] as FakeLinuxBrokerProfile[]) {
  describe(`LinuxBrokerClient with a ${profile} broker`, () => {
    let bus: PrivateBus;
    let broker: FakeLinuxBroker;
    let client: LinuxBrokerClient;
    let account: LinuxBrokerAccount;

    before(async () => {
      bus = await startPrivateBus();
      broker = await FakeLinuxBroker.start({
        address: bus.address,
        profile,
        accounts: [{ username: ALICE }],
      });
      client = await LinuxBrokerClient.connect({ address: bus.address });
      const accounts = await client.getAccounts({ clientId: CLIENT_ID });
      assert.ok(Array.isArray(accounts), JSON.stringify(accounts));
      account = accounts[0];
    });
    after(async () => {
      await client.close();
      await broker.close();
      await bus.stop();
    });
    afterEach(() => broker.clearRequests());

    it("getLinuxBrokerVersion and getAccounts", async () => {
      assert.deepEqual(await client.getLinuxBrokerVersion(), { ok: true, version: profile });
      assert.deepEqual(await client.getAccounts({ clientId: CLIENT_ID }), broker.accounts);
      assert.equal(typeof broker.requestsTo("getLinuxBrokerVersion")[0].request?.msalCppVersion, "string");
    });

    it("acquireTokenSilently: for the account, and without one (the default account)", async () => {
      const before = Date.now();
      const token = await client.acquireTokenSilently({
        clientId: CLIENT_ID,
        account,
        scopes: ["User.Read"],
      });
      assert.ok(token.ok, JSON.stringify(token));
      assert.equal(token.tokenType, "Bearer");
      assert.ok(token.expiresOn > before + 3_000_000, "expiresOn is in epoch milliseconds");
      assert.equal(claims(token.idToken!).preferred_username, ALICE);
      assert.equal(token.account?.username, profile === "2.0.1" ? ALICE : undefined);
      const signIn = await client.acquireTokenSilently({ clientId: CLIENT_ID, scopes: ["User.Read"] });
      assert.ok(signIn.ok, JSON.stringify(signIn));
      const [withAccount, withoutAccount] = broker.requestsTo("acquireTokenSilently")
        .map((r) => r.request?.authParameters as Record<string, unknown>);
      assert.deepEqual(withAccount.account, account);
      assert.equal(withoutAccount.isSignIn, true);
      assert.equal(withoutAccount.redirectUri, NATIVE_CLIENT_REDIRECT_URI);
    });

    it("acquireTokenInteractively with a login hint and a window", async () => {
      const token = await client.acquireTokenInteractively({
        clientId: CLIENT_ID,
        scopes: ["User.Read"],
        loginHint: ALICE,
        parentWindowHandle: 0x3a00007,
      });
      assert.ok(token.ok, JSON.stringify(token));
      const [call] = broker.requestsTo("acquireTokenInteractively");
      assert.equal(call.request?.parentWindowHandle, 0x3a00007);
      const params = call.request?.authParameters as Record<string, unknown>;
      assert.equal(params.authorizationType, 6);
      assert.deepEqual(params.parentWindow, { handle: 0x3a00007 });
      assert.equal(params.username, ALICE);
    });

    it("acquirePrtSsoCookie: the cookie for a web view, flat or in cookieItems", async () => {
      const cookie = await client.acquirePrtSsoCookie({
        clientId: CLIENT_ID,
        account,
        ssoUrl: "https://login.microsoftonline.com/?sso_nonce=AwABAAEAAAACAOz_BAD0",
      });
      assert.ok(cookie.ok, JSON.stringify(cookie));
      assert.equal(cookie.cookieName, "x-ms-RefreshTokenCredential");
      assert.equal(cookie.cookieContent.split(".").length, 3);
      const [call] = broker.requestsTo("acquirePrtSsoCookie");
      const request = call.request!;
      assert.equal(request.ssoUrl, "https://login.microsoftonline.com/?sso_nonce=AwABAAEAAAACAOz_BAD0");
      assert.deepEqual(request.account, account);
      const params = request.authParameters as Record<string, unknown>;
      assert.equal(params.authorizationType, 8);
      assert.equal(params.ssoUrl, request.ssoUrl);
      assert.deepEqual(params.account, account);
    });

    it("generateSignedHttpRequest: a Signed HTTP Request for the account", async () => {
      const signed = await client.generateSignedHttpRequest({
        clientId: CLIENT_ID,
        account,
        pop: { httpMethod: "POST", uriHost: "api.contoso.com", uriPath: "/orders", nonce: "n0nce" },
      });
      assert.ok(signed.ok, JSON.stringify(signed));
      assert.equal(signed.signedHttpRequest.split(".").length, 3);
      const popParams = broker.requestsTo("generateSignedHttpRequest")[0].request?.popParams as Record<
        string,
        unknown
      >;
      assert.equal(popParams.homeAccountId, account.homeAccountId);
      assert.equal(popParams.uriHost, "api.contoso.com");
    });

    it("broker errors are values, classified, with the broker's status, tag and context", async () => {
      broker.fail("acquireTokenSilently", {
        kind: "error",
        status: 2,
        context: "AADSTS50076",
        tag: 595719680,
      });
      const error = await client.acquireTokenSilently({
        clientId: CLIENT_ID,
        account,
        scopes: ["User.Read"],
      });
      assert.ok(!error.ok);
      assert.equal(error.kind, "interaction_required");
      assert.equal(error.status, "InteractionRequired");
      assert.equal(error.statusCode, 2);
      assert.equal(error.tag, 595719680);
      assert.equal(error.context, "AADSTS50076");
      broker.fail("getAccounts", { kind: "reply", json: '{"accounts": "none"}' });
      const malformed = await client.getAccounts({ clientId: CLIENT_ID });
      assert.ok(!Array.isArray(malformed) && malformed.status === "MalformedReply");
    });

    it("a deadline gives a Timeout error; the caller's abort rejects with AbortError", async () => {
      broker.fail("getLinuxBrokerVersion", { kind: "noReply" });
      const timedOut = await client.getLinuxBrokerVersion({ timeoutMs: 200 });
      assert.ok(!timedOut.ok);
      assert.equal(timedOut.status, "Timeout");
      const controller = new AbortController();
      const pending = client.getLinuxBrokerVersion({ signal: controller.signal });
      controller.abort();
      await assert.rejects(pending, AbortError);
    });

    it("closed, it reconnects; one caller's abort while reconnecting stops only that caller", async () => {
      await client.close();
      const controller = new AbortController();
      const aborted = client.getLinuxBrokerVersion({ signal: controller.signal });
      const other = client.getLinuxBrokerVersion();
      controller.abort();
      await assert.rejects(aborted, AbortError);
      assert.deepEqual(await other, { ok: true, version: profile });
    });

    it("removeAccount, and the account is gone", async () => {
      assert.equal(await client.removeAccount({ clientId: CLIENT_ID, account }), undefined);
      assert.deepEqual(await client.getAccounts({ clientId: CLIENT_ID }), []);
      assert.deepEqual(broker.requestsTo("removeAccount")[0].request, { clientId: CLIENT_ID, account });
    });
  });
}

describe("LinuxBrokerClient.connect: is the broker there?", () => {
  const work = mkdtempSync(join(tmpdir(), "authbroker-activation-"));
  after(() => rmSync(work, { recursive: true, force: true }));

  it("under Deno: the permissions it lacks are named, never prompted for; the measured set suffices", {
    timeout: 60_000,
  }, async () => {
    const bus = await startPrivateBus();
    const broker = await FakeLinuxBroker.start({ address: bus.address });
    try {
      const socket = /path=([^,]+)/.exec(bus.address)![1];
      // Asynchronously: the fake broker answers from this process.
      const deno = async (...flags: string[]) => {
        const { stdout } = await promisify(execFile)(
          fileURLToPath(new URL("../node_modules/.bin/deno", import.meta.url)),
          [
            "run",
            ...flags,
            fileURLToPath(new URL("./fixtures/linux_client_connect.ts", import.meta.url)),
            bus.address,
          ],
          { encoding: "utf8", env: { ...process.env, NO_COLOR: "1" } },
        );
        return JSON.parse(stdout);
      };
      assert.deepEqual(await deno("--allow-env"), {
        connected: false,
        name: "BrokerUnavailableError",
        message: `Deno needs --allow-sys=uid --allow-read=${socket} --allow-write=${socket} ` +
          `--allow-net=unix:${socket} to use the D-Bus session bus`,
      });
      const measured = await deno(
        "--allow-sys=uid",
        `--allow-read=${socket}`,
        `--allow-write=${socket}`,
        `--allow-net=unix:${socket}`,
      );
      assert.deepEqual(measured, { connected: true, version: { ok: true, version: "3.0.2" } });
    } finally {
      await broker.close();
      await bus.stop();
    }
  });

  it("not installed: neither owned nor activatable", async () => {
    const bus = await startPrivateBus();
    try {
      await assert.rejects(LinuxBrokerClient.connect({ address: bus.address }), (error: unknown) => {
        assert.ok(error instanceof BrokerUnavailableError);
        assert.match(
          error.message,
          /not installed: com\.microsoft\.identity\.broker1 is neither running nor activatable/,
        );
        return true;
      });
    } finally {
      await bus.stop();
    }
  });

  it("installed but not running: D-Bus starts it on the first call, through its start-up race", {
    timeout: 60_000,
  }, async () => {
    const log = join(work, "calls.jsonl");
    const bus = await startPrivateBus({
      services: [linuxBrokerService({ profile: "2.0.1", exportDelayMs: 300, requestLog: log })],
    });
    const client = await LinuxBrokerClient.connect({ address: bus.address });
    try {
      const accounts = await client.getAccounts({ clientId: CLIENT_ID });
      assert.ok(Array.isArray(accounts) && accounts.length === 1, JSON.stringify(accounts));
      const calls = readFileSync(log, "utf8").trim().split("\n").map((line) => JSON.parse(line));
      assert.deepEqual(calls.map((call) => call.method), ["getAccounts"]);
    } finally {
      await client.close();
      await bus.stop();
    }
  });
});
