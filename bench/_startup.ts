/**
 * Import + construct cost, measured in fresh processes of the running runtime (a warm process would
 * hide module loading, which is most of it).
 *
 * @module
 */

import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import type { Timing } from "./_table.ts";

const probe = fileURLToPath(new URL("./_import_probe.mjs", import.meta.url));

function runtimeCommand(): { command: string; args: string[] } {
  const deno = (globalThis as { Deno?: { execPath(): string } }).Deno;
  if (deno) return { command: deno.execPath(), args: ["run", "-A", probe] };
  return { command: process.execPath, args: [probe] };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

function measure(which: "ours" | "msal-node", runs: number): Timing | undefined {
  const { command, args } = runtimeCommand();
  const samples: number[] = [];
  for (let i = 0; i < runs; i++) {
    const child = spawnSync(command, [...args, which], { encoding: "utf8" });
    const ms = Number(child.stdout.trim().split("\n").pop());
    if (child.status !== 0 || !Number.isFinite(ms)) {
      console.error(
        `  import probe (${which}) failed: ${child.stderr.trim().split("\n").slice(-3).join(" ")}`,
      );
      return undefined;
    }
    samples.push(ms);
  }
  return { ms: median(samples), runs };
}

/** Medians of `runs` fresh-process imports of our built package and of @azure/msal-node. */
export function measureImportAndConstruct(
  runs = 7,
): Promise<{ ours?: Timing; msalNode?: Timing; runs: number }> {
  return Promise.resolve({ ours: measure("ours", runs), msalNode: measure("msal-node", runs), runs });
}
