import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { chmod, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openSystemBrowser } from "../flows/browser.ts";
import { detectPlatform } from "../core/platform.ts";
import { BrowserLaunchError, ConfigurationError } from "../core/errors.ts";

const URL_ = "https://login.example.test/authorize?client_id=abc&state=x%20y&scope=openid+profile";
const DISPLAY = { DISPLAY: ":0" };

type Outcome = number | "ENOENT";

/** A fake spawn: records every call and answers from `outcomes` (by command), default ENOENT. */
function fakeSpawn(outcomes: Record<string, Outcome> = {}) {
  const calls: { command: string; args: string[] }[] = [];
  const spawn = (command: string, args: string[]): Promise<number> => {
    calls.push({ command, args });
    const outcome = outcomes[command] ?? "ENOENT";
    if (outcome === "ENOENT") {
      return Promise.reject(Object.assign(new Error(`spawn ${command} ENOENT`), { code: "ENOENT" }));
    }
    return Promise.resolve(outcome);
  };
  return { spawn, calls, commands: () => calls.map((c) => c.command) };
}

describe("openSystemBrowser: order and fallbacks", () => {
  it("Linux: tries Edge, then xdg-open", async () => {
    const fake = fakeSpawn({ "xdg-open": 0 });
    await openSystemBrowser(URL_, { platform: "linux", env: DISPLAY, spawn: fake.spawn });
    assert.deepEqual(fake.commands(), ["/usr/bin/microsoft-edge", "xdg-open"]);
    assert.deepEqual(fake.calls[1].args, [URL_]);
  });

  it("Linux: stops at Edge when it is installed", async () => {
    const fake = fakeSpawn({ "/usr/bin/microsoft-edge": 0, "xdg-open": 0 });
    await openSystemBrowser(URL_, { platform: "linux", env: DISPLAY, spawn: fake.spawn });
    assert.deepEqual(fake.commands(), ["/usr/bin/microsoft-edge"]);
  });

  it("Linux without a display: fails at once with the URL to open by hand", async () => {
    const fake = fakeSpawn({ "xdg-open": 0 });
    await assert.rejects(
      openSystemBrowser(URL_, { platform: "linux", env: {}, spawn: fake.spawn }),
      (error: unknown) =>
        error instanceof BrowserLaunchError && error.message.includes(URL_) && error.url === URL_,
    );
    assert.deepEqual(fake.commands(), []);
  });

  it("Linux: a non-zero exit from xdg-open is a failure", async () => {
    const fake = fakeSpawn({ "xdg-open": 3 });
    await assert.rejects(
      openSystemBrowser(URL_, { platform: "linux", env: DISPLAY, spawn: fake.spawn }),
      BrowserLaunchError,
    );
  });

  it("WSL: wslview first", async () => {
    const fake = fakeSpawn({ wslview: 0, "explorer.exe": 0 });
    await openSystemBrowser(URL_, { platform: "wsl", env: {}, spawn: fake.spawn });
    assert.deepEqual(fake.commands(), ["wslview"]);
  });

  it("WSL: explorer.exe when wslview is missing or fails; its exit code 1 counts as success", async () => {
    const missing = fakeSpawn({ "explorer.exe": 1 });
    await openSystemBrowser(URL_, { platform: "wsl", env: {}, spawn: missing.spawn });
    assert.deepEqual(missing.commands(), ["wslview", "explorer.exe"]);
    assert.deepEqual(missing.calls[1].args, [URL_]);

    const failing = fakeSpawn({ wslview: 2, "explorer.exe": 0 });
    await openSystemBrowser(URL_, { platform: "wsl", env: {}, spawn: failing.spawn });
    assert.deepEqual(failing.commands(), ["wslview", "explorer.exe"]);
  });

  it("WSL: falls back to Edge and xdg-open around the Windows host launchers", async () => {
    const fake = fakeSpawn({ wslview: 1, "explorer.exe": 2, "xdg-open": 0 });
    await openSystemBrowser(URL_, { platform: "wsl", env: DISPLAY, spawn: fake.spawn });
    assert.deepEqual(fake.commands(), ["/usr/bin/microsoft-edge", "wslview", "explorer.exe", "xdg-open"]);
  });

  it("WSL: nothing worked -> BrowserLaunchError with the URL", async () => {
    const fake = fakeSpawn({ "explorer.exe": 5 });
    await assert.rejects(
      openSystemBrowser(URL_, { platform: "wsl", env: {}, spawn: fake.spawn }),
      (error: unknown) => error instanceof BrowserLaunchError && error.message.includes(URL_),
    );
  });

  it("macOS: open", async () => {
    const fake = fakeSpawn({ open: 0 });
    await openSystemBrowser(URL_, { platform: "mac", env: DISPLAY, spawn: fake.spawn });
    assert.deepEqual(fake.calls, [{ command: "open", args: [URL_] }]);
  });

  it("Windows: rundll32 FileProtocolHandler, never cmd.exe", async () => {
    const fake = fakeSpawn({ rundll32: 0 });
    await openSystemBrowser(URL_, { platform: "windows", env: {}, spawn: fake.spawn });
    assert.deepEqual(fake.calls, [{ command: "rundll32", args: ["url.dll,FileProtocolHandler", URL_] }]);
  });

  it("Windows: characters cmd.exe would interpret reach the browser unchanged", async () => {
    const fake = fakeSpawn({ rundll32: 0 });
    const url = "https://login.example.test/a?x=1&y=%PATH%^&z=|calc";
    await openSystemBrowser(url, { platform: "windows", env: {}, spawn: fake.spawn });
    assert.equal(fake.calls[0].args[1], url);
    assert.ok(!fake.commands().some((c) => /cmd/i.test(c)));
  });
});

describe("openSystemBrowser: $BROWSER", () => {
  it("is tried first and wins when it works", async () => {
    const fake = fakeSpawn({ mybrowser: 0, "xdg-open": 0 });
    await openSystemBrowser(URL_, {
      platform: "linux",
      env: { ...DISPLAY, BROWSER: "mybrowser" },
      spawn: fake.spawn,
    });
    assert.deepEqual(fake.calls, [{ command: "mybrowser", args: [URL_] }]);
  });

  it("replaces %s with the URL and splits the command line without a shell", async () => {
    const fake = fakeSpawn({ "/opt/my browser/run": 0 });
    await openSystemBrowser(URL_, {
      platform: "mac",
      env: { BROWSER: `"/opt/my browser/run" --new-window --url=%s &` },
      spawn: fake.spawn,
    });
    assert.deepEqual(fake.calls, [{
      command: "/opt/my browser/run",
      args: ["--new-window", `--url=${URL_}`],
    }]);
  });

  it("keeps `$&` in the URL literal when substituting %s", async () => {
    const fake = fakeSpawn({ b: 0 });
    const url = "https://login.example.test/?a=$&b=$1";
    await openSystemBrowser(url, { platform: "linux", env: { BROWSER: "b %s" }, spawn: fake.spawn });
    assert.deepEqual(fake.calls[0].args, [url]);
  });

  it("tries each entry of a :-separated list, then the platform launchers", async () => {
    const fake = fakeSpawn({ second: 4, "xdg-open": 0 });
    await openSystemBrowser(URL_, {
      platform: "linux",
      env: { ...DISPLAY, BROWSER: "first::second %s" },
      spawn: fake.spawn,
    });
    // Edge is only preferred when $BROWSER is unset, as in MSAL Python.
    assert.deepEqual(fake.commands(), ["first", "second", "xdg-open"]);
  });

  it("uses ; as the list separator on Windows, so drive letters survive", async () => {
    const fake = fakeSpawn({ "C:\\Browsers\\b.exe": 0 });
    await openSystemBrowser(URL_, {
      platform: "windows",
      env: { BROWSER: "C:\\missing.exe;C:\\Browsers\\b.exe" },
      spawn: fake.spawn,
    });
    assert.deepEqual(fake.commands(), ["C:\\missing.exe", "C:\\Browsers\\b.exe"]);
  });
});

describe("openSystemBrowser: refuses dangerous URLs before launching anything", () => {
  for (
    const url of [
      "javascript:alert(1)",
      "file:///etc/passwd",
      "ms-appx-web://x",
      "not a url",
      "https://login.example.test/\r\nX-Injected: 1",
      "https://login.example.test/\tx",
      "https://login.example.test/\nx",
    ]
  ) {
    it(JSON.stringify(url), async () => {
      const fake = fakeSpawn({ "xdg-open": 0, mybrowser: 0 });
      await assert.rejects(
        openSystemBrowser(url, {
          platform: "linux",
          env: { ...DISPLAY, BROWSER: "mybrowser" },
          spawn: fake.spawn,
        }),
        ConfigurationError,
      );
      assert.deepEqual(fake.calls, []);
    });
  }
});

if (detectPlatform() !== "windows") {
  describe("openSystemBrowser: real $BROWSER program", () => {
    let dir = "";
    before(async () => {
      dir = await mkdtemp(join(tmpdir(), "authbroker-browser-"));
    });
    after(async () => {
      await rm(dir, { recursive: true, force: true });
    });

    it("runs the program with the URL as a single argument", async () => {
      const script = join(dir, "fake-browser.sh");
      const output = join(dir, "opened.txt");
      await writeFile(script, `#!/bin/sh\nprintf '%s|%s' "$#" "$1" > "${output}"\n`);
      await chmod(script, 0o755);
      const url = "https://login.example.test/authorize?a=1&b=$(touch pwned)&c=`id`;d";
      await openSystemBrowser(url, { env: { BROWSER: script } });
      assert.equal(await readFile(output, "utf8"), `1|${url}`);
      await assert.rejects(readFile(join(dir, "pwned")));
    });

    it("reports a missing program as a launch failure, not a crash", async () => {
      await assert.rejects(
        openSystemBrowser(URL_, { platform: "linux", env: { BROWSER: join(dir, "missing") } }),
        (error: unknown) =>
          error instanceof BrowserLaunchError && (error.cause as { code?: string })?.code === "ENOENT",
      );
    });
  });
}
