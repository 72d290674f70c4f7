/**
 * The `authbroker` command, spawned as a process under the runtime running the tests (so Deno, Bun and
 * Node across the three test runs), against the fake authority: output, exit codes, the `--json`
 * shape, the persisted cache reused by a second process with no network, doctor, and Ctrl-C.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { readdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { FakeAuthority, FakeLinuxBroker, type PrivateBus, startPrivateBus } from "../testing/mod.ts";
import { cli, ROOT, runtimeCommand, start, tempDir } from "./_cli.ts";
import { CLIENT_ID } from "./_helpers.ts";

const DEVICE_CODE = /enter the code (\S+) to authenticate/;

describe("authbroker CLI", () => {
  let idp: FakeAuthority;
  let cache: { path: string; remove(): void };
  let env: Record<string, string>;
  const tokenArgs = (): string[] => [
    "token",
    "--client-id",
    CLIENT_ID,
    "--scope",
    "User.Read",
    "--authority",
    idp.authority("organizations"),
  ];

  before(async () => {
    idp = await FakeAuthority.start({
      users: [
        { username: "alice@contoso.com", password: "password", name: "Alice" },
        { username: "bob@contoso.com", password: "hunter2", name: "Bob" },
      ],
      deviceCodeInterval: 1,
    });
    cache = tempDir();
    // A cache folder of its own, and no broker or browser of the machine's.
    env = { AUTHBROKER_CACHE_DIR: cache.path, BROWSER: "", DISPLAY: "", DBUS_SESSION_BUS_ADDRESS: "" };
  });
  after(async () => {
    await idp.close();
    cache.remove();
  });
  /** The same environment with an empty cache folder of its own: the next `token` must sign in. */
  const freshEnv = (): Record<string, string> => {
    const fresh = tempDir();
    cleanups.push(fresh.remove);
    return { ...env, AUTHBROKER_CACHE_DIR: fresh.path };
  };
  const cleanups: (() => void)[] = [];
  after(() => cleanups.forEach((cleanup) => cleanup()));

  it("signs in with the device code, printing the message on stderr and only the token on stdout", async () => {
    const run = cli([...tokenArgs(), "--device-code"], env);
    const [, userCode] = await run.waitForStderr(DEVICE_CODE);
    idp.approveDeviceCode(userCode, "alice@contoso.com");
    const { code, stdout, stderr } = await run.finished;
    assert.equal(code, 0, stderr);
    assert.match(stdout, /^eyJ[\w-]+\.[\w-]+\.[\w-]+\n$/);
    assert.match(
      stderr,
      /To sign in, use a web browser to open the page http:\/\/127\.0\.0\.1:\d+\/devicelogin/,
    );
    assert.doesNotMatch(stderr, /⠋|\r/, "no spinner when stderr is not a terminal");
  });

  it("answers a second process from the persisted cache with no network at all", async () => {
    idp.clearRequests();
    const { code, stdout, stderr } = await cli([...tokenArgs(), "--json"], env).finished;
    assert.equal(code, 0, stderr);
    assert.equal(stderr, "");
    assert.deepEqual(
      idp.requests.map((r) => r.path),
      [],
      "discovery and token both came from the cache folder",
    );
    const result = JSON.parse(stdout);
    assert.equal(result.token_source, "cache");
    assert.equal(result.token_type, "Bearer");
    assert.equal(typeof result.expires_in, "number");
    assert.match(result.access_token, /^eyJ/);
    assert.equal(result.account.username, "alice@contoso.com");
    assert.equal(result.id_token_claims.preferred_username, "alice@contoso.com");
  });

  it("lists accounts as lines and as JSON, from the cache and for one app", async () => {
    const plain = await cli(["accounts"], env).finished;
    assert.equal(plain.code, 0, plain.stderr);
    assert.match(plain.stdout, /^alice@contoso\.com\t[\w-]+\.[\w-]+\t127\.0\.0\.1:\d+\n$/);

    const json = await cli(
      ["accounts", "--json", "--client-id", CLIENT_ID, "--authority", idp.authority("organizations")],
      env,
    ).finished;
    assert.equal(json.code, 0, json.stderr);
    const accounts = JSON.parse(json.stdout);
    assert.equal(accounts.length, 1);
    assert.equal(accounts[0].username, "alice@contoso.com");
    assert.equal(accounts[0].account_source, "urn:ietf:params:oauth:grant-type:device_code");
  });

  it("signs in through the browser when no device code is asked for", async () => {
    const browser = [...runtimeCommand("tests/fixtures/browser_sign_in.ts"), "%s"]
      .map((word) => `'${word}'`).join(" ");
    const { code, stdout, stderr } = await cli(
      [...tokenArgs(), "--scope", "Calendars.Read", "--username", "bob@contoso.com", "--json"],
      {
        ...env,
        BROWSER: browser,
        FAKE_BROWSER_USERNAME: "bob@contoso.com",
        FAKE_BROWSER_PASSWORD: "hunter2",
      },
    ).finished;
    assert.equal(code, 0, stderr);
    assert.match(stderr, /Opening a browser to sign in/);
    const result = JSON.parse(stdout);
    assert.equal(result.token_source, "identity_provider");
    assert.equal(result.account.username, "bob@contoso.com");
    assert.equal(result.account.account_source, "authorization_code");
  });

  it("exits 3 at once, naming --device-code, when no browser can be opened", async () => {
    for (const browser of ["", "false"]) {
      const run = cli([...tokenArgs(), "--scope", "Files.Read"], {
        ...freshEnv(),
        BROWSER: browser,
        WAYLAND_DISPLAY: "",
      });
      const { code, stdout, stderr } = await run.finished;
      assert.equal(code, 3, `BROWSER=${browser}: ${stderr}`);
      assert.equal(stdout, "");
      assert.match(stderr, /^error: browser_unavailable$/m);
      assert.match(stderr, /^error_description: No browser could be opened/m);
      assert.match(stderr, /run the command again with --device-code/);
      assert.doesNotMatch(stderr, /visit this URL|https?:\/\/\S+authorize/, "no URL that leads nowhere");
    }
    const json = await cli([...tokenArgs(), "--json"], { ...freshEnv(), WAYLAND_DISPLAY: "" }).finished;
    assert.equal(json.code, 3);
    assert.equal(JSON.parse(json.stderr.slice(json.stderr.indexOf("{"))).error, "browser_unavailable");
  });

  it("logs out one account; then --silent exits 3 and asks for a sign-in", async () => {
    const out = await cli(
      [
        "logout",
        "--client-id",
        CLIENT_ID,
        "--authority",
        idp.authority("organizations"),
        "--username",
        "alice@contoso.com",
      ],
      env,
    ).finished;
    assert.equal(out.code, 0, out.stderr);
    assert.equal(out.stdout, "Signed out alice@contoso.com\n");
    const left = await cli(["accounts", "--json"], env).finished;
    assert.deepEqual(JSON.parse(left.stdout).map((a: { username: string }) => a.username), [
      "bob@contoso.com",
    ]);

    const silent = await cli([...tokenArgs(), "--silent", "--username", "alice@contoso.com"], env).finished;
    assert.equal(silent.code, 3);
    assert.equal(silent.stdout, "");
    assert.match(
      silent.stderr,
      /^error: no_account\nerror_description: No signed-in account named alice@contoso\.com/,
    );
  });

  it("exits 3 with error, description and correlation id when the user declines the device code", async () => {
    const run = cli([...tokenArgs(), "--device-code", "--json"], freshEnv());
    const [, userCode] = await run.waitForStderr(DEVICE_CODE);
    idp.denyDeviceCode(userCode);
    const { code, stdout, stderr } = await run.finished;
    assert.equal(code, 3);
    assert.equal(stdout, "");
    const error = JSON.parse(stderr.slice(stderr.indexOf("{")));
    assert.equal(error.error, "authorization_declined");
    assert.equal(typeof error.error_description, "string");
    assert.match(error.correlation_id, /^[\da-f-]{36}$/);
  });

  it("exits 1 when the identity provider refuses the app, with the three lines on stderr", async () => {
    idp.failGrant("device_code", { error: "invalid_client", errorDescription: "AADSTS7000218: no client" });
    const run = cli([...tokenArgs(), "--device-code"], freshEnv());
    const [, userCode] = await run.waitForStderr(DEVICE_CODE);
    idp.approveDeviceCode(userCode, "alice@contoso.com");
    const { code, stdout, stderr } = await run.finished;
    assert.equal(code, 1);
    assert.equal(stdout, "");
    assert.match(stderr, /^error: invalid_client$/m);
    assert.match(stderr, /^error_description: AADSTS7000218: no client/m);
    assert.match(stderr, /^correlation_id: [\da-f-]{36}$/m);
  });

  it("exits 4 when the identity provider cannot be reached", async () => {
    const closed = await FakeAuthority.start();
    const authority = closed.authority("organizations");
    await closed.close();
    const { code, stderr } = await cli(
      ["token", "--client-id", CLIENT_ID, "--scope", "User.Read", "--authority", authority, "--device-code"],
      freshEnv(),
    ).finished;
    assert.equal(code, 4, stderr);
    assert.match(stderr, /^error: (network_error|authority_discovery_failed)$/m);
  });

  it("exits 2 for bad usage, naming what is wrong", async () => {
    const missing = await cli(["token", "--scope", "User.Read"], { ...env, AUTHBROKER_CLIENT_ID: "" })
      .finished;
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /--client-id is required/);
    const unknown = await cli(["token", "--client-id", CLIENT_ID, "--scope", "x", "--nope"], env).finished;
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /Unknown option '--nope'/);
    const badAuthority = await cli([
      "token",
      "--client-id",
      CLIENT_ID,
      "--scope",
      "x",
      "--authority",
      "http://evil.example/common",
    ], env).finished;
    assert.equal(badAuthority.code, 2);
    assert.match(badAuthority.stderr, /must use https/);
    const ignored = await cli(["accounts", "--authority", "not a url"], { ...env, AUTHBROKER_CLIENT_ID: "" })
      .finished;
    assert.equal(ignored.code, 2, "an option the command would ignore");
    assert.match(ignored.stderr, /--authority and --broker choose an app's accounts: add --client-id/);
    const doctorBroker = await cli(["doctor", "--broker"], env).finished;
    assert.equal(doctorBroker.code, 2);
    assert.match(doctorBroker.stderr, /Unknown option '--broker'/);
    const noValue = await cli(["token", "--client-id", "--scope", "x"], env).finished;
    assert.equal(noValue.code, 2);
    assert.match(noValue.stderr, /'--client-id' argument is ambiguous/);
    assert.doesNotMatch(noValue.stderr, /\.\./);
    const command = await cli(["tokne"], env).finished;
    assert.equal(command.code, 2);
    assert.match(command.stderr, /Unknown command "tokne"/);
    const nothing = await cli([], env).finished;
    assert.equal(nothing.code, 2, "no command is bad usage, as an unknown one");
    assert.equal(nothing.stdout, "");
    assert.match(nothing.stderr, /^authbroker: .*\n\nUsage:\n/);
    const help = await cli(["--help"], env).finished;
    assert.equal(help.code, 0);
    assert.match(help.stdout, /Exit codes: 0 ok; 1 .*; 2 bad usage; 3 .*; 4 network/s);
  });

  it("a single-value option given twice is bad usage, whichever command names it", async () => {
    for (
      const args of [
        ["token", "--client-id", "a", "--client-id", "b", "--scope", "x"],
        ["token", "--client-id=a", "--scope", "x", "--authority", "https://a.test/t", "--authority=x"],
        ["accounts", "--username", "a@contoso.com", "--username", "b@contoso.com"],
        ["doctor", "--cache-dir", "/tmp/a", "--cache-dir", "/tmp/b"],
      ]
    ) {
      const { code, stdout, stderr } = await cli(args, env).finished;
      assert.equal(code, 2, args.join(" "));
      assert.equal(stdout, "");
      assert.match(stderr, /^authbroker: --(client-id|authority|username|cache-dir) is given more than once/);
    }
  });

  it("--version and -V print the package version and exit 0", async () => {
    const { version } = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8"));
    for (const flag of ["--version", "-V"]) {
      const { code, stdout } = await cli([flag], env).finished;
      assert.equal(code, 0, flag);
      assert.equal(stdout, `${version}\n`);
    }
    const help = await cli(["--help"], env).finished;
    assert.match(help.stdout, /--version \| -V/);
  });

  it("Ctrl-C during the device-code wait cancels and exits 130", async () => {
    const run = cli([...tokenArgs(), "--device-code"], freshEnv());
    await run.waitForStderr(DEVICE_CODE);
    const polls = idp.requestsTo("token").length;
    run.kill("SIGINT");
    const { code, stdout, stderr } = await run.finished;
    assert.equal(code, 130, stderr);
    assert.equal(stdout, "");
    assert.match(stderr, /Cancelled\./);
    const after = idp.requestsTo("token").length;
    await new Promise((resolve) => setTimeout(resolve, 1500));
    assert.equal(idp.requestsTo("token").length, after, "no polling after the process ended");
    assert.ok(after >= polls);
  });

  it("shows a waiting indicator when stderr is a terminal", async () => {
    // `script` runs the command on a pseudo-terminal, as a person's shell would.
    const command = [...runtimeCommand("cli/main.ts"), ...tokenArgs(), "--device-code"]
      .map((word) => `'${word}'`).join(" ");
    const run = start(["script", "-qec", command, "/dev/null"], freshEnv());
    const [, userCode] = await run.waitForStdout(DEVICE_CODE);
    await run.waitForStdout(/⠋ Waiting for you to sign in\.\.\./);
    idp.approveDeviceCode(userCode, "alice@contoso.com");
    const { code, stdout } = await run.finished;
    assert.equal(code, 0, stdout);
    assert.ok(stdout.includes("\r\x1b[2K"), "the indicator's line is cleared before the token is printed");
    assert.match(stdout, /eyJ[\w-]+\.[\w-]+\.[\w-]+/);
  });

  it("doctor reports the runtime, the platform, each flag, the cache, and a fix for each problem", async () => {
    const { code, stdout, stderr } = await cli(["doctor", "--json", "--client-id", CLIENT_ID], env).finished;
    assert.equal(code, 0, stderr);
    const report = JSON.parse(stdout);
    const runtime = "Deno" in globalThis ? "deno" : "Bun" in globalThis ? "bun" : "node";
    assert.equal(report.runtime.name, runtime);
    assert.equal(report.platform, "linux");
    assert.equal(report.wsl, false);
    assert.deepEqual(report.flags.map((f: { flag: string; with?: string }) => [f.flag, f.with]), [
      ["enableBrokerOnWindows", undefined],
      ["enableBrokerOnWsl", undefined],
      ["enableBrokerOnMac", undefined],
      ["enableBrokerOnLinux", undefined],
      ["enableBrokerOnLinux", 'linuxBroker: "msalruntime"'],
    ]);
    const viaRuntime = report.flags[4];
    assert.equal(viaRuntime.applies, true);
    assert.equal(viaRuntime.dependency, "@azure/msal-node-runtime");
    assert.equal(viaRuntime.dependencyInstalled, true);
    assert.equal(viaRuntime.brokerAnswers, false);
    assert.equal(typeof viaRuntime.reason, "string");
    const linux = report.flags[3];
    assert.equal(linux.applies, true);
    assert.equal(linux.brokerAnswers, false);
    assert.equal(linux.redirectUri, "https://login.microsoftonline.com/common/oauth2/nativeclient");
    assert.equal(
      report.flags[0].redirectUri,
      `ms-appx-web://Microsoft.AAD.BrokerPlugin/${CLIENT_ID}`,
    );
    assert.equal(report.tokenCache.exists, true);
    assert.equal(report.tokenCache.readable, true);
    assert.equal(report.tokenCache.accounts, 1);
    // No browser here, but the library never switches to the device code by itself (rule 3 is the browser).
    assert.match(
      report.fallback,
      /enableBrokerOnLinux falls back to the browser sign-in .*\(rule 3: no D-Bus session bus/,
    );
    assert.match(report.fallback, /no browser here .*BrowserLaunchError.*--device-code/);
    assert.doesNotMatch(report.fallback, /falls back to the device-code flow/);
    assert.ok(report.problems.length > 0);
    for (const problem of report.problems) assert.match(problem, /\. Fix: \S/);
    assert.ok(report.problems.some((p: string) => /session bus/.test(p)));
    assert.equal(
      new Set(report.problems.map((p: string) => p.split(". Fix: ")[1])).size,
      report.problems.length,
    );

    const text = await cli(["doctor"], env).finished;
    assert.equal(text.code, 0);
    assert.match(text.stdout, /^runtime {7}\w+ \d/m);
    assert.match(text.stdout, /^session bus {3}none: .*Fix: /m);
    // No bus: every Linux flag line names the same cause and the same fix as the session bus line.
    const busFix = report.sessionBus.fix;
    for (const flag of report.flags.slice(3)) {
      assert.equal(flag.fix, busFix, flag.with ?? flag.flag);
      assert.ok(flag.reason.startsWith(report.sessionBus.problem), flag.reason);
    }
  });

  it("doctor with a session bus but no broker on it says to install the broker, not to find a bus", async () => {
    const bus = await startPrivateBus();
    try {
      const { code, stdout, stderr } = await cli(["doctor", "--json"], {
        ...env,
        DBUS_SESSION_BUS_ADDRESS: bus.address,
      }).finished;
      assert.equal(code, 0, stderr);
      const report = JSON.parse(stdout);
      assert.equal(report.sessionBus.address, bus.address);
      assert.equal(report.sessionBus.problem, undefined);
      for (const flag of report.flags.slice(3)) {
        assert.equal(flag.brokerAnswers, false);
        assert.match(
          flag.fix,
          /install Microsoft's identity broker \(sudo apt install microsoft-identity-broker/,
        );
        assert.doesNotMatch(flag.fix, /desktop session|DBUS_SESSION_BUS_ADDRESS/);
      }
      assert.match(
        report.flags[3].reason,
        /not installed: com\.microsoft\.identity\.broker1 is neither running/,
      );
      assert.equal(report.problems.length, 1);
      assert.match(
        report.problems[0],
        /^enableBrokerOnLinux: .*not installed.*\. Fix: install Microsoft's identity broker/,
      );

      const text = await cli(["doctor"], { ...env, DBUS_SESSION_BUS_ADDRESS: bus.address }).finished;
      assert.doesNotMatch(text.stdout, /desktop session/);
    } finally {
      await bus.stop();
    }
  });
});

describe("the ./cli entry", () => {
  const version = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")).version;

  it("imported, runs nothing and prints nothing; main(argv) runs a command and resolves its exit code", async () => {
    const { code, stdout, stderr } = await start(runtimeCommand("tests/fixtures/import_cli.ts")).finished;
    assert.equal(stderr, "");
    assert.equal(stdout, `imported: main function, run function\n${version}\nmain resolved 0\n`);
    assert.equal(code, 0);
  });

  it("runs as the program through a symlink, as npm's node_modules/.bin/authbroker", async () => {
    const dir = tempDir();
    try {
      const bin = join(dir.path, "authbroker");
      symlinkSync(join(ROOT, "cli/main.ts"), bin);
      // Deno never runs a package's bin through a symlink (`deno install` writes a script), so the path.
      const command = "Deno" in globalThis
        ? runtimeCommand("cli/main.ts")
        : [...runtimeCommand("cli/main.ts").slice(0, -1), bin];
      const { code, stdout, stderr } = await start([...command, "--version"]).finished;
      assert.equal(code, 0, stderr);
      assert.equal(stdout, `${version}\n`);
    } finally {
      dir.remove();
    }
  });
});

describe("authbroker CLI with the fake Linux broker on a private bus", () => {
  let idp: FakeAuthority;
  let bus: PrivateBus;
  let broker: FakeLinuxBroker;
  let cache: { path: string; remove(): void };
  let env: Record<string, string>;
  const args = (...more: string[]): string[] => [
    "--client-id",
    CLIENT_ID,
    "--authority",
    idp.authority("organizations"),
    ...more,
  ];

  before(async () => {
    idp = await FakeAuthority.start({
      users: [{ username: "adele@contoso.com", password: "pw", name: "Adele" }],
    });
    bus = await startPrivateBus();
    broker = await FakeLinuxBroker.start({
      address: bus.address,
      authority: idp,
      environment: new URL(idp.url).host,
    });
    cache = tempDir();
    env = {
      AUTHBROKER_CACHE_DIR: cache.path,
      BROWSER: "",
      DISPLAY: "",
      DBUS_SESSION_BUS_ADDRESS: bus.address,
    };
  });
  after(async () => {
    await broker?.close();
    await bus?.stop();
    await idp?.close();
    cache?.remove();
  });

  it("doctor finds the broker, its version, and what an opted-in app would do", async () => {
    const { code, stdout, stderr } = await cli(["doctor", "--json"], env).finished;
    assert.equal(code, 0, stderr);
    const report = JSON.parse(stdout);
    assert.equal(report.sessionBus.address, bus.address);
    const linux = report.flags.find((flag: { flag: string }) => flag.flag === "enableBrokerOnLinux");
    assert.equal(linux.dependencyInstalled, true);
    assert.equal(linux.brokerAnswers, true);
    assert.equal(linux.broker, "microsoft-identity-broker 3.0.2");
    assert.match(report.fallback, /enableBrokerOnLinux signs in through the broker/);
    assert.deepEqual(report.problems, []);
    assert.ok(broker.requestsTo("getLinuxBrokerVersion").length >= 1);
  });

  it("token --broker gets the device account's token from the broker, then from the persisted cache", async () => {
    const first = await cli(["token", ...args("--scope", "User.Read", "--broker", "--json")], env).finished;
    assert.equal(first.code, 0, first.stderr);
    const result = JSON.parse(first.stdout);
    assert.equal(result.token_source, "broker");
    assert.equal(result.account.username, "adele@contoso.com");
    assert.equal(result.account.account_source, "broker");

    idp.clearRequests();
    const second = await cli(["token", ...args("--scope", "User.Read", "--broker", "--json")], env).finished;
    assert.equal(second.code, 0, second.stderr);
    assert.equal(JSON.parse(second.stdout).token_source, "cache");
    assert.equal(JSON.parse(second.stdout).access_token, result.access_token);
    assert.equal(idp.requests.length, 0);

    const listed = await cli(["accounts", "--json", ...args("--broker")], env).finished;
    assert.deepEqual(JSON.parse(listed.stdout).map((a: { username: string }) => a.username), [
      "adele@contoso.com",
    ]);
  });

  it("a broker error is an error result with exit 1, and the browser is never opened (rule 4)", async () => {
    broker.fail("acquireTokenSilently", { kind: "error", status: 0, context: "Broker exploded" }, 2);
    const fresh = tempDir();
    try {
      const authorize = idp.requestsTo("authorize").length;
      const { code, stdout, stderr } = await cli(
        ["token", ...args("--scope", "Mail.Read", "--broker")],
        { ...env, AUTHBROKER_CACHE_DIR: fresh.path },
      ).finished;
      assert.equal(code, 1, stderr);
      assert.equal(stdout, "");
      assert.match(stderr, /^error: broker_error$/m);
      assert.match(stderr, /^error_description: Broker exploded/m);
      assert.match(stderr, /^correlation_id: [\da-f-]{36}$/m);
      assert.equal(idp.requestsTo("authorize").length, authorize);
    } finally {
      fresh.remove();
    }
  });

  it("a corrupt cache file is moved aside with a warning, and the command goes on", async () => {
    const fresh = tempDir();
    try {
      writeFileSync(join(fresh.path, "token_cache.json"), "{ not json");
      const { code, stdout, stderr } = await cli(
        ["token", ...args("--scope", "User.Read", "--broker")],
        { ...env, AUTHBROKER_CACHE_DIR: fresh.path },
      ).finished;
      assert.equal(code, 0, stderr);
      assert.match(stdout, /^eyJ/);
      assert.match(stderr, /^warning: The token cache at .*token_cache\.json was corrupt; it was moved to /m);
      assert.ok(readdirSync(fresh.path).some((name) => name.startsWith("token_cache.json.corrupt-")));
    } finally {
      fresh.remove();
    }
  });
});
