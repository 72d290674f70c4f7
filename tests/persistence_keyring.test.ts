// SecretServiceCachePlugin against a real gnome-keyring-daemon on a private session bus: the secret is
// stored encrypted, read back by other processes and by Debian's secret-tool, writers of all three
// runtimes merge, and a missing or locked keyring gives typed errors (or the opt-in file fallback).
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BrokerDependencyError, DependencyError, TokenCache } from "../mod.ts";
import { importDependency } from "../broker.ts";
import {
  CacheCorruptError,
  CacheFileError,
  KeyringLockedError,
  SECRET_SERVICE_SCHEMA,
  SecretServiceCachePlugin,
  type SecretServiceCachePluginOptions,
  SecretServiceUnavailableError,
} from "../persistence/mod.ts";
import { DhSession } from "../persistence/_dh.ts";
import { DEFAULT_COLLECTION, SecretServiceClient } from "../persistence/_secret_service.ts";
import { type PrivateBus, startPrivateBus } from "../testing/mod.ts";
import { runTogether, startFixture, tokenEvent } from "./_persistence.ts";
import { recordingLogger, type TestRuntime } from "./_helpers.ts";

const APPLICATION = "authbroker-tests";
let bus: PrivateBus;
let folder: string;
let n = 0;

before(async () => {
  bus = await startPrivateBus({ secretService: true });
  folder = mkdtempSync(join(tmpdir(), "authbroker-keyring-"));
});
after(async () => {
  await bus?.stop();
  rmSync(folder, { recursive: true, force: true });
});

function keyringCache(options: Partial<SecretServiceCachePluginOptions> = {}): TokenCache {
  return new TokenCache({
    plugin: new SecretServiceCachePlugin({
      application: APPLICATION,
      busAddress: bus.address,
      lockFolder: join(folder, "locks"),
      ...options,
    }),
  });
}

async function addToken(cache: TokenCache, user: string, i: number): Promise<void> {
  await cache.access(() =>
    cache.addTokenResponse(tokenEvent(user, `api://test/${user}.${i}`, `at-${user}-${i}`))
  );
}

function secretTool(...args: string[]): string {
  return execFileSync("secret-tool", args, { env: { ...process.env, ...bus.env }, encoding: "utf8" });
}

/** The access-token secrets of the cache stored under `cache`, as secret-tool reads it. */
/** `secret-tool search` output: it prints the secret on stdout and the attributes on stderr. */
function secretToolSearch(...args: string[]): string {
  const run = spawnSync("secret-tool", ["search", ...args], {
    env: { ...process.env, ...bus.env },
    encoding: "utf8",
  });
  return run.stdout + run.stderr;
}

function secretsInKeyring(cache = "msal_token_cache"): Set<string> {
  const blob = JSON.parse(secretTool("lookup", "application", APPLICATION, "cache", cache));
  return new Set(
    Object.values(blob.AccessToken as Record<string, { secret: string }>).map((at) => at.secret),
  );
}

async function callService(member: string, signature: string, body: unknown[]): Promise<unknown[]> {
  const dbus = (await import("dbus-next")).default;
  const connection = dbus.sessionBus({ busAddress: bus.address });
  try {
    const reply = await connection.call(
      new dbus.Message({
        destination: "org.freedesktop.secrets",
        path: "/org/freedesktop/secrets",
        interface: "org.freedesktop.Secret.Service",
        member,
        signature,
        body,
      }),
    );
    return reply?.body ?? [];
  } finally {
    connection.disconnect();
  }
}

describe("SecretServiceCachePlugin (gnome-keyring on a private bus)", { timeout: 300_000 }, () => {
  it(
    "stores the cache as one secret that another process and secret-tool read under the documented attributes",
    {
      timeout: 120_000,
    },
    async () => {
      const cacheName = `store-${++n}`;
      await addToken(keyringCache({ cacheName }), "ada", 0);
      assert.deepEqual([...secretsInKeyring(cacheName)], ["at-ada-0"]);
      const found = secretToolSearch("--all", "xdg:schema", SECRET_SERVICE_SCHEMA, "cache", cacheName);
      assert.match(found, new RegExp(`attribute\\.application = ${APPLICATION}`));
      assert.match(found, /label = authbroker-tests token cache \(store-1\)/);

      for (const runtime of ["bun", "deno"] as TestRuntime[]) {
        const reader = startFixture(runtime, "fixtures/cache_reader.ts", [
          "keyring",
          join(folder, `r-${runtime}`),
          cacheName,
        ], bus.env);
        const exit = await reader.exited;
        assert.equal(exit.code, 0, exit.stderr);
        assert.deepEqual(
          JSON.parse(exit.stdout),
          { usernames: ["ada@contoso.com"], secrets: ["at-ada-0"] },
          runtime,
        );
      }
    },
  );

  it("a regular file where the lock folder should be: a CacheFileError naming it, the file kept", async () => {
    const lockFolder = join(folder, `in-the-way-${++n}`);
    writeFileSync(lockFolder, "the user's");
    const cache = keyringCache({ cacheName: `in-the-way-${n}`, lockFolder });
    const error = await addToken(cache, "ada", 0).then(() => undefined, (error: unknown) => error);
    assert.ok(error instanceof CacheFileError, String(error));
    assert.equal(error.code, "cache_file_error");
    assert.ok(error.message.includes(lockFolder), error.message);
    assert.ok(error.cause instanceof Error);
    assert.equal(readFileSync(lockFolder, "utf8"), "the user's");
  });

  it("negotiates the encrypted transfer libsecret uses (DH + HKDF-SHA256 + AES-128-CBC)", async () => {
    const client = await SecretServiceClient.connect({
      busAddress: bus.address,
      timeoutMs: 10_000,
      promptTimeoutMs: 1,
    });
    try {
      assert.equal(client.algorithm, "dh-ietf1024-sha256-aes128-cbc-pkcs7");
      const attributes = { "xdg:schema": SECRET_SERVICE_SCHEMA, application: APPLICATION, cache: "dh-check" };
      const text = "é ✓ ".repeat(50);
      await client.createItem(
        DEFAULT_COLLECTION,
        "dh check",
        attributes,
        new TextEncoder().encode(text),
        true,
      );
      // gnome-keyring decrypted what we sent (secret-tool reads it through its own session) ...
      assert.equal(secretTool("lookup", "application", APPLICATION, "cache", "dh-check"), text);
      // ... and we decrypt what it sends.
      const { unlocked } = await client.search(attributes);
      assert.equal(new TextDecoder().decode(await client.getSecret(unlocked[0])), text);
    } finally {
      client.close();
    }
  });

  it("derives the same AES key on both sides of the Diffie-Hellman exchange", async () => {
    const ours = new DhSession();
    const theirs = new DhSession();
    await ours.complete(theirs.publicKey);
    await theirs.complete(ours.publicKey);
    const sealed = await ours.seal(new TextEncoder().encode("token cache"));
    assert.equal(sealed.parameters.length, 16);
    assert.equal(new TextDecoder().decode(await theirs.open(sealed)), "token cache");
    await assert.rejects(ours.complete(new Uint8Array([1])), RangeError);
  });

  it("8 processes (Node, Bun, Deno) adding 10 tokens each through the keyring lose none of the 80", {
    timeout: 300_000,
  }, async () => {
    const go = join(folder, "go-keyring");
    const runtimes: TestRuntime[] = ["node", "bun", "deno", "node", "bun", "deno", "node", "bun"];
    const lockFolder = join(folder, "locks");
    const writers = runtimes.map((runtime, w) =>
      startFixture(
        runtime,
        "fixtures/cache_writer.ts",
        ["keyring", lockFolder, `k${w}-${runtime}`, "10", go],
        bus.env,
      )
    );
    await runTogether(writers, go);
    const secrets = secretsInKeyring();
    for (const [w, runtime] of runtimes.entries()) {
      for (let i = 0; i < 10; i++) assert.ok(secrets.has(`at-k${w}-${runtime}-${i}`), `k${w} token ${i}`);
    }
    assert.equal(secrets.size, 80);
    assert.equal(existsSync(join(lockFolder, `${APPLICATION}.msal_token_cache.keyring.lockfile`)), false);
  });

  it("sets a corrupt secret aside as its own item, reports it once, and starts afresh", async () => {
    const cacheName = `corrupt-${++n}`;
    const attributes = { "xdg:schema": SECRET_SERVICE_SCHEMA, application: APPLICATION, cache: cacheName };
    const client = await SecretServiceClient.connect({
      busAddress: bus.address,
      timeoutMs: 10_000,
      promptTimeoutMs: 1,
    });
    try {
      await client.createItem(
        DEFAULT_COLLECTION,
        "garbage",
        attributes,
        new TextEncoder().encode("{not json"),
        true,
      );
    } finally {
      client.close();
    }
    const errors: string[] = [];
    const cache = keyringCache({ cacheName, logger: { error: (m) => errors.push(m) } });
    let movedTo = "";
    await assert.rejects(cache.access(() => cache.getAccounts(), { readOnly: true }), (error: unknown) => {
      assert.ok(error instanceof CacheCorruptError);
      movedTo = error.movedTo;
      return true;
    });
    assert.equal(errors.length, 1);
    const asideName = /cache=(\S+)/.exec(movedTo)?.[1];
    assert.ok(asideName?.startsWith(`${cacheName}.corrupt-`), movedTo);
    assert.equal(secretTool("lookup", "application", APPLICATION, "cache", asideName!), "{not json");
    await addToken(cache, "eli", 0);
    assert.deepEqual([...secretsInKeyring(cacheName)], ["at-eli-0"]);
    assert.equal(errors.length, 1, "reported once");
  });

  it("asks the keyring to unlock a locked collection, and throws KeyringLockedError when the prompt is dismissed", async () => {
    const cache = keyringCache({ cacheName: `locked-${++n}` });
    await addToken(cache, "bo", 0);
    await callService("Lock", "ao", [[DEFAULT_COLLECTION]]);
    try {
      // gnome-keyring without a display dismisses its unlock prompt at once.
      await assert.rejects(
        addToken(keyringCache({ cacheName: `locked-${n}` }), "bo", 1),
        (error: unknown) => {
          assert.ok(error instanceof KeyringLockedError);
          assert.equal(error.code, "keyring_locked");
          assert.match(error.message, /prompt was dismissed/);
          return true;
        },
      );
    } finally {
      // Unlock again for the other tests: gnome-keyring's own unlock with the login password.
      await callService("Unlock", "ao", [[DEFAULT_COLLECTION]]).catch(() => {});
    }
  });
});

describe("SecretServiceCachePlugin without a Secret Service", () => {
  let plainBus: PrivateBus;
  let dir: string;
  before(async () => {
    plainBus = await startPrivateBus();
    dir = mkdtempSync(join(tmpdir(), "authbroker-nokeyring-"));
  });
  after(async () => {
    await plainBus?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it("throws SecretServiceUnavailableError when nothing owns org.freedesktop.secrets", async () => {
    const cache = new TokenCache({
      plugin: new SecretServiceCachePlugin({
        application: APPLICATION,
        busAddress: plainBus.address,
        lockFolder: dir,
      }),
    });
    await assert.rejects(cache.access(() => cache.getAccounts(), { readOnly: true }), (error: unknown) => {
      assert.ok(error instanceof SecretServiceUnavailableError);
      assert.equal(error.code, "secret_service_unavailable");
      return true;
    });
  });

  it("throws SecretServiceUnavailableError when there is no session bus at all", async () => {
    const cache = new TokenCache({
      plugin: new SecretServiceCachePlugin({
        application: APPLICATION,
        busAddress: `unix:path=${join(dir, "no-such-socket")}`,
        lockFolder: dir,
      }),
    });
    await assert.rejects(
      cache.access(() => cache.getAccounts(), { readOnly: true }),
      SecretServiceUnavailableError,
    );
  });

  it("with fallbackToFile, keeps the cache in that file and warns once", async () => {
    const { logger, warnings } = recordingLogger();
    const file = join(dir, "fallback", "cache.json");
    const plugin = new SecretServiceCachePlugin({
      application: APPLICATION,
      busAddress: plainBus.address,
      lockFolder: dir,
      fallbackToFile: file,
      logger,
    });
    const cache = new TokenCache({ plugin });
    await addToken(cache, "cy", 0);
    await addToken(cache, "cy", 1);
    await cache.access(() => cache.getAccounts(), { readOnly: true });
    const [warning, ...more] = warnings();
    assert.deepEqual(more, []);
    assert.match(warning, /falls back to the file/);
    const blob = JSON.parse(readFileSync(file, "utf8"));
    assert.equal(Object.keys(blob.AccessToken).length, 2);
  });

  it("names the install command when dbus-next is missing (rule 2's message)", async () => {
    await assert.rejects(
      importDependency("dbus-next-not-installed", () => import("dbus-next-not-installed" as string)),
      (error: unknown) => {
        assert.ok(error instanceof BrokerDependencyError);
        assert.match(
          error.message,
          /^You need to install dependency by: (npm install |pnpm add |yarn add |bun add |deno add npm:)dbus-next-not-installed$/,
        );
        return true;
      },
    );
  });

  it("a feature that is not a broker gets a plain DependencyError saying what needs the package", async () => {
    await assert.rejects(
      importDependency("dbus-next-not-installed", () => import("dbus-next-not-installed" as string), {
        feature: "The Secret Service (keyring) token cache",
        runtime: "node",
        dev: true,
      }),
      (error: unknown) => {
        assert.ok(error instanceof DependencyError, `expected DependencyError, got ${error}`);
        assert.ok(!(error instanceof BrokerDependencyError));
        assert.equal(error.code, "dependency_missing");
        assert.match(
          error.installCommand,
          /^(npm install|pnpm add|yarn add) --(save-)?dev dbus-next-not-installed$/,
        );
        assert.equal(
          error.message,
          `The Secret Service (keyring) token cache needs the dbus-next-not-installed package; install it by: ${error.installCommand}`,
        );
        return true;
      },
    );
  });
});

/**
 * A Secret Service that only speaks `plain`, as some minimal implementations do: it answers the
 * encrypted OpenSession with NotSupported.
 */
async function startPlainSecretService(address: string) {
  const dbus = (await import("dbus-next")).default;
  const connection = dbus.sessionBus({ busAddress: address });
  const algorithms: string[] = [];
  const items = new Map<string, { attributes: Record<string, string>; value: Uint8Array }>();
  const SESSION = "/org/freedesktop/secrets/session/s1";
  connection.addMethodHandler((message: InstanceType<typeof dbus.Message>) => {
    const reply = (signature: string, body: unknown[]) => {
      connection.send(dbus.Message.newMethodReturn(message, signature, body));
      return true;
    };
    switch (message.member) {
      case "OpenSession":
        algorithms.push(message.body[0]);
        if (message.body[0] !== "plain") {
          // dbus-next's types name the first parameter a string; it takes the call being answered.
          const newError = dbus.Message.newError as unknown as (
            to: unknown,
            name: string,
            text: string,
          ) => InstanceType<typeof dbus.Message>;
          connection.send(newError(message, "org.freedesktop.DBus.Error.NotSupported", "plain only"));
          return true;
        }
        return reply("vo", [new dbus.Variant("s", ""), SESSION]);
      case "SearchItems": {
        const wanted = Object.entries(message.body[0] as Record<string, string>);
        const found = [...items].filter(([, item]) => wanted.every(([k, v]) => item.attributes[k] === v));
        return reply("aoao", [found.map(([path]) => path), []]);
      }
      case "Unlock":
        return reply("aoo", [message.body[0], "/"]);
      case "CreateItem": {
        const [properties, secret, replace] = message.body as [
          Record<string, { value: unknown }>,
          [string, Uint8Array, Uint8Array, string],
          boolean,
        ];
        const attributes = properties["org.freedesktop.Secret.Item.Attributes"].value as Record<
          string,
          string
        >;
        const same = [...items].find(([, item]) =>
          JSON.stringify(item.attributes) === JSON.stringify(attributes)
        );
        const path = replace && same
          ? same[0]
          : `/org/freedesktop/secrets/collection/login/${items.size + 1}`;
        items.set(path, { attributes, value: new Uint8Array(secret[2]) });
        return reply("oo", [path, "/"]);
      }
      case "GetSecret": {
        const item = items.get(message.path!);
        return reply("(oayays)", [[SESSION, Buffer.alloc(0), Buffer.from(item!.value), "text/plain"]]);
      }
      default:
        return false;
    }
  });
  await connection.requestName("org.freedesktop.secrets", 0);
  return { algorithms, items, close: () => connection.disconnect() };
}

describe("SecretServiceCachePlugin with a service that refuses encryption", () => {
  it("falls back to the plain transfer only after the encrypted one was refused", async () => {
    const plainBus = await startPrivateBus();
    const dir = mkdtempSync(join(tmpdir(), "authbroker-plain-"));
    const service = await startPlainSecretService(plainBus.address);
    try {
      const cache = () =>
        new TokenCache({
          plugin: new SecretServiceCachePlugin({
            application: APPLICATION,
            busAddress: plainBus.address,
            lockFolder: dir,
          }),
        });
      await addToken(cache(), "dee", 0);
      assert.deepEqual(service.algorithms.slice(0, 2), ["dh-ietf1024-sha256-aes128-cbc-pkcs7", "plain"]);
      const [stored] = [...service.items.values()];
      assert.equal(stored.attributes.application, APPLICATION);
      assert.match(new TextDecoder().decode(stored.value), /"secret":"at-dee-0"/);
      const reader = cache();
      const accounts = await reader.access(() => reader.getAccounts(), { readOnly: true });
      assert.deepEqual(accounts.map((a) => a.username), ["dee@contoso.com"]);
    } finally {
      service.close();
      await plainBus.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
