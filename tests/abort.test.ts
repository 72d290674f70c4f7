import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { onAbort, SharedWork, sleep } from "../core/abort.ts";
import { AbortError, type PublicClientApplication } from "../mod.ts";
import type { Account } from "../mod.ts";
import { FakeAuthority } from "../testing/mod.ts";
import { commandFor, newApp, ROOT, runToEnd, signInWithDeviceCode } from "./_helpers.ts";

const USER = { username: "alice@contoso.com", password: "password" };

describe("SharedWork", () => {
  it("a caller arriving in the tick every earlier caller left starts a fresh attempt", async () => {
    const work = new SharedWork<string>();
    const signals: AbortSignal[] = [];
    let runs = 0;
    const task = (signal: AbortSignal) => {
      signals.push(signal);
      const run = ++runs;
      return sleep(50, signal).then(() => `run ${run}`);
    };
    const leaving = new AbortController();
    const first = work.run("k", task, leaving.signal);
    leaving.abort();
    const second = work.run("k", task);
    await assert.rejects(first, AbortError);
    assert.equal(await second, "run 2");
    assert.equal(signals[0].aborted, true, "the abandoned attempt was cancelled");
    assert.equal(signals[1].aborted, false);
  });

  it("a caller whose signal has already aborted neither joins nor starts an attempt", async () => {
    const work = new SharedWork<string>();
    let runs = 0;
    await assert.rejects(
      work.run("k", () => Promise.resolve(`run ${++runs}`), AbortSignal.abort()),
      AbortError,
    );
    assert.equal(runs, 0);
  });

  it("one listener per signal, however many waits share it", async () => {
    const controller = new AbortController();
    const added: string[] = [];
    const signal = controller.signal;
    const original = signal.addEventListener.bind(signal);
    signal.addEventListener = ((type: string, ...rest: [EventListener, AddEventListenerOptions]) => {
      added.push(type);
      original(type, ...rest);
    }) as typeof signal.addEventListener;
    const work = new SharedWork<number>();
    const waits = [
      ...Array.from({ length: 30 }, () => work.run("k", (s) => sleep(1_000, s).then(() => 1), signal)),
      ...Array.from({ length: 30 }, () => sleep(1_000, signal)),
    ];
    assert.equal(added.length, 1);
    let fired = 0;
    onAbort(signal, () => fired++);
    controller.abort();
    for (const wait of waits) await assert.rejects(wait, AbortError);
    assert.equal(fired, 1);
  });
});

describe("callers sharing a silent refresh", () => {
  let idp: FakeAuthority;
  let app: PublicClientApplication;
  let account: Account;
  before(async () => {
    // Access tokens live 60 s, inside MSAL's five-minute margin: every silent call refreshes.
    idp = await FakeAuthority.start({ users: [USER], deviceCodeInterval: 0, accessTokenLifetime: 60 });
    // Refreshes are answered 300 ms late; the delay is on the way there, so an aborted one never arrives
    // (the fake authority would otherwise rotate the refresh token for a request nobody reads).
    const slowRefresh: typeof fetch = async (input, init) => {
      if (String(init?.body ?? "").includes("grant_type=refresh_token")) {
        await sleep(300, init?.signal ?? undefined);
      }
      return await idp.fetch(input, init);
    };
    app = newApp(idp, {
      fetch: slowRefresh,
    });
    await signInWithDeviceCode(idp, app, USER.username);
    [account] = await app.getAccounts();
  });
  after(() => idp.close());

  it("a caller without a signal never gets the AbortError of a caller who left", async () => {
    const controller = new AbortController();
    const a = app.acquireTokenSilent(["User.Read"], { account, signal: controller.signal });
    await new Promise((resolve) => setTimeout(resolve, 50));
    controller.abort();
    const b = app.acquireTokenSilent(["User.Read"], { account });
    await assert.rejects(a, AbortError);
    const result = await b;
    assert.ok(result && "access_token" in result, JSON.stringify(result));
    assert.equal(result.token_source, "identity_provider");
  });

  it("Node prints nothing when 50 calls share one AbortSignal", { timeout: 90_000 }, async () => {
    const [command, args] = commandFor("node", "fixtures/shared_signal.ts");
    const { code, stdout, stderr } = await runToEnd(command, args, { cwd: ROOT });
    assert.equal(stderr, "");
    assert.equal(code, 0);
    assert.equal(stdout, "done\n");
  });
});

describe("a signal stops the wait for the authority's discovery", () => {
  const REDIRECT_URI = "http://localhost:8400/callback";
  let slow: FakeAuthority;
  before(async () => {
    slow = await FakeAuthority.start({ users: [USER] });
  });
  after(() => slow.close());

  for (
    const [method, start] of [
      [
        "initiateAuthCodeFlow",
        (app, signal) => app.initiateAuthCodeFlow(["User.Read"], { redirectUri: REDIRECT_URI, signal }),
      ],
      [
        "getAuthorizationRequestUrl",
        (app, signal) => app.getAuthorizationRequestUrl(["User.Read"], { redirectUri: REDIRECT_URI, signal }),
      ],
    ] as const satisfies readonly [
      string,
      (app: PublicClientApplication, signal: AbortSignal) => Promise<unknown>,
    ][]
  ) {
    it(`${method}: AbortError while the metadata is still loading; discovery goes on for later calls`, async () => {
      slow.clearRequests();
      slow.fail("openid_configuration", { delayMs: 500 });
      const app = newApp(slow);
      const controller = new AbortController();
      const started = start(app, controller.signal);
      setTimeout(() => controller.abort(), 20);
      await assert.rejects(started, AbortError);
      const url = await app.getAuthorizationRequestUrl(["User.Read"], { redirectUri: REDIRECT_URI });
      assert.equal(new URL(url).searchParams.get("redirect_uri"), REDIRECT_URI);
      // The later call waited for the discovery the aborted one started, rather than starting another.
      assert.equal(slow.requestsTo("openid_configuration").length, 1);
    });
  }
});
