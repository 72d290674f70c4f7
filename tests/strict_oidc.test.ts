// A spec-strict OpenID Connect provider configured as `oidcAuthority` (the fake authority's strict
// mode): the default interactive path yields a refresh token, identity scopes never make a cached token
// look insufficient, accounts are named from userinfo, RFC 9207's iss is enforced, and the loopback
// redirect uses 127.0.0.1. Entra ID's behaviour stays as it was.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  BrowserLaunchError,
  ConfigurationError,
  IssuerMismatchError,
  PublicClientApplication,
  type PublicClientApplicationOptions,
} from "../mod.ts";
import { FakeAuthority } from "../testing/mod.ts";
import { startLoopbackListener } from "../flows/loopback.ts";
import { FetchBrowser } from "./_browser.ts";
import { CLIENT_ID, newApp, signInWithDeviceCode } from "./_helpers.ts";

const USER = { username: "ada@example.org", password: "pw", name: "Ada" };

let strict: FakeAuthority;
let entra: FakeAuthority;
before(async () => {
  strict = await FakeAuthority.start({ strictOidc: true, users: [USER], deviceCodeInterval: 0 });
  entra = await FakeAuthority.start({ users: [USER], deviceCodeInterval: 0 });
});
after(async () => {
  await strict.close();
  await entra.close();
});

function oidcApp(options: PublicClientApplicationOptions = {}): PublicClientApplication {
  return new PublicClientApplication(CLIENT_ID, {
    oidcAuthority: `${strict.url}/${strict.tenantId}/v2.0`,
    ...options,
  });
}

const lastAuthorize = (idp: FakeAuthority) => idp.requestsTo("authorize").at(-1)!.query;

describe("strict OIDC: interactive sign-in", () => {
  it("yields a refresh token by default: prompt=consent for generic OIDC when the app set no prompt", async () => {
    const app = oidcApp();
    const result = await app.acquireTokenInteractive(["api:read"], {
      openBrowser: strict.signInAs(USER.username),
    });
    assert.ok("access_token" in result, JSON.stringify(result));
    assert.equal(typeof result.refresh_token, "string");
    assert.equal(lastAuthorize(strict).prompt, "consent");
    const [account] = await app.getAccounts();
    const refreshed = await app.acquireTokenSilent(["api:read"], { account, forceRefresh: true });
    assert.equal(refreshed?.token_source, "identity_provider");
  });

  it("keeps the app's own prompt (then a strict provider grants no refresh token)", async () => {
    const app = oidcApp();
    const result = await app.acquireTokenInteractive(["api:read"], {
      openBrowser: strict.signInAs(USER.username),
      prompt: "login",
    });
    assert.ok("access_token" in result);
    assert.equal(lastAuthorize(strict).prompt, "login");
    assert.equal(result.refresh_token, undefined);
  });

  it("leaves Entra ID as it was: no prompt added, redirect URI on localhost", async () => {
    const app = newApp(entra);
    const result = await app.acquireTokenInteractive(["User.Read"], {
      openBrowser: entra.signInAs(USER.username),
    });
    assert.ok("access_token" in result);
    const query = lastAuthorize(entra);
    assert.equal(query.prompt, undefined);
    assert.match(query.redirect_uri, /^http:\/\/localhost:\d+$/);
    assert.equal(typeof result.refresh_token, "string");
  });
});

describe("strict OIDC: identity scopes and the cache", () => {
  it("serves acquireTokenSilent(['api:read', 'email']) from the cache though the grant names only api:read", async () => {
    const app = oidcApp();
    const signedIn = await app.acquireTokenInteractive(["api:read", "email"], {
      openBrowser: strict.signInAs(USER.username),
    });
    assert.ok("access_token" in signedIn);
    assert.equal(signedIn.scope, "api:read");
    const [account] = await app.getAccounts();
    strict.clearRequests();
    for (let i = 0; i < 3; i++) {
      const result = await app.acquireTokenSilent(["api:read", "email"], { account });
      assert.equal(result?.token_source, "cache");
      assert.equal(result?.access_token, signedIn.access_token);
    }
    assert.equal(strict.requestsTo("token").length, 0);
  });

  it("still refuses a cached token for other API scopes", async () => {
    const app = oidcApp();
    await app.acquireTokenInteractive(["api:read"], { openBrowser: strict.signInAs(USER.username) });
    const [account] = await app.getAccounts();
    strict.clearRequests();
    const result = await app.acquireTokenSilent(["api:write", "email"], { account });
    assert.equal(result?.token_source, "identity_provider");
    assert.equal(strict.requestsTo("token").length, 1);
  });
});

describe("strict OIDC: accounts named from userinfo", () => {
  it("asks userinfo once at sign-in when the ID token names no user, so getAccounts({username}) finds it", async () => {
    const app = oidcApp();
    strict.clearRequests();
    const result = await app.acquireTokenInteractive(["api:read"], {
      openBrowser: strict.signInAs(USER.username),
    });
    assert.ok("access_token" in result);
    assert.equal(result.id_token_claims?.preferred_username, undefined);
    assert.equal(result.account?.username, USER.username);
    const [account] = await app.getAccounts({ username: USER.username.toUpperCase() });
    assert.equal(account?.username, USER.username);
    assert.equal(strict.requestsTo("userinfo").length, 1);
    assert.match(strict.requestsTo("userinfo")[0].headers.authorization, /^Bearer /);

    await app.acquireTokenSilent(["api:read"], { account, forceRefresh: true });
    assert.equal(strict.requestsTo("userinfo").length, 1, "refreshes do not ask again");
  });

  it("the fake's userinfo refuses a bearer token whose payload is base64 rather than base64url", async () => {
    const result = await oidcApp().acquireTokenInteractive(["api:read"], {
      openBrowser: strict.signInAs(USER.username),
    });
    assert.ok("access_token" in result);
    const [header, payload] = result.access_token.split(".");
    const claims = JSON.parse(atob(payload.replace(/-/g, "+").replace(/_/g, "/")));
    const base64 = btoa(JSON.stringify({ ...claims, note: "??????" })).replace(/=+$/, "");
    assert.match(base64, /[+/]/);
    const userinfo = (token: string) =>
      fetch(`${strict.url}/${strict.tenantId}/openid/userinfo`, {
        headers: { authorization: `Bearer ${token}` },
      });
    const ok = await userinfo(result.access_token);
    assert.equal(ok.status, 200, await ok.text());
    const refused = await userinfo(`${header}.${base64}.sig`);
    assert.equal(refused.status, 401);
    assert.equal((await refused.json()).error, "invalid_token");
  });

  it("does not ask userinfo for an Entra ID authority", async () => {
    const app = newApp(entra);
    entra.clearRequests();
    await app.acquireTokenInteractive(["User.Read"], { openBrowser: entra.signInAs(USER.username) });
    assert.equal(entra.requests.filter((r) => r.path.endsWith("/userinfo")).length, 0);
  });
});

describe("strict OIDC: device code", () => {
  it("signs in, names the account from userinfo, and refreshes when forced", async () => {
    const app = oidcApp();
    strict.clearRequests();
    await signInWithDeviceCode(strict, app, USER.username, ["api:read"]);
    assert.equal(strict.requests.filter((r) => r.path.endsWith("/userinfo")).length, 1);
    const [account, ...others] = await app.getAccounts();
    assert.deepEqual(others, []);
    assert.equal(account.username, USER.username);
    const refreshed = await app.acquireTokenSilent(["api:read"], { account, forceRefresh: true });
    assert.equal(refreshed?.token_source, "identity_provider");
  });
});

describe("strict OIDC: RFC 9207 iss in the authorization response", () => {
  /** An openBrowser that signs in and changes the `iss` the browser brings back to the app. */
  function tamperedSignIn(iss: string | undefined) {
    return async (url: string) => {
      const browser = new FetchBrowser();
      browser.interceptor = (target, init) => {
        if (target.hostname === "127.0.0.1" && target.searchParams.has("code")) {
          if (iss === undefined) target.searchParams.delete("iss");
          else target.searchParams.set("iss", iss);
        }
        return { url: target, init };
      };
      await browser.signIn(url, USER);
    };
  }

  for (const [what, iss] of [["another issuer", "https://mix-up.example"], ["no iss", undefined]] as const) {
    it(`refuses a response carrying ${what} with IssuerMismatchError, redeeming nothing`, async () => {
      const app = oidcApp();
      strict.clearRequests();
      await assert.rejects(
        app.acquireTokenInteractive(["api:read"], {
          openBrowser: tamperedSignIn(iss),
          responseMode: "query",
        }),
        (error: unknown) => error instanceof IssuerMismatchError && error.received === iss,
      );
      assert.equal(strict.requestsTo("token").length, 0);
      assert.deepEqual(await app.getAccounts(), []);
    });
  }

  it("accepts the issuer's own iss", async () => {
    const app = oidcApp();
    const result = await app.acquireTokenInteractive(["api:read"], {
      openBrowser: tamperedSignIn(`${strict.url}/${strict.tenantId}/v2.0`),
      responseMode: "query",
    });
    assert.ok("access_token" in result, JSON.stringify(result));
  });

  it("checks an iss that is present even when the metadata does not promise one", async () => {
    const app = newApp(entra, { authority: entra.authority(entra.tenantId) });
    const flow = await app.initiateAuthCodeFlow(["User.Read"], { redirectUri: "http://localhost:1/" });
    await assert.rejects(
      app.acquireTokenByAuthCodeFlow(flow, { state: flow.state, code: "c", iss: "https://mix-up.example" }),
      IssuerMismatchError,
    );
  });
});

describe("loopback redirect host", () => {
  it("uses http://127.0.0.1 for generic OIDC, which a strict provider accepts", async () => {
    const app = oidcApp();
    await app.acquireTokenInteractive(["api:read"], { openBrowser: strict.signInAs(USER.username) });
    assert.match(lastAuthorize(strict).redirect_uri, /^http:\/\/127\.0\.0\.1:\d+$/);
  });

  it("lets the app choose localhost, which a strict provider refuses with an error page", async () => {
    const app = oidcApp();
    await assert.rejects(
      app.acquireTokenInteractive(["api:read"], {
        openBrowser: strict.signInAs(USER.username),
        redirectHost: "localhost",
      }),
      (error: unknown) => {
        // The message leads with what failed: the openBrowser callback, and the fake's own error text.
        assert.ok(error instanceof BrowserLaunchError);
        assert.match(
          error.message,
          /^openBrowser failed: The fake authority showed an error page instead of the sign-in \(HTTP 400, page "Sign in"\): AADSTS50011: The redirect URI 'http:\/\/localhost:\d+' specified in the request does not match/,
        );
        assert.match(String(error.cause), /AADSTS50011/);
        return true;
      },
    );
    assert.match(lastAuthorize(strict).redirect_uri, /^http:\/\/localhost:\d+$/);
  });

  it("takes a whole redirect URI with a path, on a free port when it names none", async () => {
    const app = oidcApp();
    const result = await app.acquireTokenInteractive(["api:read"], {
      openBrowser: strict.signInAs(USER.username),
      redirectUri: "http://127.0.0.1/callback",
    });
    assert.ok("access_token" in result, JSON.stringify(result));
    assert.match(lastAuthorize(strict).redirect_uri, /^http:\/\/127\.0\.0\.1:\d+\/callback$/);
  });

  it("refuses a redirect URI that is not loopback http", async () => {
    for (const redirectUri of ["https://127.0.0.1/cb", "http://example.com/cb", "http://127.0.0.1/cb?x=1"]) {
      await assert.rejects(startLoopbackListener({ redirectUri }), ConfigurationError, redirectUri);
    }
  });
});
