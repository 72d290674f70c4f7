import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { BrowserLaunchError, TimeoutError, type TokenResult } from "../mod.ts";
import { FakeAuthority } from "../testing/mod.ts";
import { FetchBrowser } from "./_browser.ts";
import { newApp, withBrowserEnv } from "./_helpers.ts";

const ALICE = { username: "alice@contoso.com", password: "password" };
const SCOPES = ["User.Read"];

let idp: FakeAuthority;
before(async () => {
  idp = await FakeAuthority.start({ users: [ALICE] });
});
after(() => idp.close());

describe("an interactive sign-in never waits forever", () => {
  it("gives up with TimeoutError after 10 minutes by default when no redirect ever comes", async () => {
    // Ten minutes pass at once: the one 600,000 ms timer fires right away.
    const realSetTimeout = globalThis.setTimeout;
    const delays: number[] = [];
    globalThis.setTimeout = ((fn: () => void, ms?: number) => {
      delays.push(ms ?? 0);
      return realSetTimeout(fn, ms === 600_000 ? 10 : ms);
    }) as typeof setTimeout;
    try {
      await assert.rejects(
        newApp(idp).acquireTokenInteractive(SCOPES, {
          openBrowser: () => {}, // the user walked away, or the page shows an error and never redirects
          signal: AbortSignal.timeout(20_000), // without a default, this abort would end the test instead
        }),
        TimeoutError,
      );
    } finally {
      globalThis.setTimeout = realSetTimeout;
    }
    assert.ok(delays.includes(600_000));
  });
});

describe("a failed browser launch still lets the user sign in", () => {
  it("BROWSER pointing to a failing command: the app gets the URL, the user opens it by hand", async () => {
    let unavailable: BrowserLaunchError | undefined;
    const result = await withBrowserEnv("false", () =>
      newApp(idp).acquireTokenInteractive(SCOPES, {
        timeout: 60,
        onBrowserUnavailable: (error) => {
          unavailable = error;
          void new FetchBrowser().signIn(error.url, ALICE);
        },
      }));
    assert.ok("access_token" in result, JSON.stringify(result));
    assert.equal((result as TokenResult).account?.username, ALICE.username);
    assert.ok(unavailable instanceof BrowserLaunchError);
    assert.match(unavailable.url, /\/oauth2\/v2\.0\/authorize\?/);
    assert.ok(unavailable.cause instanceof Error, "the launch failure is the cause");
    assert.match(unavailable.cause.message, /exited with code 1/);
  });

  it("an app that showed the URL in onBeforeLaunchingUi keeps waiting after the launch fails", async () => {
    let shown = "";
    const result = await withBrowserEnv("%s", () =>
      newApp(idp).acquireTokenInteractive(SCOPES, {
        timeout: 60,
        loginHint: ALICE.username,
        onBeforeLaunchingUi: ({ url }) => {
          shown = url ?? "";
          setTimeout(() => void new FetchBrowser().signIn(shown, ALICE), 200);
        },
      }));
    assert.ok("access_token" in result, JSON.stringify(result));
    assert.match(shown, /login_hint=/);
  });
});
