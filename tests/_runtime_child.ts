// Runs tests/fixtures/msalruntime_app.ts in a child process under the runtime running the tests (Node
// through tsx, Bun, Deno) and talks to it one command at a time.
import { type ChildProcess, spawn } from "node:child_process";
import process from "node:process";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";

const APP = fileURLToPath(new URL("./fixtures/msalruntime_app.ts", import.meta.url));
const ROOT = fileURLToPath(new URL("../", import.meta.url));

const DENO = fileURLToPath(new URL("../node_modules/.bin/deno", import.meta.url));

/**
 * The command line running `file` under the current runtime, or under Deno with only `denoFlags`
 * (e.g. without `--allow-ffi`) whatever runtime runs the tests.
 */
export function runtimeCommand(file: string, denoFlags?: string[]): [string, string[]] {
  if (denoFlags) return [DENO, ["run", ...denoFlags, file]];
  const deno = (globalThis as { Deno?: { execPath(): string } }).Deno;
  if (deno) return [deno.execPath(), ["run", "-A", file]];
  if ("Bun" in globalThis) return [process.execPath, [file]];
  return [process.execPath, ["--import", "tsx", file]];
}

/** What a command answered: its value, or the exception it threw (name, message, code). */
export type ChildAnswer = { value: unknown } | { error: { name?: string; message?: string; code?: string } };

/** A running fixture app. */
export class RuntimeChild {
  readonly #child: ChildProcess;
  readonly #waiting = new Map<number, (answer: ChildAnswer) => void>();
  readonly #exited: Promise<number | null>;
  #next = 1;
  /** Everything the child wrote to stderr (the runtime's own noise, crashes). */
  stderr = "";

  /** Starts the app with `env`; see {@linkcode runtimeCommand} for `denoFlags`. */
  constructor(env: Record<string, string | undefined>, denoFlags?: string[]) {
    const [command, args] = runtimeCommand(APP, denoFlags);
    this.#child = spawn(command, args, { cwd: ROOT, env, stdio: ["pipe", "pipe", "pipe"] });
    this.#child.stderr!.on("data", (chunk) => this.stderr += String(chunk));
    createInterface({ input: this.#child.stdout! }).on("line", (line) => {
      if (!line.startsWith("@@")) return;
      const { id, ...answer } = JSON.parse(line.slice(2)) as { id: number } & ChildAnswer;
      this.#waiting.get(id)?.(answer);
      this.#waiting.delete(id);
    });
    this.#exited = new Promise((resolve) => this.#child.once("exit", (code) => resolve(code)));
  }

  /** Sends a command and waits for its answer. */
  async send(op: string, args: Record<string, unknown> = {}): Promise<ChildAnswer> {
    const id = this.#next++;
    const answered = new Promise<ChildAnswer>((resolve) => this.#waiting.set(id, resolve));
    this.#child.stdin!.write(`${JSON.stringify({ id, op, args })}\n`);
    const exited = this.#exited.then((code): never => {
      throw new Error(`the app exited (${code}) before answering ${op}: ${this.stderr}`);
    });
    return await Promise.race([answered, exited]);
  }

  /** Sends a command whose answer must be a value, and returns it. */
  async value<T>(op: string, args: Record<string, unknown> = {}): Promise<T> {
    const answer = await this.send(op, args);
    if ("error" in answer) throw new Error(`${op} threw ${JSON.stringify(answer.error)}`);
    return answer.value as T;
  }

  /** Asks the app to exit, and makes sure it has. */
  async close(): Promise<void> {
    if (this.#child.exitCode === null && this.#child.signalCode === null) {
      this.#child.stdin!.write(`${JSON.stringify({ id: 0, op: "exit" })}\n`);
      const timer = setTimeout(() => this.#child.kill("SIGKILL"), 10_000);
      await this.#exited;
      clearTimeout(timer);
    }
  }
}
