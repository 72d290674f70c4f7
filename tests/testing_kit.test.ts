// The testing kit works with itself and as the README shows: a FakeBroker beside a FakeAuthority needs
// no extra option, and every flow has a documented way to finish (approveDeviceCode, signInAs).
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { PublicClientApplication } from "../mod.ts";
import { FakeAuthority, FakeBroker, fakeBrokerAccount } from "../testing/mod.ts";
import { signInAt } from "../testing/_user_agent.ts";

const USER = { username: "ada@contoso.com", password: "pw" };
let idp: FakeAuthority;
before(async () => {
  idp = await FakeAuthority.start({ users: [USER] });
});
after(() => idp.close());

describe("FakeBroker with a FakeAuthority", () => {
  it("lists the broker's account and serves silent calls with no environment option", async () => {
    const broker = new FakeBroker({ accounts: [fakeBrokerAccount({ username: USER.username })] });
    const app = new PublicClientApplication("kit-client", {
      authority: idp.authority("organizations"),
      enableBrokerOnLinux: true,
      platform: "linux",
      brokers: { linux: broker },
    });
    const [account, ...others] = await app.getAccounts();
    assert.equal(others.length, 0);
    assert.equal(account?.username, USER.username);
    assert.equal(account.environment, new URL(idp.url).host);
    const result = await app.acquireTokenSilent(["User.Read"], { account });
    assert.equal(result?.token_source, "broker");
    assert.equal(result?.account?.environment, new URL(idp.url).host);
  });

  it("keeps an environment the test names", () => {
    const account = fakeBrokerAccount({ username: USER.username, environment: "login.microsoftonline.us" });
    assert.equal(account.environment, "login.microsoftonline.us");
  });
});

describe("FakeAuthority.signInAs", () => {
  for (const responseMode of ["form_post", "query"] as const) {
    it(`signs the user in for acquireTokenInteractive (${responseMode})`, async () => {
      const app = new PublicClientApplication("kit-client", { authority: idp.authority("organizations") });
      const result = await app.acquireTokenInteractive(["User.Read"], {
        openBrowser: idp.signInAs(USER.username),
        responseMode,
      });
      assert.ok("access_token" in result, JSON.stringify(result));
      assert.equal(result.account?.username, USER.username);
    });
  }

  it("answers the consent page as told: cancel gives access_denied", async () => {
    const app = new PublicClientApplication("kit-client", { authority: idp.authority("organizations") });
    const result = await app.acquireTokenInteractive(["User.Read"], {
      openBrowser: idp.signInAs(USER.username, { consent: "cancel" }),
      prompt: "consent",
    });
    assert.equal("error" in result && result.error, "access_denied");
  });

  it("refuses an unknown user at once", () => {
    assert.throws(() => idp.signInAs("nobody@contoso.com"), /Unknown user/);
  });

  it("a sign-in the fake refuses rejects with the text of its error page, not only its title", async () => {
    const app = new PublicClientApplication("kit-client", { authority: idp.authority("organizations") });
    const good = new URL(
      await app.getAuthorizationRequestUrl(["User.Read"], { redirectUri: "http://127.0.0.1:9/callback" }),
    );
    const refused: [string, (url: URL) => void, RegExp][] = [
      ["no client_id", (url) => url.searchParams.delete("client_id"), /AADSTS900144: .*'client_id'/],
      ["no redirect_uri", (url) => url.searchParams.delete("redirect_uri"), /AADSTS500113: No reply address/],
      [
        "a redirect URI that is not loopback",
        (url) => url.searchParams.set("redirect_uri", "https://app.example/callback"),
        /AADSTS50011: The redirect URI 'https:\/\/app\.example\/callback' specified in the request/,
      ],
      [
        "an unknown tenant",
        (url) => url.pathname = url.pathname.replace("organizations", "nowhere"),
        /AADSTS90002/,
      ],
    ];
    for (const [what, change, message] of refused) {
      const url = new URL(good);
      change(url);
      await assert.rejects(idp.signInAs(USER.username)(url.href), (error: Error) => {
        assert.match(
          error.message,
          /^The fake authority showed an error page instead of the sign-in \(HTTP 400/,
          what,
        );
        assert.match(error.message, message, what);
        return true;
      });
    }
  });
});

describe("the user agent behind signInAs", () => {
  it("stops at a sign-in page that shows an error, with its text, instead of submitting it again", async () => {
    const app = new PublicClientApplication("kit-client", { authority: idp.authority("organizations") });
    const url = await app.getAuthorizationRequestUrl(["User.Read"], { redirectUri: "http://127.0.0.1:9/cb" });
    await assert.rejects(
      signInAt(url, { fetch: idp.fetch, username: USER.username, password: "wrong" }),
      (error: Error) => {
        assert.match(
          error.message,
          /^The fake authority refused the sign-in \(HTTP 200, page "Sign in"\): Your account or password is incorrect/,
        );
        return true;
      },
    );
  });
});

describe("the README's testing example", () => {
  it("is samples/testing_kit.ts with the package's import names", async () => {
    const readme = await readText(new URL("../README.md", import.meta.url));
    const sample = await readText(new URL("../samples/testing_kit.ts", import.meta.url));
    const code = sample.slice(sample.indexOf("\nimport ") + 1)
      .replace('from "../mod.ts"', 'from "@authbroker/msal"')
      .replace('from "../testing/mod.ts"', 'from "@authbroker/msal/testing"');
    assert.ok(readme.includes("```ts\n" + code + "```"), "README.md must show samples/testing_kit.ts");
  });

  it("runs", async () => {
    await import("../samples/testing_kit.ts");
  });
});

async function readText(url: URL): Promise<string> {
  const { readFile } = await import("node:fs/promises");
  return await readFile(url, "utf8");
}
