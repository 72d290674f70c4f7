import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { TokenCache, type TokenResult } from "../mod.ts";
import { CONSOLE_WINDOW_HANDLE } from "../broker.ts";
import { FakeAuthority, FakeBroker, fakeBrokerAccount } from "../testing/mod.ts";
import { scrubPii } from "../core/log.ts";
import { FetchBrowser } from "./_browser.ts";
import { newApp, recordingLogger, withBrowserEnv } from "./_helpers.ts";

const USER = { username: "pii.person@contoso.com", password: "s3cret-password", name: "Pat Person" };
const SCOPES = ["User.Read"];

let idp: FakeAuthority;
before(async () => {
  idp = await FakeAuthority.start({ users: [USER], deviceCodeInterval: 0 });
});
after(() => idp.close());

describe("with PII logging off, no secret or identifier reaches any log line", () => {
  it("device code, interactive (loginHint, failing BROWSER), refresh, silent and broker flows", async () => {
    const { logger, logged } = recordingLogger(); // every level, PII logging off (the default)
    const lines = () => logged.map(({ level, message }) => `${level}: ${message}`);
    const secrets = new Set<string>([USER.username, USER.password, USER.name]);
    const keep = (value: unknown) => {
      if (typeof value === "string" && value.length >= 4) secrets.add(value);
    };
    const keepResult = (result: unknown) => {
      assert.ok(result && typeof result === "object" && "access_token" in result, JSON.stringify(result));
      const token = result as TokenResult;
      for (const value of [token.access_token, token.refresh_token, token.id_token, token.client_info]) {
        keep(value);
      }
      keep(token.account?.home_account_id);
      keep(token.account?.local_account_id);
      return token;
    };
    const cache = new TokenCache();
    const app = newApp(idp, {
      logger,
      tokenCache: cache,
    });

    // Device code.
    const flow = await app.initiateDeviceFlow(SCOPES);
    assert.ok("user_code" in flow);
    keep(flow.user_code);
    keep(flow.device_code);
    idp.approveDeviceCode(flow.user_code, USER.username);
    keepResult(await app.acquireTokenByDeviceFlow(flow));

    // Interactive, with a login hint, through a browser that cannot be opened.
    let authorizeUrl = "";
    const interactive = await withBrowserEnv("%s", () =>
      app.acquireTokenInteractive(SCOPES, {
        loginHint: USER.username,
        prompt: "login",
        timeout: 60,
        onBrowserUnavailable: (error) => {
          authorizeUrl = error.url;
          void new FetchBrowser().signIn(error.url, USER);
        },
      }));
    const token = keepResult(interactive);
    assert.ok(authorizeUrl, "the launch failed and the URL was handed over");
    const query = new URL(authorizeUrl).search;
    keep(query.slice(1));
    const params = new URL(authorizeUrl).searchParams;
    for (const name of ["state", "nonce", "code_challenge", "login_hint", "X-AnchorMailbox"]) {
      keep(params.get(name));
    }

    // Refresh, silent (cache and network), a failing refresh.
    keepResult(await app.acquireTokenByRefreshToken(token.refresh_token!, SCOPES));
    const [account] = await app.getAccounts({ username: USER.username });
    keepResult(await app.acquireTokenSilent(SCOPES, { account }));
    keepResult(await app.acquireTokenSilent(SCOPES, { account, forceRefresh: true }));
    idp.failGrant("refresh_token", { error: "invalid_grant" });
    await app.acquireTokenSilent(["Mail.Read"], { account });

    // Through a broker.
    const brokerAccount = fakeBrokerAccount({ username: USER.username, id: "broker-id-7d1" });
    keep(brokerAccount.id);
    const broker = new FakeBroker({ accounts: [brokerAccount] });
    const brokered = newApp(idp, {
      platform: "linux",
      enableBrokerOnLinux: true,
      brokers: { linux: broker },
      logger,
    });
    const fromBroker = keepResult(
      await brokered.acquireTokenInteractive(SCOPES, {
        parentWindowHandle: CONSOLE_WINDOW_HANDLE,
        loginHint: USER.username,
        prompt: "select_account",
      }),
    );
    keepResult(await brokered.acquireTokenSilent(SCOPES, { account: fromBroker.account! }));
    await brokered.getAccounts({ username: USER.username });

    // Everything the identity provider received: codes, verifiers, device codes, refresh tokens.
    for (const request of idp.requestsTo("token")) {
      for (const field of ["code", "code_verifier", "device_code", "refresh_token", "password"]) {
        keep(request.form[field]);
      }
    }

    assert.ok(lines().length >= 5, `the flows logged (${lines().length} lines)`);
    const leaks = lines().flatMap((line) =>
      [...secrets].filter((secret) => line.includes(secret)).map((secret) => `${secret} in: ${line}`)
    );
    assert.deepEqual(leaks, []);
    const queries = lines().filter((line) => /\?[^\s?]*=/.test(line));
    assert.deepEqual(queries, [], "no URL with a query string");
    const local = USER.username.split("@")[0];
    assert.deepEqual(
      lines().filter((line) => line.includes(local)),
      [],
      "not even the username's local part",
    );
  });
});

describe("scrubPii, the safety net under every log line", () => {
  it("keeps a URL's origin and path, drops its query, and hides sign-in names", () => {
    assert.equal(
      scrubPii(
        "Could not list accounts of bob@contoso.com at https://idp.example/t/authorize?login_hint=bob#x",
      ),
      "Could not list accounts of (pii) at https://idp.example/t/authorize?(pii)",
    );
    assert.equal(scrubPii("npm install @azure/msal-node-runtime"), "npm install @azure/msal-node-runtime");
  });
});
