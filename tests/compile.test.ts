/**
 * `npm run compile`: the single-file `authbroker` executable built with `bun build --compile` runs
 * without any runtime installed next to it: `doctor`, and a device-code `token` against the fake
 * authority followed by a second `token` answered from the persisted cache.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { FakeAuthority, FakeLinuxBroker, startPrivateBus } from "../testing/mod.ts";
import { ROOT, start, tempDir } from "./_cli.ts";

describe("the single-file authbroker executable", () => {
  let dir: { path: string; remove(): void };
  let binary: string;
  let idp: FakeAuthority;

  before(async () => {
    dir = tempDir("authbroker-compile-");
    binary = join(dir.path, "authbroker");
    // The same command as `npm run compile`, into a folder of this test's own.
    const script = JSON.parse(
      await (await import("node:fs/promises")).readFile(join(ROOT, "package.json"), "utf8"),
    )
      .scripts.compile as string;
    const args = script.replace(/^bun /, "").replace("dist/authbroker", binary).split(" ");
    const build = await start([join(ROOT, "node_modules/.bin/bun"), ...args]).finished;
    assert.equal(build.code, 0, build.stderr + build.stdout);
    idp = await FakeAuthority.start({ deviceCodeInterval: 1 });
  });
  after(async () => {
    await idp?.close();
    dir.remove();
  });

  it("runs doctor with no runtime on the PATH", async () => {
    const { code, stdout, stderr } = await start([binary, "doctor", "--json"], {
      PATH: "/nonexistent",
      AUTHBROKER_CACHE_DIR: join(dir.path, "cache"),
    }).finished;
    assert.equal(code, 0, stderr);
    const report = JSON.parse(stdout);
    assert.equal(report.runtime.name, "bun");
    const linux = report.flags.find((flag: { flag: string }) => flag.flag === "enableBrokerOnLinux");
    assert.equal(linux.applies, true);
    assert.equal(linux.redirectUri, "https://login.microsoftonline.com/common/oauth2/nativeclient");
  });

  it("signs in with the device code, then answers from its cache with no network", async () => {
    const env = { PATH: "/nonexistent", AUTHBROKER_CACHE_DIR: join(dir.path, "cache") };
    const args = ["token", "--client-id", "c0ffee00-1111-2222-3333-444455556666", "--scope", "User.Read"];
    args.push("--authority", idp.authority("organizations"));
    const run = start([binary, ...args, "--device-code"], env);
    const [, userCode] = await run.waitForStderr(/enter the code (\S+) to authenticate/);
    idp.approveDeviceCode(userCode, "alice@contoso.com");
    const first = await run.finished;
    assert.equal(first.code, 0, first.stderr);
    assert.match(first.stdout, /^eyJ[\w-]+\.[\w-]+\.[\w-]+\n$/);

    idp.clearRequests();
    const second = await start([binary, ...args, "--json"], env).finished;
    assert.equal(second.code, 0, second.stderr);
    assert.equal(JSON.parse(second.stdout).token_source, "cache");
    assert.equal(JSON.parse(second.stdout).access_token, first.stdout.trim());
    assert.equal(idp.requests.length, 0);
  });

  it("carries the Linux broker plugin and dbus-next: doctor reaches a broker on the bus", async () => {
    const bus = await startPrivateBus();
    const broker = await FakeLinuxBroker.start({ address: bus.address, profile: "2.0.1" });
    try {
      const { code, stdout, stderr } = await start([binary, "doctor", "--json"], {
        PATH: "/nonexistent",
        AUTHBROKER_CACHE_DIR: join(dir.path, "cache"),
        DBUS_SESSION_BUS_ADDRESS: bus.address,
      }).finished;
      assert.equal(code, 0, stderr);
      const linux = JSON.parse(stdout).flags.find((flag: { flag: string }) =>
        flag.flag === "enableBrokerOnLinux"
      );
      assert.equal(linux.brokerAnswers, true, JSON.stringify(linux));
      assert.equal(linux.broker, "microsoft-identity-broker 2.0.1");
    } finally {
      await broker.close();
      await bus.stop();
    }
  });
});
