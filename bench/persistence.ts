/**
 * Persistence benchmark: what a file-backed token cache costs on top of the in-memory one, for this
 * library's `FileCachePlugin` and for @azure/msal-node with the file handling of
 * @azure/msal-node-extensions (its `PersistenceCachePlugin` + `FilePersistence` logic, reproduced here:
 * the package itself cannot be installed where its native keytar dependency does not build). One cache
 * of 1,000 accounts, written to a temp file. Run with `npx tsx bench/persistence.ts`,
 * `npx deno run -A bench/persistence.ts` or `npx bun bench/persistence.ts`; under Node it also times
 * 8 processes (Node, Bun, Deno) each adding 50 tokens to one file.
 *
 * @module
 */

import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { open, readFile, stat, unlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { ICachePlugin, TokenCacheContext } from "@azure/msal-node";
import { TokenCache } from "../mod.ts";
import { FileCachePlugin } from "../persistence/mod.ts";
import { tokenEvent } from "../tests/_persistence.ts";
import { type CacheFixture, generateCacheBlob } from "./_fixtures.ts";
import { createOfflineMsalNodeApp, msalNodeAccount } from "./_msal_node.ts";
import { createOfflineApp, offlineAppWithCache } from "./_offline_app.ts";
import { formatMs, formatRatio, formatTiming, renderTable, time, type Timing } from "./_table.ts";

const ACCOUNTS = 1_000;
const LIMIT_MS = 10_000;

/**
 * msal-node-extensions 5.x's file persistence: a `<file>.lockfile` created with `wx+` around every
 * load and save, and a reload whenever the file's mtime is later than the last sync.
 */
class ExtensionsStyleFilePlugin implements ICachePlugin {
  #lastSync = 0;
  #current: string | null = null;
  constructor(readonly path: string) {}

  async #locked<T>(fn: () => Promise<T>): Promise<T> {
    const lock = `${this.path}.lockfile`;
    for (let i = 0;; i++) {
      try {
        const handle = await open(lock, "wx+");
        await handle.write(String(process.pid));
        await handle.close();
        break;
      } catch (error) {
        if ((error as { code?: string }).code !== "EEXIST" || i > 500) throw error;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }
    try {
      return await fn();
    } finally {
      await unlink(lock);
    }
  }

  async beforeCacheAccess(context: TokenCacheContext): Promise<void> {
    const modified = (await stat(this.path)).mtime.getTime();
    if (this.#current !== null && modified <= this.#lastSync) return;
    await this.#locked(async () => {
      this.#current = await readFile(this.path, "utf8");
      this.#lastSync = Date.now();
      context.tokenCache.deserialize(this.#current);
    });
  }

  async afterCacheAccess(context: TokenCacheContext): Promise<void> {
    if (!context.cacheHasChanged) return;
    await this.#locked(async () => {
      this.#current = context.tokenCache.serialize();
      await writeFile(this.path, this.#current, { mode: 0o600 });
    });
  }
}

function silentHitOurs(fixture: CacheFixture, tokenCache?: TokenCache): Promise<Timing> {
  const app = tokenCache
    ? offlineAppWithCache(fixture.clientId, tokenCache)
    : createOfflineApp(fixture.clientId, fixture.blob);
  return (async () => {
    const accounts = await app.getAccounts();
    const byId = new Map(accounts.map((a) => [a.home_account_id, a]));
    let misses = 0;
    const timing = await time(async (i) => {
      const account = byId.get(fixture.accounts[(i * 7919) % fixture.accounts.length].homeAccountId);
      const result = await app.acquireTokenSilent(fixture.scopes, { account: account! });
      if (result?.token_source !== "cache") misses++;
    }, { budgetMs: 1_000, batch: 200 });
    if (misses) throw new Error(`${misses} cache misses`);
    return timing;
  })();
}

async function silentHitMsalNode(fixture: CacheFixture, plugin?: ICachePlugin): Promise<Timing> {
  const app = createOfflineMsalNodeApp(fixture.clientId, "common", plugin);
  if (!plugin) app.getTokenCache().deserialize(fixture.blob);
  const { accounts, scopes } = fixture;
  let misses = 0;
  const timing = await time(async (i) => {
    const account = msalNodeAccount(accounts[(i * 7919) % accounts.length]);
    const result = await app.acquireTokenSilent({ account, scopes });
    if (!result.fromCache) misses++;
  }, { budgetMs: 3_000, maxRuns: 200, limitMs: LIMIT_MS });
  if (misses) throw new Error(`${misses} msal-node cache misses`);
  return timing;
}

async function oneWriteOurs(path: string): Promise<Timing> {
  const cache = new TokenCache({ plugin: new FileCachePlugin(path) });
  await cache.access(() => cache.getAccounts(), { readOnly: true }); // loaded once, as an app would have
  return time(async (i) => {
    await cache.access(() =>
      cache.addTokenResponse(tokenEvent("bench", `api://bench/${i}`, `at-bench-${i}`))
    );
  }, { budgetMs: 2_000, maxRuns: 50 });
}

async function oneWriteMsalNode(fixture: CacheFixture, path: string): Promise<Timing> {
  const plugin = new ExtensionsStyleFilePlugin(path);
  const app = createOfflineMsalNodeApp(fixture.clientId, "common", plugin);
  await app.getTokenCache().getAllAccounts(); // loaded once
  // What msal-node does after a token response: its plugin serializes and saves the whole cache.
  const context = { cacheHasChanged: true, tokenCache: app.getTokenCache() } as unknown as TokenCacheContext;
  return time(() => plugin.afterCacheAccess(context), { budgetMs: 2_000, maxRuns: 50 });
}

async function safely(fn: () => Promise<Timing>): Promise<Timing | undefined> {
  try {
    return await fn();
  } catch (error) {
    console.error(`  failed: ${error instanceof Error ? error.message : String(error)}`);
    return undefined;
  }
}

/** Wall time of 8 processes (Node, Bun, Deno) each adding `count` tokens to one file at once. */
async function eightProcesses(folder: string, count: number): Promise<{ ms: number; tokens: number }> {
  const root = new URL("../", import.meta.url).pathname;
  const path = join(folder, "eight", "cache.json");
  const go = join(folder, "go");
  const runtimes = ["node", "bun", "deno", "node", "bun", "deno", "node", "bun"];
  const script = `${root}tests/fixtures/cache_writer.ts`;
  const children = runtimes.map((runtime, w) => {
    const args = ["file", path, `p${w}`, String(count), go];
    const [command, argv] = runtime === "node"
      ? ["node", ["--import", "tsx", script, ...args]]
      : runtime === "bun"
      ? [`${root}node_modules/.bin/bun`, [script, ...args]]
      : [`${root}node_modules/.bin/deno`, ["run", "-A", "--quiet", script, ...args]];
    const child = spawn(command as string, argv as string[], {
      cwd: root,
      stdio: ["ignore", "pipe", "inherit"],
    });
    let out = "";
    const ready = new Promise<void>((resolve) =>
      child.stdout.on("data", (chunk) => {
        out += chunk;
        if (out.includes("ready")) resolve();
      })
    );
    const done = new Promise<number | null>((resolve) => child.on("close", resolve));
    return { ready, done };
  });
  await Promise.all(children.map((c) => c.ready));
  const start = performance.now();
  writeFileSync(go, "");
  const codes = await Promise.all(children.map((c) => c.done));
  const ms = performance.now() - start;
  if (codes.some((code) => code !== 0)) throw new Error(`writer exit codes ${codes.join(", ")}`);
  const blob = JSON.parse(readFileSync(path, "utf8"));
  return { ms, tokens: Object.keys(blob.AccessToken).length };
}

async function main(): Promise<void> {
  const node = (globalThis as { process?: { version?: string } }).process?.version;
  const runtime = "Deno" in globalThis ? "Deno" : "Bun" in globalThis ? "Bun" : `Node ${node}`;
  const folder = mkdtempSync(join(tmpdir(), "authbroker-bench-persistence-"));
  try {
    const fixture = generateCacheBlob(ACCOUNTS);
    const ours = join(folder, "ours.json");
    const theirs = join(folder, "theirs.json");
    // Our file as our plugin leaves it (with its version file), theirs as msal-node-extensions writes it.
    const seed = new TokenCache({ plugin: new FileCachePlugin(ours) });
    await seed.access(() => seed.deserialize(fixture.blob));
    writeFileSync(theirs, fixture.blob);
    const mb = (statSync(ours).size / 1e6).toFixed(1);
    console.log(
      `Persistence benchmark (${runtime}): ${ACCOUNTS.toLocaleString("en-US")} accounts, ${mb} MB file\n`,
    );

    const inMemory = await safely(() => silentHitOurs(fixture));
    const onFile = await safely(() =>
      silentHitOurs(fixture, new TokenCache({ plugin: new FileCachePlugin(ours) }))
    );
    const theirsInMemory = await safely(() => silentHitMsalNode(fixture));
    const theirsOnFile = await safely(() =>
      silentHitMsalNode(fixture, new ExtensionsStyleFilePlugin(theirs))
    );
    const writeOurs = await safely(() => oneWriteOurs(ours));
    const writeTheirs = await safely(() => oneWriteMsalNode(fixture, theirs));
    const fmt = (t: Timing | undefined) => formatTiming(t, LIMIT_MS);
    const ratio = (a: Timing | undefined, b: Timing | undefined) => formatRatio(a, b);
    console.log(renderTable(
      ["operation", "@authbroker/msal", "@azure/msal-node", "msal-node / ours"],
      [
        [
          "acquireTokenSilent cache hit, in memory",
          fmt(inMemory),
          fmt(theirsInMemory),
          ratio(inMemory, theirsInMemory),
        ],
        [
          "acquireTokenSilent cache hit, file unchanged",
          fmt(onFile),
          fmt(theirsOnFile),
          ratio(onFile, theirsOnFile),
        ],
        ["  file / in memory", ratio(inMemory, onFile), ratio(theirsInMemory, theirsOnFile), ""],
        [
          "one write (lock, serialize, save)",
          fmt(writeOurs),
          fmt(writeTheirs),
          ratio(writeOurs, writeTheirs),
        ],
      ],
    ));
    console.log(
      "msal-node: with msal-node-extensions' file logic (mtime reload, wx lock file, in-place write);" +
        " ours also fsyncs and renames.\n",
    );

    if (runtime.startsWith("Node") && existsSync(new URL("../node_modules/.bin/bun", import.meta.url))) {
      const run = await eightProcesses(folder, 50);
      console.log(
        renderTable(["8 processes (3 Node, 3 Bun, 2 Deno) x 50 writes, one file", "wall time", "tokens"], [[
          "FileCachePlugin, from the start signal to the last exit",
          formatMs(run.ms),
          String(run.tokens),
        ]]),
      );
    }
  } finally {
    rmSync(folder, { recursive: true, force: true });
  }
}

if (import.meta.main ?? true) await main();
