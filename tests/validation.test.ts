import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { type PublicClientApplication, TokenCache } from "../mod.ts";
import type { TokenResult } from "../mod.ts";
import { CONSOLE_WINDOW_HANDLE } from "../broker.ts";
import { FakeAuthority, FakeBroker, fakeBrokerAccount } from "../testing/mod.ts";
import { assertError, assertToken, newApp, signInWithDeviceCode } from "./_helpers.ts";

const USER = { username: "alice@contoso.com", password: "password" };

let idp: FakeAuthority;
before(async () => {
  idp = await FakeAuthority.start({ users: [USER], deviceCodeInterval: 0 });
});
after(() => idp.close());

async function signedIn(): Promise<{ app: PublicClientApplication; cache: TokenCache; result: TokenResult }> {
  const cache = new TokenCache();
  const app = newApp(idp, { tokenCache: cache });
  const result = await signInWithDeviceCode(idp, app, USER.username);
  return { app, cache, result };
}

describe("token responses are checked field by field", () => {
  /** Redeems a refresh token answered by `body`; returns the result and whether the cache changed. */
  async function redeemAnswered(body: string) {
    const { app, cache, result } = await signedIn();
    const before = cache.serialize();
    idp.fail("token", { rawBody: body });
    const answer = await app.acquireTokenByRefreshToken(result.refresh_token!, ["User.Read"]);
    return { answer, unchanged: cache.serialize() === before };
  }

  const refused: [string, string][] = [
    ['expires_in "abc"', '{"access_token":"a","token_type":"Bearer","expires_in":"abc"}'],
    ["expires_in {}", '{"access_token":"a","token_type":"Bearer","expires_in":{}}'],
    ["a negative expires_in", '{"access_token":"a","token_type":"Bearer","expires_in":-5}'],
    ["expires_in 1e400", '{"access_token":"a","token_type":"Bearer","expires_in":1e400}'],
    ['expires_on "1e400"', '{"access_token":"a","token_type":"Bearer","expires_on":"1e400"}'],
    ['token_type "mac"', '{"access_token":"a","token_type":"mac","expires_in":3600}'],
    ["token_type as an object", '{"access_token":"a","token_type":{"evil":1},"expires_in":3600}'],
    ["a refresh_token that is not a string", '{"access_token":"a","expires_in":3600,"refresh_token":7}'],
    ["an empty access_token", '{"access_token":"","expires_in":3600}'],
  ];
  for (const [what, body] of refused) {
    it(`${what} is an invalid_response, and nothing is cached`, async () => {
      const { answer, unchanged } = await redeemAnswered(body);
      assertError(answer, "invalid_response");
      assert.ok(unchanged, "the cache is as it was");
    });
  }

  it("a missing expires_in is MSAL's 600 s, in the result and the cache alike", async () => {
    const { answer } = await redeemAnswered('{"access_token":"no-expiry","token_type":"Bearer"}');
    const token = assertToken(answer);
    assert.equal(token.expires_in, 600);
    assert.equal(token.token_type, "Bearer");
  });

  it("numbers sent as strings (Entra v1) are read as numbers; bearer in any case is Bearer", async () => {
    const { answer } = await redeemAnswered(
      '{"access_token":"s","token_type":"bearer","expires_in":"3599","ext_expires_in":"7200","refresh_in":"1800"}',
    );
    const token = assertToken(answer);
    assert.equal(token.expires_in, 3599);
    assert.equal(token.ext_expires_in, 7200);
    assert.equal(token.token_type, "Bearer");
    assert.equal(typeof token.refresh_on, "number");
  });

  it("unknown fields are not copied into the result", async () => {
    const { answer } = await redeemAnswered(
      '{"access_token":"u","token_type":"Bearer","expires_in":3600,"evil":"<script>","session_key":"k"}',
    );
    const token = assertToken(answer) as unknown as Record<string, unknown>;
    assert.equal(token.evil, undefined);
    assert.equal(token.session_key, undefined);
    assert.deepEqual(
      Object.keys(token).sort(),
      ["access_token", "expires_in", "token_source", "token_type"],
    );
  });
});

describe("a cache file's bad values never reach the app", () => {
  function edit(
    cache: TokenCache,
    change: (blob: Record<string, Record<string, Record<string, unknown>>>) => void,
  ) {
    const blob = JSON.parse(cache.serialize());
    change(blob);
    const next = new TokenCache();
    next.deserialize(JSON.stringify(blob));
    return next;
  }

  it("an access token expiring at 1e400 is not served with expires_in Infinity", async () => {
    const { cache } = await signedIn();
    const next = edit(cache, (blob) => {
      for (const at of Object.values(blob.AccessToken)) at.expires_on = "1e400";
    });
    const app = newApp(idp, { tokenCache: next });
    const [account] = await app.getAccounts();
    const token = assertToken(await app.acquireTokenSilent(["User.Read"], { account }));
    assert.ok(Number.isFinite(token.expires_in) && token.expires_in > 0, String(token.expires_in));
    assert.equal(token.token_source, "identity_provider", "refreshed, not served from the bad entry");
  });

  it("an access token whose token_type is an object is never returned", async () => {
    const { cache } = await signedIn();
    const next = edit(cache, (blob) => {
      for (const at of Object.values(blob.AccessToken)) at.token_type = { evil: 1 };
    });
    const app = newApp(idp, { tokenCache: next });
    const [account] = await app.getAccounts();
    const token = assertToken(await app.acquireTokenSilent(["User.Read"], { account }));
    assert.equal(token.token_type, "Bearer");
  });

  it("an account whose username is 123 does not break getAccounts, and the others are listed", async () => {
    const { cache } = await signedIn();
    const next = edit(cache, (blob) => {
      const [key, account] = Object.entries(blob.Account)[0];
      blob.Account[`${key}-other`] = { ...account, home_account_id: "other.home", username: 123 };
    });
    const app = newApp(idp, { tokenCache: next });
    assert.deepEqual(await app.getAccounts({ username: "x" }), []);
    const listed = await app.getAccounts();
    assert.deepEqual(listed.map((a) => a.username), [USER.username]);
    assert.ok(next.serialize().includes('"username":123'), "the bad entry is written back for its owner");
  });
});

describe("a broker's answers are checked field by field", () => {
  const alice = fakeBrokerAccount({ username: USER.username, id: "broker-alice" });

  function brokerApp(): { app: PublicClientApplication; broker: FakeBroker } {
    const broker = new FakeBroker({ accounts: [alice] });
    const app = newApp(idp, { platform: "linux", enableBrokerOnLinux: true, brokers: { linux: broker } });
    return { app, broker };
  }

  const broken: [string, Record<string, unknown>][] = [
    ["expiresOn NaN", { expiresOn: NaN }],
    ["expiresOn Infinity", { expiresOn: Infinity }],
    ["expiresOn as a string", { expiresOn: "soon" }],
    ["tokenType mac", { tokenType: "mac" }],
    ["tokenType as an object", { tokenType: { evil: 1 } }],
    ["no access token", { accessToken: 42 }],
  ];
  for (const [what, change] of broken) {
    it(`${what} is a broker_error, and nothing is cached`, async () => {
      const { app, broker } = brokerApp();
      broker.script("acquireTokenInteractive", {
        reply: (request) => ({ ...broker.issueToken(alice, request), ...change }) as never,
      });
      const result = await app.acquireTokenInteractive(["User.Read"], {
        parentWindowHandle: CONSOLE_WINDOW_HANDLE,
        prompt: "select_account",
      });
      const error = assertError(result, "broker_error");
      assert.match(error.error_description ?? "", /malformed/);
    });
  }

  for (
    const [what, expiresOn] of [
      ["1e300", 1e300],
      ["beyond a safe integer", 2 ** 60],
      ["eleven years ahead", Math.floor(Date.now() / 1000) + 11 * 365 * 24 * 3600],
    ] as const
  ) {
    it(`expiresOn ${what} is an InvalidResponse broker_error, and nothing is cached`, async () => {
      const tokenCache = new TokenCache();
      const broker = new FakeBroker({ accounts: [alice] });
      const app = newApp(idp, {
        platform: "linux",
        enableBrokerOnLinux: true,
        brokers: { linux: broker },
        tokenCache,
      });
      const before = tokenCache.serialize();
      broker.script("acquireTokenInteractive", {
        reply: (request) => ({ ...broker.issueToken(alice, request), expiresOn }) as never,
      });
      const result = await app.acquireTokenInteractive(["User.Read"], {
        parentWindowHandle: CONSOLE_WINDOW_HANDLE,
        prompt: "select_account",
      });
      const error = assertError(result, "broker_error");
      assert.equal(error.broker_status, "InvalidResponse");
      assert.match(error.error_description ?? "", /expiresOn/);
      assert.equal(tokenCache.serialize(), before);
    });
  }

  it("a broker account whose username is a number is listed with an empty username", async () => {
    const { app, broker } = brokerApp();
    const odd = { id: "odd", username: 123, homeAccountId: "odd.home" } as never;
    broker.script("getAccounts", { reply: [odd, alice] }, { reply: [odd, alice] });
    assert.deepEqual((await app.getAccounts({ username: "x" })).map((a) => a.username), []);
    const all = await app.getAccounts();
    assert.ok(all.length >= 1 && all.every((a) => typeof a.username === "string"), JSON.stringify(all));
  });
});

describe("device authorization answers are checked field by field", () => {
  for (
    const [what, field] of [['interval "abc"', '"interval":"abc"'], [
      "a negative expires_in",
      '"expires_in":-1',
    ]]
  ) {
    it(`${what} is an invalid_response`, async () => {
      idp.fail("devicecode", {
        rawBody:
          `{"user_code":"U","device_code":"D","verification_uri":"https://example.test/device",${field}}`,
      });
      const flow = await newApp(idp).initiateDeviceFlow(["User.Read"]);
      assert.ok("error" in flow, JSON.stringify(flow));
      assert.equal(flow.error, "invalid_response");
    });
  }

  it("a kept flow whose interval is not a number is polled at the default pace, never in a tight loop", async () => {
    const app = newApp(idp);
    const flow = await app.initiateDeviceFlow(["User.Read"]);
    assert.ok("user_code" in flow);
    idp.clearRequests();
    const controller = new AbortController();
    const polling = app.acquireTokenByDeviceFlow({ ...flow, interval: NaN }, { signal: controller.signal });
    await new Promise((resolve) => setTimeout(resolve, 300));
    controller.abort();
    await assert.rejects(polling);
    assert.equal(idp.requestsTo("token").length, 1, "one poll, then the 5 s default interval");
  });
});
