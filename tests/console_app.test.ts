/**
 * The seed's sample (`samples/console_app.ts`, MSAL Python's console sample from its Linux broker guide)
 * run as a process under the runtime running the tests, against the fake authority.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { FakeAuthority, FakeLinuxBroker, startPrivateBus } from "../testing/mod.ts";
import { runtimeCommand, start, tempDir } from "./_cli.ts";

describe("samples/console_app.ts", () => {
  let idp: FakeAuthority;
  let dir: { path: string; remove(): void };
  let config: string;

  before(async () => {
    idp = await FakeAuthority.start({ users: [{ username: "adele@contoso.com", password: "pw" }] });
    dir = tempDir("console-app-");
    config = join(dir.path, "config.json");
    writeFileSync(
      config,
      JSON.stringify({
        authority: idp.authority("organizations"),
        client_id: "3f9a1c2b-4d5e-6f70-8192-a3b4c5d6e7f8",
        username: "adele@contoso.com",
        scope: ["User.ReadBasic.All"],
      }),
    );
  });
  after(async () => {
    await idp.close();
    dir.remove();
  });

  it("with no config file argument, prints a usage line and exits 2", async () => {
    const { code, stdout, stderr } = await start(runtimeCommand("samples/console_app.ts")).finished;
    assert.equal(code, 2, stderr);
    assert.equal(stdout, "");
    assert.match(stderr, /^Usage: console_app <config\.json>/);
    assert.doesNotMatch(stderr, /ERR_INVALID_ARG_TYPE|TypeError/);
  });

  it("with no broker on the machine, falls back to the browser sign-in and prints the token", async () => {
    const browser = [...runtimeCommand("tests/fixtures/browser_sign_in.ts"), "%s"].map((w) => `'${w}'`).join(
      " ",
    );
    const { code, stdout, stderr } = await start([...runtimeCommand("samples/console_app.ts"), config], {
      BROWSER: browser,
      FAKE_BROWSER_USERNAME: "adele@contoso.com",
      FAKE_BROWSER_PASSWORD: "pw",
      DBUS_SESSION_BUS_ADDRESS: "unix:path=/nonexistent/bus",
      DEBUG: "1",
    }).finished;
    assert.equal(code, 0, stderr);
    assert.match(stdout, /^Access token is: eyJ[\w-]+\.[\w-]+\.[\w-]+\n$/);
    assert.match(stderr, /No suitable token exists in cache\. Let's get a new one from AAD\./);
    assert.match(stderr, /fallback to non-broker/i, "rule 3 is logged");
    assert.equal(idp.requestsTo("authorize").length >= 1, true);
  });

  it("with the Linux broker, signs the device's account in through the broker (MSAL Python's Linux story)", async () => {
    const bus = await startPrivateBus();
    const broker = await FakeLinuxBroker.start({
      address: bus.address,
      authority: idp,
      environment: new URL(idp.url).host,
    });
    try {
      const authorize = idp.requestsTo("authorize").length;
      const { code, stdout, stderr } = await start([...runtimeCommand("samples/console_app.ts"), config], {
        DBUS_SESSION_BUS_ADDRESS: bus.address,
        BROWSER: "",
        DEBUG: "1",
      }).finished;
      assert.equal(code, 0, stderr);
      assert.match(stdout, /^Access token is: eyJ[\w-]+\.[\w-]+\.[\w-]+\n$/);
      // The broker listed the device's account, so the sample's silent call was answered by the broker.
      assert.match(stderr, /Account\(s\) exists in cache, probably with token too\. Let's try\./);
      assert.equal(broker.requestsTo("getAccounts").length >= 1, true);
      assert.equal(broker.requestsTo("acquireTokenSilently").length, 1);
      assert.equal(idp.requestsTo("authorize").length, authorize, "no browser");
    } finally {
      await broker.close();
      await bus.stop();
    }
  });

  it("is what the README's quick start shows, with the package's import name", () => {
    const read = (path: string): string => readFileSync(new URL(path, import.meta.url), "utf8");
    const sample = read("../samples/console_app.ts");
    const code = sample.slice(sample.indexOf("\nimport ") + 1).replace(
      'from "../mod.ts"',
      'from "@authbroker/msal"',
    );
    assert.ok(
      read("../README.md").includes("```ts\n" + code + "```"),
      "README.md must show samples/console_app.ts",
    );
  });
});
