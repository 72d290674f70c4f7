// ID tokens are checked as MSAL Python's OIDC layer checks them (OpenID Connect Core 1.0 §3.1.3.7):
// audience, issuer (with Entra's {tenantid} template), expiry and issue time with a 120 s skew.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { IdTokenError, TokenCache } from "../mod.ts";
import { FakeAuthority } from "../testing/mod.ts";
import { checkIdTokenClaims } from "../core/jwt.ts";
import { newApp, redeemDeviceCode, signInWithDeviceCode } from "./_helpers.ts";

const USER = { username: "alice@contoso.com", password: "password" };

let idp: FakeAuthority;
before(async () => {
  idp = await FakeAuthority.start({ users: [USER], deviceCodeInterval: 0 });
});
after(() => idp.close());

const now = () => Math.floor(Date.now() / 1000);

describe("ID token checks on every token response", () => {
  const refusals: [string, string, () => Record<string, unknown>][] = [
    ["aud", "an ID token issued to another app", () => ({ aud: "another-client-id" })],
    ["iss", "an ID token from another issuer", () => ({ iss: "https://mix-up.example/v2.0" })],
    ["exp", "an expired ID token", () => ({ exp: now() - 3600 })],
    ["iat", "an ID token issued in the future", () => ({ iat: now() + 3600 })],
    ["exp", "an ID token without exp", () => ({ exp: undefined })],
  ];
  for (const [claim, what, claims] of refusals) {
    it(`refuses ${what} with an IdTokenError naming ${claim}, caching nothing`, async () => {
      for (const authority of ["organizations", idp.tenantId]) {
        const cache = new TokenCache();
        const app = newApp(idp, { authority: idp.authority(authority), tokenCache: cache });
        idp.overrideIdTokenClaims(claims());
        await assert.rejects(
          redeemDeviceCode(idp, app, USER.username),
          (error: unknown) => error instanceof IdTokenError && error.claim === claim,
        );
        assert.deepEqual(await app.getAccounts(), []);
        assert.equal(cache.hasStateChanged, false);
      }
    });
  }

  it("refuses a refreshed ID token for another app, keeping the cached tokens", async () => {
    const app = newApp(idp);
    await signInWithDeviceCode(idp, app, USER.username);
    const [account] = await app.getAccounts();
    idp.overrideIdTokenClaims({ aud: "another-client-id" });
    await assert.rejects(
      app.acquireTokenSilent(["User.Read"], { account, forceRefresh: true }),
      (error: unknown) => error instanceof IdTokenError && error.claim === "aud",
    );
    const cached = await app.acquireTokenSilent(["User.Read"], { account });
    assert.equal(cached?.token_source, "cache");
  });

  it("accepts tokens within the 120 s skew, and Entra's {tenantid} issuer for multi-tenant authorities", async () => {
    for (const authority of ["common", "organizations", idp.tenantId]) {
      const app = newApp(idp, { authority: idp.authority(authority) });
      idp.overrideIdTokenClaims({ exp: now() - 60, iat: now() + 60 });
      const result = await redeemDeviceCode(idp, app, USER.username);
      assert.ok("access_token" in result, `${authority}: ${JSON.stringify(result)}`);
    }
  });
});

describe("checkIdTokenClaims", () => {
  const base = { aud: "app", iss: "https://idp.example/t1/v2.0", tid: "t1", exp: 2000, iat: 1000 };
  const check = (claims: Record<string, unknown>, issuer?: string) =>
    checkIdTokenClaims({ ...base, ...claims }, { clientId: "app", issuer, now: 1500 });

  it("accepts an audience array that contains the client id, case-sensitively", () => {
    check({ aud: ["other", "app"] });
    assert.throws(
      () => check({ aud: "APP" }),
      (e: unknown) => e instanceof IdTokenError && e.claim === "aud",
    );
  });

  it("fills Entra's {tenantid} template with the token's tid, or any one segment without it", () => {
    check({}, "https://idp.example/{tenantid}/v2.0");
    check({ tid: undefined }, "https://idp.example/{tenantid}/v2.0");
    assert.throws(() => check({ tid: "t2" }, "https://idp.example/{tenantid}/v2.0"), /issuer/);
    assert.throws(
      () =>
        check({ tid: undefined, iss: "https://idp.example/a/b/v2.0" }, "https://idp.example/{tenantid}/v2.0"),
      (e: unknown) => e instanceof IdTokenError && e.claim === "iss",
    );
  });

  it("does not check iss when the metadata names no issuer", () => {
    check({ iss: "https://anything.example" });
  });
});
