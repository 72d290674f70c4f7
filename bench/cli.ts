/**
 * Whole-process benchmark: `authbroker token` answered from its persisted cache (a fresh process each
 * time, a 1,000-account cache file, no network) against the same job written with @azure/msal-node
 * and its own file cache handling (`bench/_msal_node_token.mjs`), each in the runtime running this
 * file. Target: at most a quarter of msal-node's time. Needs `npx tsup` first (the CLI's npm build);
 * `npm run bench` does that. Run with `npx tsx bench/cli.ts`, `npx deno run -A bench/cli.ts` or
 * `npx bun bench/cli.ts`.
 *
 * @module
 */

import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { detectRuntime } from "../core/platform.ts";
import { generateCacheBlob } from "./_fixtures.ts";
import { offlineMetadata } from "./_msal_node.ts";
import { formatMs, renderTable } from "./_table.ts";

const ACCOUNTS = 1_000;
const ROOT = new URL("..", import.meta.url).pathname;

function runtimeArgv(): string[] {
  const global = globalThis as { Deno?: { execPath(): string } };
  if (global.Deno) return [global.Deno.execPath(), "run", "-A"];
  return [process.execPath];
}

/** Wall and CPU (user + system) time of one process, in ms. */
interface ProcessTiming {
  wallMs: number;
  cpuMs?: number;
}

// GNU time reports the child's CPU time: on a loaded machine wall time says more about the neighbours.
const GNU_TIME = existsSync("/usr/bin/time") ? "/usr/bin/time" : undefined;

/** Means of `runs` fresh processes (after `warmUp` more), checking each printed `expected`. */
function timeProcess(
  argv: string[],
  env: Record<string, string>,
  expected: string,
  { runs, warmUp }: { runs: number; warmUp: number },
): ProcessTiming {
  const cpuFile = join(tmpdir(), `authbroker-bench-cpu-${process.pid}`);
  const once = (): ProcessTiming => {
    const command = GNU_TIME ? [GNU_TIME, "-f", "%U %S", "-o", cpuFile, ...argv] : argv;
    const start = performance.now();
    const child = spawnSync(command[0], command.slice(1), {
      cwd: ROOT,
      env: { ...process.env, ...env },
      encoding: "utf8",
    });
    const wallMs = performance.now() - start;
    if (child.status !== 0 || child.stdout.trim() !== expected) {
      throw new Error(
        `${argv.join(" ")} failed (${child.status}): ${child.stderr || child.stdout.slice(0, 200)}`,
      );
    }
    if (!GNU_TIME) return { wallMs };
    const [user, system] = readFileSync(cpuFile, "utf8").trim().split(/\s+/).map(Number);
    return { wallMs, cpuMs: (user + system) * 1000 };
  };
  for (let i = 0; i < warmUp; i++) once();
  const timings = Array.from({ length: runs }, once);
  rmSync(cpuFile, { force: true });
  const mean = (values: number[]): number => values.reduce((sum, value) => sum + value, 0) / values.length;
  return {
    wallMs: mean(timings.map((t) => t.wallMs)),
    cpuMs: GNU_TIME ? mean(timings.map((t) => t.cpuMs!)) : undefined,
  };
}

function ratio(ours: number | undefined, theirs: number | undefined): string {
  return ours && theirs ? `${(theirs / ours).toFixed(1)}×` : "n/a";
}

function row(job: string, ours: ProcessTiming, theirs: ProcessTiming): string[] {
  return [
    job,
    formatMs(ours.wallMs),
    formatMs(theirs.wallMs),
    ratio(ours.wallMs, theirs.wallMs),
    ours.cpuMs === undefined ? "n/a" : formatMs(ours.cpuMs),
    theirs.cpuMs === undefined ? "n/a" : formatMs(theirs.cpuMs),
    ratio(ours.cpuMs, theirs.cpuMs),
  ];
}

function main(): void {
  const cli = join(ROOT, "dist/cli/main.js");
  if (!existsSync(cli)) throw new Error("Build first: npx tsup (npm run bench does)");
  const fixture = generateCacheBlob(ACCOUNTS);
  const target = fixture.accounts[ACCOUNTS / 2];
  const tokens = JSON.parse(fixture.blob).AccessToken as Record<
    string,
    { secret: string; home_account_id: string }
  >;
  const token = Object.values(tokens).find((at) => at.home_account_id === target.homeAccountId)!.secret;
  const metadata = offlineMetadata(target.realm);
  const authority = `https://login.microsoftonline.com/${target.realm}`;
  const folder = mkdtempSync(join(tmpdir(), "authbroker-bench-cli-"));
  try {
    const ours = join(folder, "ours");
    mkdirSync(ours);
    writeFileSync(join(ours, "token_cache.json"), fixture.blob);
    const theirs = join(folder, "msal-node.json");
    writeFileSync(theirs, fixture.blob);

    const args = ["token", "--client-id", fixture.clientId, "--scope", fixture.scopes[0]];
    args.push("--authority", authority, "--username", target.username);
    const env = { AUTHBROKER_CACHE_DIR: ours };
    const runtime = detectRuntime();
    const oursTiming = timeProcess([...runtimeArgv(), cli, ...args], env, token, { runs: 5, warmUp: 1 });
    const msalNodeJob = [theirs, fixture.clientId, target.realm, target.username, fixture.scopes[0]];
    const msalNode = timeProcess(
      [...runtimeArgv(), join(ROOT, "bench/_msal_node_token.mjs"), ...msalNodeJob],
      { MSAL_NODE_METADATA: JSON.stringify(metadata) },
      token,
      // msal-node takes seconds per process with this cache: two runs tell the story.
      { runs: 2, warmUp: 0 },
    );
    const rows = [row(`token from the persisted cache (${runtime})`, oursTiming, msalNode)];
    const binary = join(ROOT, "dist/authbroker");
    if (runtime === "bun" && existsSync(binary)) {
      const compiled = timeProcess([binary, ...args], env, token, { runs: 5, warmUp: 1 });
      rows.push(row("  the same, single-file binary (npm run compile)", compiled, msalNode));
    }
    console.log(
      `\nWhole process: one \`authbroker token\` answered from a ${ACCOUNTS}-account cache file, a fresh ` +
        `process each time (means; CPU = user + system of the child), under ${runtime} ${runtimeVersion()}\n`,
    );
    console.log(
      renderTable(
        ["job", "ours wall", "msal-node wall", "ratio", "ours CPU", "msal-node CPU", "ratio"],
        rows,
      ),
    );
    console.log("target: ours at most 1/4 of msal-node's time (ratio >= 4×)");
  } finally {
    rmSync(folder, { recursive: true, force: true });
  }
}

function runtimeVersion(): string {
  const global = globalThis as { Deno?: { version: { deno: string } }; Bun?: { version: string } };
  return global.Deno?.version.deno ?? global.Bun?.version ?? process.versions.node;
}

main();
