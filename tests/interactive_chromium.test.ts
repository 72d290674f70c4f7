// Interactive sign-in in a real browser: Debian's Chromium driven by playwright-core (never a
// downloaded browser). The user types the username and password into the FakeAuthority's sign-in page,
// the browser auto-posts the code to the app's loopback listener, and the app gets its token.
// Screenshots of the pages go to test-output/interactive_chromium/ for a person to look at.

import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { BrowserContext, Page } from "playwright-core";
import type { TokenResult } from "../mod.ts";
import { FakeAuthority } from "../testing/mod.ts";
import { newApp } from "./_helpers.ts";

const CHROMIUM = "/usr/bin/chromium";
const FLAGS = [
  // playwright adds --headless itself for headless: true
  "--no-sandbox",
  "--disable-gpu",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];
const ALICE = { username: "alice@contoso.com", password: "password", name: "Alice" };
const SCOPES = ["User.Read"];

const runtime = "Deno" in globalThis ? "deno" : "Bun" in globalThis ? "bun" : "node";
const skip: string | false = existsSync(CHROMIUM) ? false : `${CHROMIUM} is not installed`;
const OUTPUT = fileURLToPath(new URL("../test-output/interactive_chromium/", import.meta.url));

describe("interactive sign-in in Chromium", () => {
  let idp: FakeAuthority;
  let profile: string;
  let context: BrowserContext;

  before(async () => {
    if (skip) return;
    const { chromium } = await import("playwright-core");
    idp = await FakeAuthority.start({ users: [ALICE] });
    profile = await mkdtemp(join(tmpdir(), "authbroker-chromium-"));
    await mkdir(OUTPUT, { recursive: true });
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: FLAGS,
      viewport: { width: 800, height: 600 },
    });
  });

  after(async () => {
    await context?.close();
    await idp?.close();
    if (profile) await rm(profile, { recursive: true, force: true });
  });

  /** Waits until the page shows the loopback's final page and returns its heading. */
  async function finalPage(page: Page, port: string): Promise<string> {
    await page.waitForURL(`http://localhost:${port}/`);
    await page.waitForLoadState("load");
    return (await page.textContent("h1")) ?? "";
  }

  const redirectPort = (url: string): string => new URL(new URL(url).searchParams.get("redirect_uri")!).port;

  it(
    "the user types username and password; the browser posts the code to the loopback; the app has a token",
    { skip },
    async () => {
      const page = await context.newPage();
      let port = "";
      const result = await newApp(idp).acquireTokenInteractive(SCOPES, {
        timeoutMs: 60_000,
        openBrowser: async (url) => {
          port = redirectPort(url);
          await page.goto(url);
          assert.equal(await page.title(), "Sign in");
          await page.locator("#username").fill(ALICE.username);
          await page.locator("#password").fill(ALICE.password);
          await page.screenshot({ path: join(OUTPUT, `${runtime}-1-login.png`) });
          await page.locator("#submit").click();
        },
      });
      assert.ok("access_token" in result, JSON.stringify(result));
      const token = result as TokenResult;
      assert.equal(token.token_source, "identity_provider");
      assert.equal(token.account?.username, ALICE.username);
      assert.equal(token.account?.account_source, "authorization_code");

      assert.equal(await finalPage(page, port), "Authentication complete");
      assert.match(await page.textContent("body") ?? "", /You can close this window/);
      await page.screenshot({ path: join(OUTPUT, `${runtime}-2-success.png`) });
      await page.close();
    },
  );

  it("a second sign-in in the same browser uses the session: no sign-in page", { skip }, async () => {
    const page = await context.newPage();
    const navigations: string[] = [];
    page.on("request", (request) => {
      if (request.isNavigationRequest()) {
        navigations.push(`${request.method()} ${new URL(request.url()).pathname}`);
      }
    });
    let port = "";
    const result = await newApp(idp).acquireTokenInteractive(SCOPES, {
      timeoutMs: 60_000,
      openBrowser: async (url) => {
        port = redirectPort(url);
        await page.goto(url, { waitUntil: "commit" });
      },
    });
    assert.ok("access_token" in result, JSON.stringify(result));
    assert.equal(await finalPage(page, port), "Authentication complete");
    // Straight from the authorize endpoint to the loopback: no sign-in page in between.
    assert.deepEqual(navigations, ["GET /organizations/oauth2/v2.0/authorize", "POST /"]);
    await page.close();
  });

  it(
    "Cancel on the sign-in page: the app gets access_denied and the browser shows the error page",
    { skip },
    async () => {
      const page = await context.newPage();
      let port = "";
      const result = await newApp(idp).acquireTokenInteractive(SCOPES, {
        timeout: 60,
        prompt: "login",
        openBrowser: async (url) => {
          port = redirectPort(url);
          await page.goto(url);
          await page.locator("#cancel").click();
        },
      });
      assert.ok("error" in result, JSON.stringify(result));
      assert.equal(result.error, "access_denied");
      assert.equal(await finalPage(page, port), "Authentication failed");
      assert.match(await page.textContent("body") ?? "", /access_denied/);
      await page.screenshot({ path: join(OUTPUT, `${runtime}-3-cancelled.png`) });
      await page.close();
    },
  );
});
