// FileCachePlugin: atomic writes, the cross-process lock, version-based reloads, corrupt files, and
// many processes of all three runtimes writing one file at once.
import { after, describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import { type CachePluginContext, TokenCache } from "../mod.ts";
import { CacheCorruptError, CacheLockError, FileCachePlugin } from "../persistence/mod.ts";
import { runTogether, startFixture, tokenEvent } from "./_persistence.ts";
import type { TestRuntime } from "./_helpers.ts";

const root = mkdtempSync(join(tmpdir(), "authbroker-file-cache-"));
after(() => rmSync(root, { recursive: true, force: true }));
let n = 0;
const freshPath = (): string => join(root, `case-${++n}`, "msal_cache.json");

function fileCache(path: string, options: ConstructorParameters<typeof FileCachePlugin>[1] = {}): TokenCache {
  return new TokenCache({ plugin: new FileCachePlugin(path, options) });
}

async function addToken(cache: TokenCache, user: string, i: number): Promise<void> {
  await cache.access(() =>
    cache.addTokenResponse(tokenEvent(user, `api://test/${user}.${i}`, `at-${user}-${i}`))
  );
}

/** The access-token secrets in the file, read by a fresh cache. */
function secretsOnDisk(path: string): Set<string> {
  const parsed = JSON.parse(readFileSync(path, "utf8"));
  return new Set(
    Object.values(parsed.AccessToken as Record<string, { secret: string }>).map((at) => at.secret),
  );
}

/** The pid of a process that has exited. */
function deadPid(): number {
  const child = spawnSync("sh", ["-c", "echo $$"], { encoding: "utf8" });
  return Number(child.stdout.trim());
}

describe("FileCachePlugin", () => {
  it("persists tokens another cache (another process) then reads, in a 0600 file in a 0700 folder", async () => {
    const path = freshPath();
    await addToken(fileCache(path), "ada", 1);
    const other = fileCache(path);
    const accounts = await other.access(() => other.getAccounts(), { readOnly: true });
    assert.deepEqual(accounts.map((a) => a.username), ["ada@contoso.com"]);
    assert.equal(statSync(path).mode & 0o777, 0o600);
    assert.equal(statSync(join(path, "..")).mode & 0o777, 0o700);
    assert.deepEqual(readdirSync(join(path, "..")).sort(), ["msal_cache.json", "msal_cache.json.version"]);
  });

  it("sees a token written a moment ago by another writer, whatever the file's modification time", async () => {
    const path = freshPath();
    const writer = fileCache(path);
    const reader = fileCache(path);
    for (let i = 0; i < 20; i++) {
      await addToken(writer, "bob", i);
      const found = await reader.access(
        () =>
          reader.getAccounts().length && reader.findRefreshTokens({
            homeAccountId: reader.getAccounts()[0].home_account_id,
            environments: ["login.microsoftonline.com"],
          }).length,
        { readOnly: true },
      );
      assert.equal(found, 1, `write ${i}`);
      const parsed = JSON.parse(reader.serialize());
      assert.equal(Object.keys(parsed.AccessToken).length, i + 1, `write ${i} seen`);
    }
  });

  it("one plugin given to a second TokenCache (an app created again) loads the file into it", async () => {
    const path = freshPath();
    const plugin = new FileCachePlugin(path);
    const first = new TokenCache({ plugin });
    await addToken(first, "ann", 0);
    const second = new TokenCache({ plugin });
    await second.access(() => undefined, { readOnly: true });
    assert.deepEqual(second.getAccounts().map((account) => account.username), ["ann@contoso.com"]);
    await addToken(second, "bob", 0);
    assert.deepEqual(secretsOnDisk(path), new Set(["at-ann-0", "at-bob-0"]), "ann's token is kept");
  });

  it("merges concurrent writers in one process: nobody loses another's tokens", async () => {
    const path = freshPath();
    const caches = [fileCache(path), fileCache(path), fileCache(path)];
    await Promise.all(caches.map(async (cache, c) => {
      for (let i = 0; i < 10; i++) await addToken(cache, `user${c}`, i);
    }));
    assert.equal(secretsOnDisk(path).size, 30);
  });

  it("does not re-parse an unchanged file on read-only accesses, and does once it changed", async () => {
    const path = freshPath();
    await addToken(fileCache(path), "cy", 0);
    let loads = 0;
    class CountingCache extends TokenCache {
      override deserialize(state: string): void {
        loads++;
        super.deserialize(state);
      }
    }
    const cache = new CountingCache({ plugin: new FileCachePlugin(path) });
    for (let i = 0; i < 50; i++) await cache.access(() => cache.getAccounts(), { readOnly: true });
    assert.equal(loads, 1);
    await addToken(fileCache(path), "cy", 1);
    await cache.access(() => cache.getAccounts(), { readOnly: true });
    assert.equal(loads, 2);
  });

  it("reads without the lock: a read-only access succeeds while another process holds it", {
    timeout: 60_000,
  }, async () => {
    const path = freshPath();
    await addToken(fileCache(path), "dee", 0);
    const holder = startFixture("node", "fixtures/sleeper.ts", []);
    try {
      await holder.printed("sleeping");
      writeFileSync(
        `${path}.lockfile`,
        JSON.stringify({ pid: holder.pid, host: hostname(), time: Date.now() }),
      );
      const cache = fileCache(path, { lockTimeoutMs: 200, staleLockMs: 60_000 });
      const accounts = await cache.access(() => cache.getAccounts(), { readOnly: true });
      assert.equal(accounts.length, 1);
      // A writer waits for the live owner, then gives up with a typed error naming it.
      await assert.rejects(addToken(cache, "dee", 1), (error: unknown) => {
        assert.ok(error instanceof CacheLockError);
        assert.equal(error.code, "cache_lock_timeout");
        assert.equal(error.owner?.pid, holder.pid);
        return true;
      });
      assert.equal(secretsOnDisk(path).size, 1, "nothing written without the lock");
    } finally {
      holder.kill("SIGKILL");
      await holder.exited;
    }
  });

  it("breaks a lock left by a dead process at once (ours and msal-node-extensions' bare-pid format)", async () => {
    for (
      const content of [
        JSON.stringify({ pid: deadPid(), host: hostname(), time: Date.now() }),
        `${deadPid()}`,
      ]
    ) {
      const path = freshPath();
      await addToken(fileCache(path), "eve", 0);
      writeFileSync(`${path}.lockfile`, content);
      // Neither waiting nor age could explain success: only the dead-owner probe breaks this lock.
      const cache = fileCache(path, { lockTimeoutMs: 500, staleLockMs: 60_000 });
      await addToken(cache, "eve", 1);
      assert.equal(secretsOnDisk(path).size, 2);
      assert.equal(existsSync(`${path}.lockfile`), false, "released after the write");
    }
  });

  it("judges a lock file with garbage or an impossible pid (0, negative) by its age, never as a live owner", async () => {
    // kill(0, 0) and kill(-1, 0) signal process groups and succeed: such a lock must not look held forever.
    for (
      const content of [
        "0",
        "-1",
        '{"pid": 0}',
        '{"pid": -1, "time": 0}',
        '{"pid": 1.5}',
        "junk\u0000\uffff",
        "",
      ]
    ) {
      const path = freshPath();
      await addToken(fileCache(path), "eve", 0);
      writeFileSync(`${path}.lockfile`, content);
      const cache = fileCache(path, { lockTimeoutMs: 5_000, staleLockMs: 300 });
      await addToken(cache, "eve", 1);
      assert.equal(secretsOnDisk(path).size, 2, JSON.stringify(content));
      assert.equal(existsSync(`${path}.lockfile`), false, "released after the write");
    }
  });

  it("leaves the previous valid cache when a writer is SIGKILLed between writing and renaming", {
    timeout: 60_000,
  }, async () => {
    const path = freshPath();
    await addToken(fileCache(path), "fay", 0);
    const before = readFileSync(path, "utf8");
    const writer = startFixture("node", "fixtures/cache_kill_writer.ts", [path]);
    try {
      while (!existsSync(`${path}.paused`)) await new Promise((resolve) => setTimeout(resolve, 10));
    } finally {
      writer.kill("SIGKILL");
    }
    const exit = await writer.exited;
    assert.equal(exit.signal, "SIGKILL", exit.stdout + exit.stderr);
    assert.equal(readFileSync(path, "utf8"), before, "the cache file is untouched");
    assert.ok(existsSync(`${path}.lockfile`), "the killed writer held the lock");
    // The next writer breaks the dead writer's lock and adds to the valid cache.
    const abandoned = readdirSync(join(path, "..")).filter((f) => f.endsWith(".tmp"));
    assert.equal(abandoned.length, 1, "the killed writer's temp file");
    await addToken(fileCache(path, { lockTimeoutMs: 2_000, staleLockMs: 60_000 }), "fay", 1);
    assert.deepEqual([...secretsOnDisk(path)].sort(), ["at-fay-0", "at-fay-1"]);
    assert.deepEqual(
      readdirSync(join(path, "..")).filter((f) => !f.endsWith(".paused")).sort(),
      ["msal_cache.json", "msal_cache.json.version"],
      "the next writer removed the abandoned temp file and broke the dead writer's lock",
    );
  });

  it("moves a corrupt file aside, reports it once, and never overwrites it", async () => {
    const path = freshPath();
    await addToken(fileCache(path), "gus", 0);
    writeFileSync(path, '{"AccessToken": {"truncated');
    const errors: string[] = [];
    const cache = fileCache(path, { logger: { error: (m) => errors.push(m) } });
    await assert.rejects(cache.access(() => cache.getAccounts(), { readOnly: true }), (error: unknown) => {
      assert.ok(error instanceof CacheCorruptError);
      assert.equal(error.code, "cache_corrupt");
      assert.equal(error.location, path);
      assert.match(error.movedTo, /msal_cache\.json\.corrupt-/);
      assert.equal(readFileSync(error.movedTo, "utf8"), '{"AccessToken": {"truncated');
      return true;
    });
    assert.equal(errors.length, 1);
    assert.match(errors[0], /corrupt/);
    assert.deepEqual(await cache.access(() => cache.getAccounts(), { readOnly: true }), []);
    await addToken(cache, "gus", 1);
    assert.deepEqual([...secretsOnDisk(path)], ["at-gus-1"]);
    assert.equal(errors.length, 1, "reported once");
    assert.equal(readdirSync(join(path, "..")).filter((f) => f.includes(".corrupt-")).length, 1);
  });

  it("with onCorruptCache, reports a corrupt file there and carries on with the write", async () => {
    const path = freshPath();
    await addToken(fileCache(path), "hal", 0);
    writeFileSync(path, "[]");
    const reported: CacheCorruptError[] = [];
    const cache = fileCache(path, { onCorruptCache: (error) => reported.push(error) });
    await addToken(cache, "hal", 1);
    assert.equal(reported.length, 1);
    assert.equal(readFileSync(reported[0].movedTo, "utf8"), "[]");
    assert.deepEqual([...secretsOnDisk(path)], ["at-hal-1"]);
  });

  it("writes nothing and releases the lock when the access changed nothing", async () => {
    const path = freshPath();
    await addToken(fileCache(path), "ivy", 0);
    const version = readFileSync(`${path}.version`, "utf8");
    const seen: CachePluginContext[] = [];
    const plugin = new FileCachePlugin(path);
    const cache = new TokenCache({
      plugin: {
        beforeCacheAccess: (c) => plugin.beforeCacheAccess(c),
        afterCacheAccess: (c) => (seen.push(c), plugin.afterCacheAccess(c)),
      },
    });
    await cache.access(() => cache.getAccounts());
    assert.equal(seen[0].cacheHasChanged, false);
    assert.equal(readFileSync(`${path}.version`, "utf8"), version);
    assert.equal(existsSync(`${path}.lockfile`), false);
  });

  it("8 processes (Node, Bun, Deno) adding 50 tokens each to one file at once lose none of the 400", {
    timeout: 180_000,
  }, async () => {
    const path = freshPath();
    const go = join(root, `go-${n}`);
    const runtimes: TestRuntime[] = ["node", "bun", "deno", "node", "bun", "deno", "node", "bun"];
    const writers = runtimes.map((runtime, w) =>
      startFixture(runtime, "fixtures/cache_writer.ts", ["file", path, `w${w}-${runtime}`, "50", go])
    );
    await runTogether(writers, go);
    const cache = new TokenCache();
    cache.deserialize(readFileSync(path, "utf8"));
    const secrets = secretsOnDisk(path);
    assert.equal(secrets.size, 400);
    for (const [w, runtime] of runtimes.entries()) {
      for (let i = 0; i < 50; i++) assert.ok(secrets.has(`at-w${w}-${runtime}-${i}`), `w${w} token ${i}`);
    }
    assert.equal(cache.getAccounts().length, 8);
    assert.deepEqual(readdirSync(join(path, "..")).sort(), ["msal_cache.json", "msal_cache.json.version"]);
  });
});
