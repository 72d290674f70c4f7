/**
 * `authbroker demo` (what `npm run demo` runs), as a process under the runtime running the tests: it
 * finishes with exit code 0 and shows broker single sign-on and each fallback rule doing what it says;
 * without dbus-daemon it says so and still runs the rest.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { cli } from "./_cli.ts";

describe("authbroker demo", () => {
  it("walks through the sample through the broker and the four rules, and exits 0", async () => {
    const { code, stdout, stderr } = await cli(["demo"]).finished;
    assert.equal(code, 0, stderr);
    assert.match(stdout, /a private D-Bus session bus \(dbus-daemon\) with a fake microsoft-identity-broker/);
    // The sample, through the broker: signed in by the broker, then from the cache, then silently from the broker.
    assert.match(stdout, /brokerStatus\(\): enabled/);
    assert.match(
      stdout,
      /acquireTokenInteractive\(parentWindowHandle: CONSOLE_WINDOW_HANDLE\) -> a token for adele@contoso\.com \(token_source: broker\)/,
    );
    assert.match(
      stdout,
      /the second call -> a token for adele@contoso\.com \(token_source: cache\); the broker was not asked/,
    );
    assert.match(stdout, /another scope -> a token for adele@contoso\.com \(token_source: broker\)/);
    // Rule 1.
    assert.match(stdout, /-> broker off: authority B2C is not supported by the broker/);
    assert.match(stdout, /-> broker off: authority ADFS is not supported by the broker/);
    assert.match(stdout, /The broker received 0 calls/);
    // Rule 2.
    assert.match(
      stdout,
      /throws BrokerDependencyError:\n +"You need to install dependency by: (npm install |bun add |deno add npm:)authbroker-demo-missing-dependency"/,
    );
    // Rule 4.
    assert.match(stdout, /-> \{ error: "broker_error", error_description: "Simulated broker failure/);
    assert.match(stdout, /The browser was not opened\./);
    // Rule 3.
    assert.match(stdout, /brokerStatus\(\) -> off: .*not installed/);
    assert.match(stdout, /We will fallback to non-broker\./);
    assert.match(
      stdout,
      /megan@contoso\.com types the password -> a token for megan@contoso\.com \(token_source: identity_provider\)/,
    );
    assert.doesNotMatch(stdout, /unexpected/);
  });

  it("says so when dbus-daemon is missing, and runs the rest", async () => {
    const { code, stdout, stderr } = await cli(["demo"], { PATH: "/nonexistent", XDG_RUNTIME_DIR: "" })
      .finished;
    assert.equal(code, 0, stderr);
    assert.match(stdout, /no broker: Cannot run dbus-daemon\b.*Install it/);
    // Every step keeps its number; the two that need the broker say they are skipped, and why.
    assert.match(stdout, /Steps 1 and 4 need the broker and are skipped/);
    assert.match(stdout, /^1\. The console sample.*\n +\(skipped: no broker here, see Set-up\)/m);
    assert.match(stdout, /^2\. Rule 1/m);
    assert.match(stdout, /^3\. Rule 2/m);
    assert.match(stdout, /^4\. Rule 4.*\n +\(skipped: no broker here, see Set-up\)/m);
    assert.match(stdout, /^5\. Rule 3/m);
    assert.deepEqual(stdout.match(/^\d\./gm), ["1.", "2.", "3.", "4.", "5."]);
    // dbus-next is installed here, so rule 2 is simulated, and says so.
    assert.match(stdout, /\(Simulated: dbus-next is installed here/);
    assert.match(stdout, /brokerStatus\(\) -> off: /);
    assert.match(stdout, /token_source: identity_provider/);
    assert.doesNotMatch(stdout, /unexpected/);
  });
});
