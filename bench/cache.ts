/**
 * Token-cache benchmark: this library's `TokenCache` against @azure/msal-node on the same unified-
 * schema caches of 100, 1,000 and 5,000 accounts. Run with `npx tsx bench/cache.ts`,
 * `npx deno run -A bench/cache.ts` or `npx bun bench/cache.ts`.
 *
 * Each row of `ROWS` pairs our measurement with msal-node's for the same user-visible operation; add
 * a row (e.g. app-level `acquireTokenSilent`, import + construct) to extend the comparison.
 *
 * @module
 */

import { TokenCache } from "../core/cache.ts";
import { type CacheFixture, generateCacheBlob } from "./_fixtures.ts";
import { createOfflineMsalNodeApp, msalNodeAccount } from "./_msal_node.ts";
import { createOfflineApp } from "./_offline_app.ts";
import { measureImportAndConstruct } from "./_startup.ts";
import { formatMs, formatRatio, formatTiming, renderTable, time, type Timing } from "./_table.ts";

/** Cache sizes, in accounts. */
const SIZES = [100, 1_000, 5_000];
/** A single msal-node call slower than this is reported as such and not repeated. */
const LIMIT_MS = 10_000;

/** What a measurement gets. */
export interface BenchCase {
  /** The generated cache. */
  fixture: CacheFixture;
  /** Number of accounts. */
  size: number;
}

/** One operation, measured for both libraries. */
export interface BenchRow {
  /** What is measured, as the table shows it. */
  label: string;
  /** Our measurement. */
  ours?: (c: BenchCase) => Promise<Timing>;
  /** msal-node's measurement. */
  msalNode?: (c: BenchCase) => Promise<Timing>;
  /** How msal-node's time grows with the number of accounts (exponent), to skip cases far over the limit. */
  msalNodeGrowth?: number;
}

function loadedCache(fixture: CacheFixture): TokenCache {
  const cache = new TokenCache();
  cache.deserialize(fixture.blob);
  return cache;
}

function loadedMsalNode(fixture: CacheFixture) {
  const app = createOfflineMsalNodeApp(fixture.clientId, "common");
  app.getTokenCache().deserialize(fixture.blob);
  return app;
}

/** The compared operations. */
export const ROWS: BenchRow[] = [
  {
    label: "deserialize",
    ours: ({ fixture }) => {
      const cache = new TokenCache();
      return time(() => cache.deserialize(fixture.blob), { budgetMs: 1_000, maxRuns: 50 });
    },
    msalNode: ({ fixture }) => {
      const cache = createOfflineMsalNodeApp(fixture.clientId, "common").getTokenCache();
      return time(() => cache.deserialize(fixture.blob), { budgetMs: 2_000, maxRuns: 50, limitMs: LIMIT_MS });
    },
  },
  {
    label: "serialize",
    ours: ({ fixture }) => {
      const cache = loadedCache(fixture);
      return time(() => cache.serialize(), { budgetMs: 1_000, maxRuns: 50 });
    },
    msalNode: ({ fixture }) => {
      const cache = loadedMsalNode(fixture).getTokenCache();
      return time(() => cache.serialize(), { budgetMs: 2_000, maxRuns: 50, limitMs: LIMIT_MS });
    },
  },
  {
    label: "list accounts",
    ours: ({ fixture }) => {
      const cache = loadedCache(fixture);
      return time(() => cache.getAccounts(), { budgetMs: 500, maxRuns: 1_000 });
    },
    msalNode: ({ fixture }) => {
      const cache = loadedMsalNode(fixture).getTokenCache();
      return time(() => cache.getAllAccounts(), { budgetMs: 2_000, maxRuns: 20, limitMs: LIMIT_MS });
    },
    msalNodeGrowth: 2,
  },
  {
    label: "cached access token (hit), per call",
    ours: ({ fixture }) => {
      const cache = loadedCache(fixture);
      const { accounts, clientId, scopes } = fixture;
      let misses = 0;
      const result = time((i) => {
        const a = accounts[(i * 7919) % accounts.length];
        const at = cache.findAccessToken({
          clientId,
          homeAccountId: a.homeAccountId,
          environments: [a.environment],
          realm: a.realm,
          scopes,
        });
        if (!at) misses++;
      }, { budgetMs: 300, batch: 1_000 });
      return result.then((t) => (misses ? Promise.reject(new Error(`${misses} cache misses`)) : t));
    },
    msalNode: ({ fixture }) => {
      const app = loadedMsalNode(fixture);
      const { accounts, scopes } = fixture;
      let misses = 0;
      return time(async (i) => {
        const account = msalNodeAccount(accounts[(i * 7919) % accounts.length]);
        const result = await app.acquireTokenSilent({ account, scopes });
        if (!result.fromCache) misses++;
      }, { budgetMs: 3_000, maxRuns: 200, limitMs: LIMIT_MS }).then((t) =>
        misses ? Promise.reject(new Error(`${misses} msal-node cache misses`)) : t
      );
    },
  },
];

/** The same operations through the public API, as an app calls them. */
ROWS.push(
  {
    label: "getAccounts (app)",
    ours: async ({ fixture }) => {
      const app = createOfflineApp(fixture.clientId, fixture.blob);
      await app.getAccounts(); // resolves the authority once, as any first call does
      return time(() => app.getAccounts(), { budgetMs: 500, maxRuns: 1_000 });
    },
    msalNode: ({ fixture }) => {
      const app = loadedMsalNode(fixture);
      return time(() => app.getAllAccounts(), { budgetMs: 2_000, maxRuns: 20, limitMs: LIMIT_MS });
    },
    msalNodeGrowth: 2,
  },
  {
    label: "acquireTokenSilent cache hit (app), per call",
    ours: async ({ fixture }) => {
      const app = createOfflineApp(fixture.clientId, fixture.blob);
      const accounts = await app.getAccounts();
      const byId = new Map(accounts.map((a) => [a.home_account_id, a]));
      const { scopes } = fixture;
      let misses = 0;
      const timing = await time(async (i) => {
        const account = byId.get(fixture.accounts[(i * 7919) % fixture.accounts.length].homeAccountId);
        const result = await app.acquireTokenSilent(scopes, { account });
        if (result?.token_source !== "cache") misses++;
      }, { budgetMs: 500, batch: 500 });
      if (misses) throw new Error(`${misses} cache misses`);
      return timing;
    },
    msalNode: ({ fixture }) => {
      const app = loadedMsalNode(fixture);
      const { accounts, scopes } = fixture;
      return time(async (i) => {
        const account = msalNodeAccount(accounts[(i * 7919) % accounts.length]);
        await app.acquireTokenSilent({ account, scopes });
      }, { budgetMs: 3_000, maxRuns: 200, limitMs: LIMIT_MS });
    },
  },
);

async function safely(fn: (() => Promise<Timing>) | undefined): Promise<Timing | undefined> {
  if (!fn) return undefined;
  try {
    return await fn();
  } catch (error) {
    console.error(`  failed: ${error instanceof Error ? error.message : String(error)}`);
    return undefined;
  }
}

async function main(): Promise<void> {
  const node = (globalThis as { process?: { version?: string } }).process?.version;
  const runtime = "Deno" in globalThis ? "Deno" : "Bun" in globalThis ? "Bun" : `Node ${node}`;
  console.log(
    `Token cache benchmark (${runtime}); msal-node calls over ${formatMs(LIMIT_MS)} are not repeated.\n`,
  );
  const previous = new Map<string, { size: number; timing: Timing }>();
  for (const size of SIZES) {
    const fixture = generateCacheBlob(size);
    const mb = (new TextEncoder().encode(fixture.blob).length / 1e6).toFixed(1);
    const rows: string[][] = [];
    for (const row of ROWS) {
      const c: BenchCase = { fixture, size };
      const ours = await safely(row.ours && (() => row.ours!(c)));
      let theirs: Timing | undefined;
      const before = previous.get(row.label);
      const estimate = before && row.msalNodeGrowth
        ? before.timing.ms * (size / before.size) ** row.msalNodeGrowth
        : 0;
      // msal-node's account listing grows worse than quadratically: don't start a call that would take minutes.
      if (estimate > 2 * LIMIT_MS) {
        theirs = { ms: estimate, runs: 0, skippedEstimateMs: estimate };
      } else {
        theirs = await safely(row.msalNode && (() => row.msalNode!(c)));
      }
      if (theirs) previous.set(row.label, { size, timing: theirs });
      rows.push([
        row.label,
        formatTiming(ours, LIMIT_MS),
        formatTiming(theirs, LIMIT_MS),
        formatRatio(ours, theirs),
      ]);
    }
    console.log(`${size.toLocaleString("en-US")} accounts (${mb} MB, ${size} ATs/RTs/ID tokens)`);
    console.log(renderTable(["operation", "@authbroker/msal", "@azure/msal-node", "msal-node / ours"], rows));
    console.log();
  }
  const startup = await measureImportAndConstruct();
  console.log(
    `import + construct, fresh process, median of ${startup.runs} (${runtime}; ours: the built dist/)`,
  );
  console.log(renderTable(["operation", "@authbroker/msal", "@azure/msal-node", "msal-node / ours"], [[
    "import + new PublicClientApplication",
    formatTiming(startup.ours, LIMIT_MS),
    formatTiming(startup.msalNode, LIMIT_MS),
    formatRatio(startup.ours, startup.msalNode),
  ]]));
}

if (import.meta.main ?? true) await main();
