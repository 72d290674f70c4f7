// Interactive sign-in through the system browser (issue #3), headless: the app's `openBrowser` hands the
// authorize URL to a fetch-driven browser that behaves like a user (GET the sign-in page, POST the
// form, follow the form_post to the loopback listener) against a FakeAuthority on 127.0.0.1.

import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  AbortError,
  type AcquireTokenInteractiveOptions,
  type AuthResult,
  BrowserLaunchError,
  ConfigurationError,
  IdTokenError,
  PortInUseError,
  type PublicClientApplication,
  TimeoutError,
} from "../mod.ts";
import { FakeAuthority, parseAutoPostForm } from "../testing/mod.ts";
import { serve } from "../serve.ts";
import { FetchBrowser } from "./_browser.ts";
import { assertToken, CLIENT_ID, commandFor, newApp, portIsClosed, ROOT, runToEnd } from "./_helpers.ts";

const ALICE = { username: "alice@contoso.com", password: "password", name: "Alice" };
const BOB = { username: "bob@contoso.com", password: "bob-pw", name: "Bob" };
const SCOPES = ["User.Read"];

let idp: FakeAuthority;

before(async () => {
  idp = await FakeAuthority.start({ users: [ALICE, BOB] });
});
after(() => idp.close());

/**
 * `app.acquireTokenInteractive(SCOPES, options)`, except that an assertion failing inside the test's
 * `openBrowser` is rethrown as such (the library wraps whatever `openBrowser` throws in BrowserLaunchError).
 */
async function interactive(
  app: PublicClientApplication,
  options: AcquireTokenInteractiveOptions,
): Promise<AuthResult> {
  try {
    return await app.acquireTokenInteractive(SCOPES, options);
  } catch (error) {
    if (error instanceof BrowserLaunchError && (error.cause as Error)?.name === "AssertionError") {
      throw error.cause;
    }
    throw error;
  } finally {
    // The app may have its answer before the browser has read the last page, as with a real browser.
    await Promise.all([...browsers].map((browser) => browser.idle()));
  }
}

const browsers = new Set<FetchBrowser>();

/** A fresh browser profile; `interactive()` waits for it to finish loading. */
function newBrowser(): FetchBrowser {
  const browser = new FetchBrowser();
  browsers.add(browser);
  return browser;
}

/** An `openBrowser` that signs in as a user would (with `credentials` if the sign-in page asks). */
function signInWith(
  browser: FetchBrowser,
  credentials?: { username: string; password: string },
): (url: string) => Promise<void> {
  return async (url) => {
    await browser.signIn(url, credentials);
  };
}

/** The loopback port of an authorize URL's redirect_uri. */
function loopbackPort(authorizeUrl: string): number {
  const redirect = new URL(new URL(authorizeUrl).searchParams.get("redirect_uri")!);
  assert.equal(redirect.hostname, "localhost");
  return Number(redirect.port);
}

function base64url(bytes: Uint8Array): string {
  return btoa(String.fromCharCode(...bytes)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

async function s256(verifier: string): Promise<string> {
  return base64url(new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier))));
}

function payloadOf(jwt: string): Record<string, unknown> {
  const part = jwt.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
  return JSON.parse(atob(part + "=".repeat((4 - part.length % 4) % 4)));
}

/** The same JWT with some claims changed (the signature no longer matches; MSAL does not check it). */
function withClaims(jwt: string, patch: Record<string, unknown>): string {
  const [header, , signature] = jwt.split(".");
  const payload = base64url(new TextEncoder().encode(JSON.stringify({ ...payloadOf(jwt), ...patch })));
  return `${header}.${payload}.${signature}`;
}

/** The authorize and token requests the fake authority received since `mark`. */
function since(mark: number) {
  const requests = idp.requests.slice(mark);
  return {
    authorize: requests.filter((r) => r.endpoint === "authorize"),
    token: requests.filter((r) => r.endpoint === "token" && r.form.grant_type === "authorization_code"),
  };
}

describe("interactive sign-in through the browser", () => {
  it("signs in on the sign-in page, gets the code by form_post on the loopback, and caches the token", async () => {
    const app = newApp(idp);
    const browser = newBrowser();
    const events: string[] = [];
    let launched: { ui: string; url?: string } | undefined;
    let opened = "";
    const mark = idp.requests.length;
    const result = assertToken(
      await interactive(app, {
        timeoutMs: 60_000,
        onBeforeLaunchingUi: (info) => {
          events.push("onBeforeLaunchingUi");
          launched = info;
        },
        openBrowser: async (url) => {
          events.push("openBrowser");
          opened = url;
          await browser.signIn(url, ALICE);
        },
      }),
    );

    assert.deepEqual(events, ["onBeforeLaunchingUi", "openBrowser"]);
    assert.deepEqual(launched, { ui: "browser", url: opened });

    // What the user saw: the sign-in page, then the app's success page on the loopback.
    assert.deepEqual(browser.history.map((p) => p.title), [
      "Sign in",
      "Working...",
      "Authentication complete",
    ]);
    assert.equal(browser.page.status, 200);
    assert.match(browser.page.html, /You can close this window/);
    const port = loopbackPort(opened);
    assert.equal(browser.page.url, `http://localhost:${port}/`);

    // The result, as MSAL Python returns it.
    assert.equal(result.token_source, "identity_provider");
    assert.equal(result.token_type, "Bearer");
    assert.equal(result.id_token_claims?.preferred_username, ALICE.username);
    assert.equal(result.account?.username, ALICE.username);
    assert.equal(result.account?.account_source, "authorization_code");

    // The authorization request: code + PKCE S256 + state + nonce, form_post to http://localhost:<port>.
    const { authorize, token } = since(mark);
    assert.equal(authorize.length, 1);
    const query = authorize[0].query;
    assert.equal(authorize[0].method, "GET");
    assert.equal(query.client_id, CLIENT_ID);
    assert.equal(query.response_type, "code");
    assert.equal(query.response_mode, "form_post");
    assert.equal(query.redirect_uri, `http://localhost:${port}`);
    assert.deepEqual(
      query.scope.split(" ").sort(),
      ["User.Read", "offline_access", "openid", "profile"].sort(),
    );
    assert.equal(query.code_challenge_method, "S256");
    assert.match(query.code_challenge, /^[A-Za-z0-9_-]{43}$/);
    assert.match(query.state, /^[A-Za-z0-9_-]{32,}$/);
    assert.match(query.nonce, /^[A-Za-z0-9_-]{32,}$/);
    assert.equal(result.id_token_claims?.nonce, query.nonce, "the ID token carries the request's nonce");
    assert.equal(query.client_info, "1", "asks for client_info, as MSAL Python does");

    // The code was redeemed once, with the verifier of that challenge and the same redirect URI.
    assert.equal(token.length, 1);
    assert.equal(token[0].form.redirect_uri, query.redirect_uri);
    assert.equal(await s256(token[0].form.code_verifier), query.code_challenge);
    assert.equal(token[0].form.client_id, CLIENT_ID);
    const alice = idp.users.find((u) => u.username === ALICE.username)!;
    assert.equal(
      token[0].headers["x-anchormailbox"],
      `Oid:${alice.oid}@${alice.tenantId}`,
      "the redemption is routed by the client_info that came with the code",
    );

    // The loopback listener is gone, and the token is in the cache for silent calls.
    assert.equal(await portIsClosed(port), true);
    const accounts = await app.getAccounts();
    assert.equal(accounts.length, 1);
    assert.equal(accounts[0].account_source, "authorization_code");
    const silent = await app.acquireTokenSilent(SCOPES, { account: accounts[0] });
    assert.equal(silent?.token_source, "cache");
    assert.equal(silent?.access_token, result.access_token);
  });

  it("signs in a second time through the browser's session without the sign-in page, with fresh state and nonce", async () => {
    const browser = newBrowser();
    const mark = idp.requests.length;
    assertToken(
      await interactive(newApp(idp), { openBrowser: signInWith(browser, ALICE) }),
    );
    assert.ok(browser.cookies("127.0.0.1").ESTSAUTH, "the identity provider set its session cookie");
    const seen = browser.history.length;

    const second = assertToken(
      await interactive(newApp(idp), {
        openBrowser: signInWith(browser), // no credentials: must not be asked
      }),
    );
    assert.deepEqual(browser.history.slice(seen).map((p) => p.title), [
      "Working...",
      "Authentication complete",
    ]);
    assert.equal(second.account?.username, ALICE.username);

    const [first, again] = since(mark).authorize.map((r) => r.query);
    assert.notEqual(first.state, again.state);
    assert.notEqual(first.nonce, again.nonce);
    assert.notEqual(first.code_challenge, again.code_challenge);
    assert.notEqual(first.redirect_uri, again.redirect_uri, "each sign-in listens on a new ephemeral port");
  });

  it("sends prompt, loginHint (also as X-AnchorMailbox), domainHint, maxAge, merged claims and extra scopes", async () => {
    const app = newApp(idp, { clientCapabilities: ["CP1"] });
    const browser = newBrowser();
    const challenge = JSON.stringify({ access_token: { nbf: { essential: true, value: "1700000000" } } });
    const mark = idp.requests.length;
    const result = assertToken(
      await interactive(app, {
        prompt: "consent",
        loginHint: BOB.username,
        domainHint: "contoso.com",
        maxAge: 3600,
        claimsChallenge: challenge,
        extraScopesToConsent: ["Mail.Read", "https://management.azure.com/user_impersonation"],
        openBrowser: async (url) => {
          const login = await browser.goto(url);
          assert.equal(login.title, "Sign in");
          assert.match(
            login.html,
            /id="username"[^>]*value="bob@contoso.com"/,
            "login_hint prefills the username",
          );
          const consent = await browser.submit({ fill: { password: BOB.password }, click: "submit" });
          assert.equal(consent.title, "Permissions requested");
          assert.match(consent.html, /Mail\.Read/);
          await browser.submit({ click: "accept" });
        },
      }),
    );
    assert.equal(browser.page.title, "Authentication complete");
    assert.equal(result.account?.username, BOB.username);

    const { authorize, token } = since(mark);
    const query = authorize[0].query;
    assert.equal(query.prompt, "consent");
    assert.equal(query.login_hint, BOB.username);
    assert.equal(query["X-AnchorMailbox"], `UPN:${BOB.username}`);
    assert.equal(query.domain_hint, "contoso.com");
    assert.equal(query.max_age, "3600");
    const merged = {
      access_token: { nbf: { essential: true, value: "1700000000" }, xms_cc: { values: ["CP1"] } },
    };
    assert.deepEqual(JSON.parse(query.claims), merged);
    assert.deepEqual(
      query.scope.split(" ").sort(),
      [
        "User.Read",
        "Mail.Read",
        "https://management.azure.com/user_impersonation",
        "openid",
        "profile",
        "offline_access",
      ].sort(),
    );
    // The redemption asks only for the app's scopes, with the same claims.
    assert.deepEqual(
      token[0].form.scope.split(" ").sort(),
      ["User.Read", "offline_access", "openid", "profile"].sort(),
    );
    assert.deepEqual(JSON.parse(token[0].form.claims), merged);
    assert.equal(typeof result.id_token_claims?.auth_time, "number");
  });

  it("prompt=select_account shows the account picker for a browser that has a session", async () => {
    const browser = newBrowser();
    assertToken(await interactive(newApp(idp), { openBrowser: signInWith(browser, ALICE) }));
    const seen = browser.history.length;
    const result = assertToken(
      await interactive(newApp(idp), {
        prompt: "select_account",
        openBrowser: signInWith(browser),
      }),
    );
    assert.deepEqual(browser.history.slice(seen).map((p) => p.title), [
      "Pick an account",
      "Working...",
      "Authentication complete",
    ]);
    assert.equal(result.account?.username, ALICE.username);
  });

  it("maxAge makes a user with an older session sign in again", async () => {
    const browser = newBrowser();
    assertToken(await interactive(newApp(idp), { openBrowser: signInWith(browser, ALICE) }));
    const seen = browser.history.length;
    const result = assertToken(
      await interactive(newApp(idp), {
        maxAge: 0,
        openBrowser: signInWith(browser, ALICE),
      }),
    );
    assert.equal(browser.history[seen].title, "Sign in", "the session is older than max_age=0");
    assert.equal(typeof result.id_token_claims?.auth_time, "number");
  });

  it("refuses an ID token whose auth_time is older than maxAge (IdTokenError), caching nothing", async () => {
    const oldAuthTime = Math.floor(Date.now() / 1000) - 7200;
    const tampering: typeof fetch = async (input, init) => {
      const response = await fetch(input, init);
      const url = input instanceof Request ? input.url : String(input);
      if (!url.endsWith("/oauth2/v2.0/token") || !response.ok) return response;
      const body = await response.json();
      body.id_token = withClaims(body.id_token, { auth_time: oldAuthTime });
      return new Response(JSON.stringify(body), { headers: { "content-type": "application/json" } });
    };
    const app = newApp(idp, { fetch: tampering });
    const browser = newBrowser();
    await assert.rejects(
      interactive(app, { maxAge: 60, openBrowser: signInWith(browser, ALICE) }),
      (error: unknown) => error instanceof IdTokenError && /maxAge=60/.test(error.message),
    );
    assert.deepEqual(await app.getAccounts(), []);
  });

  it("refuses an ID token with another nonce (IdTokenError), caching nothing", async () => {
    const app = newApp(idp);
    const browser = newBrowser();
    // The authority is made to issue the ID token for another nonce, as a replayed response would carry.
    browser.interceptor = (url, init) => {
      if (url.pathname.endsWith("/oauth2/v2.0/authorize")) {
        url.searchParams.set("nonce", "someone-elses-nonce");
      }
      return { url, init };
    };
    await assert.rejects(
      interactive(app, { openBrowser: signInWith(browser, ALICE) }),
      (error: unknown) => error instanceof IdTokenError && /nonce/.test(error.message),
    );
    assert.deepEqual(await app.getAccounts(), []);
    assert.equal(
      browser.page.title,
      "Authentication complete",
      "the browser got its page before the redemption",
    );
  });

  it("query response mode: the authority redirects the browser to the loopback with the code", async () => {
    const browser = newBrowser();
    const mark = idp.requests.length;
    const result = assertToken(
      await interactive(newApp(idp), {
        responseMode: "query",
        openBrowser: signInWith(browser, ALICE),
      }),
    );
    assert.equal(since(mark).authorize[0].query.response_mode, "query");
    assert.deepEqual(browser.history.map((p) => p.title), ["Sign in", "Authentication complete"]);
    assert.match(new URL(browser.page.url).search, /[?&]code=/);
    assert.equal(result.account?.username, ALICE.username);
  });

  it("shows the app's success and error templates", async () => {
    const browser = newBrowser();
    assertToken(
      await interactive(newApp(idp), {
        successTemplate: "<title>Yay</title><p>Signed in to the demo</p>",
        openBrowser: signInWith(browser, ALICE),
      }),
    );
    assert.equal(browser.page.title, "Yay");
    const denied = await interactive(newApp(idp), {
      prompt: "login",
      errorTemplate: "<title>Nope</title><p>$error: $error_description</p>",
      openBrowser: async (url) => {
        await browser.goto(url);
        await browser.submit({ click: "cancel" });
      },
    });
    assert.equal("error" in denied && denied.error, "access_denied");
    assert.equal(browser.page.title, "Nope");
    assert.match(browser.page.html, /<p>access_denied: AADSTS65004/);
  });
});

describe("interactive sign-in: what the user or the browser does wrong", () => {
  it("error=access_denied (the user cancels) ends the flow with that error; the browser shows it", async () => {
    const browser = newBrowser();
    const mark = idp.requests.length;
    const result = await interactive(newApp(idp), {
      openBrowser: async (url) => {
        await browser.goto(url);
        await browser.submit({ click: "cancel" });
      },
    });
    assert.ok("error" in result, JSON.stringify(result));
    assert.equal(result.error, "access_denied");
    assert.match(result.error_description ?? "", /^AADSTS65004: The user canceled/);
    assert.equal(browser.page.title, "Authentication failed");
    assert.equal(browser.page.status, 200);
    assert.match(browser.page.html, /access_denied/);
    assert.equal(since(mark).token.length, 0, "nothing to redeem");
  });

  it("a redirect with another state gets an error page and the flow keeps waiting for the real one", async () => {
    const browser = newBrowser();
    browser.scripts = false; // deliver the form_post by hand, after a forged one
    let mismatch: { status: number; html: string } | undefined;
    const result = assertToken(
      await interactive(newApp(idp), {
        timeoutMs: 60_000,
        openBrowser: async (url) => {
          await browser.signIn(url, ALICE);
          assert.equal(browser.page.title, "Working...");
          const { action, fields } = parseAutoPostForm(browser.page.html);
          const forged = await browser.request(action, {
            method: "POST",
            headers: { "content-type": "application/x-www-form-urlencoded" },
            body: new URLSearchParams({ ...fields, code: "forged", state: "not-this-flow" }).toString(),
          });
          mismatch = forged;
          await browser.submit(); // the real one
        },
      }),
    );
    assert.equal(mismatch?.status, 400);
    assert.match(mismatch?.html ?? "", /state_mismatch/);
    assert.equal(browser.page.title, "Authentication complete");
    assert.equal(result.account?.username, ALICE.username);
  });

  it("only a redirect with another state: no token, the flow waits until its timeout", async () => {
    const browser = newBrowser();
    browser.scripts = false;
    let port = 0;
    const mark = idp.requests.length;
    await assert.rejects(
      interactive(newApp(idp), {
        timeoutMs: 500,
        openBrowser: async (url) => {
          port = loopbackPort(url);
          await browser.signIn(url, ALICE);
          const { action, fields } = parseAutoPostForm(browser.page.html);
          const forged = await browser.request(action, {
            method: "POST",
            headers: { "content-type": "application/x-www-form-urlencoded" },
            body: new URLSearchParams({ ...fields, state: "not-this-flow" }).toString(),
          });
          assert.equal(forged.status, 400);
        },
      }),
      (error: unknown) =>
        error instanceof TimeoutError && /did not complete the flow in time/.test(error.message),
    );
    assert.equal(since(mark).token.length, 0, "the code with the wrong state was not redeemed");
    assert.equal(await portIsClosed(port), true);
  });

  it("times out with TimeoutError when the user never finishes, and stops listening", async () => {
    let port = 0;
    await assert.rejects(
      interactive(newApp(idp), {
        timeoutMs: 200,
        openBrowser: (url) => void (port = loopbackPort(url)), // the user walks away
      }),
      TimeoutError,
    );
    assert.equal(await portIsClosed(port), true);
  });

  it("ends with AbortError when the app aborts, and stops listening", async () => {
    const controller = new AbortController();
    const browser = newBrowser();
    let port = 0;
    await assert.rejects(
      interactive(newApp(idp), {
        signal: controller.signal,
        openBrowser: async (url) => {
          port = loopbackPort(url);
          await browser.goto(url);
          assert.equal(browser.page.title, "Sign in");
          controller.abort(); // e.g. the user pressed Ctrl+C in the app
        },
      }),
      AbortError,
    );
    assert.equal(await portIsClosed(port), true);
    await assert.rejects(
      interactive(newApp(idp), { signal: AbortSignal.abort(), openBrowser: () => {} }),
      AbortError,
    );
  });

  it("a busy port: Can't listen on port N. You may try port 0.", async () => {
    const squatter = await serve(() => new Response("taken"), { port: 0 });
    try {
      let opened = false;
      await assert.rejects(
        interactive(newApp(idp), { port: squatter.port, openBrowser: () => void (opened = true) }),
        (error: unknown) =>
          error instanceof PortInUseError &&
          error.message === `Can't listen on port ${squatter.port}. You may try port 0.`,
      );
      assert.equal(opened, false, "no browser without a listener");
    } finally {
      await squatter.close();
    }
    // The same port, once free, is used as asked.
    const browser = newBrowser();
    let redirect = "";
    assertToken(
      await interactive(newApp(idp), {
        port: squatter.port,
        openBrowser: (url) => {
          redirect = new URL(url).searchParams.get("redirect_uri")!;
          return signInWith(browser, ALICE)(url);
        },
      }),
    );
    assert.equal(redirect, `http://localhost:${squatter.port}`);
  });

  it("refuses an oversized body without ending the flow", async () => {
    const browser = newBrowser();
    browser.scripts = false;
    let refused = 0;
    const result = assertToken(
      await interactive(newApp(idp), {
        timeoutMs: 60_000,
        openBrowser: async (url) => {
          await browser.signIn(url, ALICE);
          const { action, fields } = parseAutoPostForm(browser.page.html);
          const huge = await browser.request(action, {
            method: "POST",
            headers: { "content-type": "application/x-www-form-urlencoded" },
            body: new URLSearchParams({ ...fields, padding: "x".repeat(200_000) }).toString(),
          });
          refused = huge.status;
          await browser.submit();
        },
      }),
    );
    assert.equal(refused, 413);
    assert.equal(browser.page.title, "Authentication complete");
    assert.equal(result.account?.username, ALICE.username);
  });

  it("ignores a stray favicon request without ending the flow", async () => {
    const browser = newBrowser();
    let favicon = 0;
    const result = assertToken(
      await interactive(newApp(idp), {
        timeoutMs: 60_000,
        openBrowser: async (url) => {
          favicon = (await browser.request(`http://localhost:${loopbackPort(url)}/favicon.ico`)).status;
          await browser.signIn(url, ALICE);
        },
      }),
    );
    assert.equal(favicon, 404);
    assert.equal(browser.page.title, "Authentication complete");
    assert.equal(result.account?.username, ALICE.username);
  });

  it("an openBrowser that never returns holds up neither the response nor the timeout nor an abort", async () => {
    // e.g. an openBrowser that waits for the browser process to exit
    const never = (): Promise<void> => new Promise<void>(() => {});
    const browser = newBrowser();
    const result = assertToken(
      await interactive(newApp(idp), {
        openBrowser: (url) => {
          void browser.signIn(url, ALICE);
          return never();
        },
      }),
    );
    assert.equal(result.account?.username, ALICE.username);
    assert.equal(browser.page.title, "Authentication complete");

    await assert.rejects(
      interactive(newApp(idp), { timeout: 0.2, openBrowser: never } /* deprecated seconds */),
      TimeoutError,
    );
    const controller = new AbortController();
    await assert.rejects(
      interactive(newApp(idp), {
        signal: controller.signal,
        openBrowser: () => {
          controller.abort();
          return never();
        },
      }),
      AbortError,
    );
  });

  it("a throwing openBrowser, with no way to show the URL, gives BrowserLaunchError, or the library error it threw", async () => {
    let opened = "";
    const failure = new Error("no display");
    await assert.rejects(
      interactive(newApp(idp), {
        openBrowser: (url) => {
          opened = url;
          throw failure;
        },
      }),
      (error: unknown) =>
        // The flow has ended, so the message does not invite the user to open a URL that leads nowhere.
        // It leads with what failed: the app's callback, and its error.
        error instanceof BrowserLaunchError && error.url === opened && !error.message.includes(opened) &&
        error.message.startsWith("openBrowser failed: no display. The sign-in ended") &&
        /onBrowserUnavailable/.test(error.message) && error.cause === failure,
    );
    assert.equal(await portIsClosed(loopbackPort(opened)), true);

    const ours = new TimeoutError("gave up launching");
    await assert.rejects(
      interactive(newApp(idp), { openBrowser: () => Promise.reject(ours) }),
      (error: unknown) => error === ours,
    );
  });
});

describe("authorization code flow for apps that handle the redirect themselves", () => {
  const REDIRECT_URI = "http://localhost:8400/callback";

  it("initiateAuthCodeFlow + acquireTokenByAuthCodeFlow sign the user in", async () => {
    const app = newApp(idp);
    const flow = await app.initiateAuthCodeFlow(SCOPES, {
      redirectUri: REDIRECT_URI,
      responseMode: "form_post",
      loginHint: ALICE.username,
    });
    const query = new URL(flow.auth_uri).searchParams;
    assert.equal(query.get("redirect_uri"), REDIRECT_URI);
    assert.equal(query.get("state"), flow.state);
    assert.equal(query.get("nonce"), flow.nonce);
    assert.equal(query.get("code_challenge"), await s256(flow.code_verifier));
    assert.equal(query.get("code_challenge_method"), "S256");

    const browser = newBrowser();
    browser.scripts = false; // the app's own web server would receive this post
    await browser.signIn(flow.auth_uri, ALICE);
    const { action, fields } = parseAutoPostForm(browser.page.html);
    assert.equal(action, REDIRECT_URI);
    assert.ok(fields.code && fields.client_info, JSON.stringify(fields));

    const result = assertToken(await app.acquireTokenByAuthCodeFlow(flow, fields));
    assert.equal(result.token_source, "identity_provider");
    assert.equal(result.account?.account_source, "authorization_code");
    const [account] = await app.getAccounts();
    assert.equal((await app.acquireTokenSilent(SCOPES, { account }))?.token_source, "cache");
  });

  it("refuses a response of another flow with MSAL Python's state mismatch", async () => {
    const app = newApp(idp);
    const flow = await app.initiateAuthCodeFlow(SCOPES, { redirectUri: REDIRECT_URI });
    const other = await app.initiateAuthCodeFlow(SCOPES, { redirectUri: REDIRECT_URI });
    assert.notEqual(flow.state, other.state);
    assert.notEqual(flow.nonce, other.nonce);
    assert.notEqual(flow.code_verifier, other.code_verifier);
    await assert.rejects(
      app.acquireTokenByAuthCodeFlow(flow, { code: "c", state: other.state }),
      (error: unknown) => error instanceof ConfigurationError && /^state mismatch/.test(error.message),
    );
  });

  it("returns the error of an error response", async () => {
    const app = newApp(idp);
    const flow = await app.initiateAuthCodeFlow(SCOPES, { redirectUri: REDIRECT_URI });
    const result = await app.acquireTokenByAuthCodeFlow(flow, {
      error: "access_denied",
      error_description: "The user said no",
      state: flow.state,
    });
    assert.deepEqual(result, { error: "access_denied", error_description: "The user said no" });
  });

  it("getAuthorizationRequestUrl builds an authorize URL with the given parameters", async () => {
    const app = newApp(idp, { clientCapabilities: ["CP1"] });
    const url = new URL(
      await app.getAuthorizationRequestUrl(SCOPES, {
        redirectUri: REDIRECT_URI,
        state: "my-state",
        prompt: "select_account",
        loginHint: ALICE.username,
        domainHint: "contoso.com",
      }),
    );
    assert.equal(url.origin + url.pathname, `${idp.url}/organizations/oauth2/v2.0/authorize`);
    const q = Object.fromEntries(url.searchParams);
    assert.equal(q.client_id, CLIENT_ID);
    assert.equal(q.response_type, "code");
    assert.equal(q.redirect_uri, REDIRECT_URI);
    assert.equal(q.state, "my-state");
    assert.equal(q.prompt, "select_account");
    assert.equal(q.login_hint, ALICE.username);
    assert.equal(q.domain_hint, "contoso.com");
    assert.deepEqual(JSON.parse(q.claims), { access_token: { xms_cc: { values: ["CP1"] } } });
    assert.deepEqual(q.scope.split(" ").sort(), ["User.Read", "offline_access", "openid", "profile"].sort());
    // The authority takes it: the sign-in page, prefilled.
    const page = await newBrowser().goto(url.href);
    assert.equal(page.title, "Sign in");
  });
});

describe("the process exits after an interactive sign-in", () => {
  for (const runtime of ["node", "deno", "bun"] as const) {
    it(
      `${runtime}: a script that signs in and returns ends by itself with code 0`,
      { timeout: 90_000 },
      async () => {
        // killAfterMs is a safety net, not an assertion on time: a child still alive then is killed and fails.
        const [command, args] = commandFor(runtime, "fixtures/interactive_exit.ts");
        const { code, signal, stdout, stderr } = await runToEnd(command, args, {
          cwd: ROOT,
          killAfterMs: 60_000,
        });
        const output = stdout + stderr;
        assert.equal(signal, null, `the child did not exit by itself:\n${output}`);
        assert.equal(code, 0, output);
        assert.match(output, /signed in as alice@contoso\.com/);
      },
    );
  }
});
