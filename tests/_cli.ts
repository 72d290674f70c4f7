/**
 * Spawning the `authbroker` command (and other scripts of this repository) under the runtime running
 * the tests: Deno under `deno test`, Bun under `bun test`, Node (with tsx) under `node --test`. So the
 * one test file checks the command in all three runtimes across the three test runs.
 */
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";

/** The repository root. */
export const ROOT: string = new URL("..", import.meta.url).pathname;

/** The command line that runs the TypeScript file `script` (relative to the root) in this runtime. */
export function runtimeCommand(script: string): string[] {
  const path = join(ROOT, script);
  const global = globalThis as { Deno?: { execPath(): string }; Bun?: unknown };
  if (global.Deno) return [global.Deno.execPath(), "run", "-A", path];
  if (global.Bun) return [process.execPath, path];
  return [process.execPath, "--import", "tsx", path];
}

/** What a finished process left. */
export interface Finished {
  code: number | null;
  signal: string | null;
  stdout: string;
  stderr: string;
}

/** A running process, with its output so far. */
export interface Running {
  /** Resolves when it exits. */
  finished: Promise<Finished>;
  /** stderr so far. */
  stderr(): string;
  /** Resolves with the first match of `pattern` in stderr (rejects if the process exits first). */
  waitForStderr(pattern: RegExp): Promise<RegExpExecArray>;
  /** The same for stdout. */
  waitForStdout(pattern: RegExp): Promise<RegExpExecArray>;
  /** Sends a signal. */
  kill(signal: NodeJS.Signals): void;
}

/** Starts `command` (argv) with extra environment variables. */
export function start(command: string[], env: Record<string, string | undefined> = {}): Running {
  const child = spawn(command[0], command.slice(1), {
    cwd: ROOT,
    env: { ...process.env, NO_COLOR: "1", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  const watchers = new Set<() => void>();
  child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
    stdout += chunk;
    for (const watch of watchers) watch();
  });
  child.stderr.setEncoding("utf8").on("data", (chunk: string) => {
    stderr += chunk;
    for (const watch of watchers) watch();
  });
  const finished = new Promise<Finished>((resolve, reject) => {
    child.once("error", reject);
    child.once("close", (code, signal) => {
      for (const watch of watchers) watch();
      resolve({ code, signal, stdout, stderr });
    });
  });
  let exited = false;
  const waitFor = (text: () => string, pattern: RegExp): Promise<RegExpExecArray> =>
    new Promise((resolve, reject) => {
      const watch = (): void => {
        const match = pattern.exec(text());
        if (match) {
          watchers.delete(watch);
          resolve(match);
        } else if (exited || child.exitCode !== null) {
          watchers.delete(watch);
          reject(new Error(`exited before ${pattern} appeared:\n${stdout}\n${stderr}`));
        }
      };
      watchers.add(watch);
      watch();
    });
  finished.then(() => void (exited = true), () => void (exited = true));
  return {
    finished,
    stderr: () => stderr,
    waitForStderr: (pattern) => waitFor(() => stderr, pattern),
    waitForStdout: (pattern) => waitFor(() => stdout, pattern),
    // process.kill, not child.kill: Deno's child.kill makes the exit look signal-killed even when the
    // child handled the signal and exited with a code of its own.
    kill: (signal) => void process.kill(child.pid!, signal),
  };
}

/** Runs the `authbroker` command to completion. */
export function cli(args: string[], env: Record<string, string | undefined> = {}): Running {
  return start([...runtimeCommand("cli/main.ts"), ...args], env);
}

/** A fresh temporary folder, removed by the returned function. */
export function tempDir(prefix = "authbroker-cli-"): { path: string; remove(): void } {
  const path = mkdtempSync(join(tmpdir(), prefix));
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) };
}
