// Helpers of the persistence tests: token responses for distinct tokens, and child processes of
// each runtime running a fixture script.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { writeFileSync } from "node:fs";
import type { TokenResponseEvent } from "../mod.ts";
import { CLIENT_ID, commandFor, ROOT, type TestRuntime } from "./_helpers.ts";

const b64url = (text: string): string =>
  btoa(String.fromCharCode(...new TextEncoder().encode(text))).replace(/=+$/, "").replace(/\+/g, "-")
    .replace(/\//g, "_");

/** The authority host of the generated tokens. */
export const ENVIRONMENT = "login.microsoftonline.com";
/** The tenant of the generated tokens. */
export const TENANT = "f00dbabe-0000-4000-8000-000000000001";

/** A token response for user `user`, whose access token `access_token` covers the single scope `scope`. */
export function tokenEvent(user: string, scope: string, accessToken: string): TokenResponseEvent {
  return {
    clientId: CLIENT_ID,
    environment: ENVIRONMENT,
    realm: TENANT,
    scopes: [scope],
    response: {
      access_token: accessToken,
      token_type: "Bearer",
      expires_in: 3600,
      scope,
      refresh_token: `rt-${user}`,
      id_token: `${b64url('{"alg":"none"}')}.${
        b64url(JSON.stringify({
          iss: `https://${ENVIRONMENT}/${TENANT}/v2.0`,
          aud: CLIENT_ID,
          sub: `sub-${user}`,
          oid: `oid-${user}`,
          tid: TENANT,
          preferred_username: `${user}@contoso.com`,
          iat: 1,
          exp: 4_000_000_000,
        }))
      }.sig`,
      client_info: b64url(JSON.stringify({ uid: `uid-${user}`, utid: TENANT })),
    },
  };
}

/** A started fixture process. */
export interface FixtureProcess {
  /** Its pid. */
  pid: number;
  /** Resolves with exit code (or signal) and output once it has exited. */
  exited: Promise<{ code: number | null; signal: string | null; stdout: string; stderr: string }>;
  /** Resolves when its stdout contains `text`. */
  printed(text: string): Promise<void>;
  /** Sends a signal. */
  kill(signal: "SIGKILL" | "SIGTERM"): void;
}

/** Starts `script` under `runtime`, with `env` added to the environment. */
export function startFixture(
  runtime: TestRuntime,
  script: string,
  args: string[],
  env: Record<string, string> = {},
): FixtureProcess {
  const [command, argv] = commandFor(runtime, script, args);
  const child = spawn(command, argv, { cwd: ROOT, env: { ...process.env, ...env }, stdio: "pipe" });
  let stdout = "";
  let stderr = "";
  const waiters: { text: string; resolve: () => void }[] = [];
  child.stdout!.on("data", (chunk) => {
    stdout += chunk;
    for (const w of waiters.filter((w) => stdout.includes(w.text))) w.resolve();
  });
  child.stderr!.on("data", (chunk) => (stderr += chunk));
  const exited = new Promise<{ code: number | null; signal: string | null; stdout: string; stderr: string }>(
    (resolve) => child.on("close", (code, signal) => resolve({ code, signal, stdout, stderr })),
  );
  return {
    pid: child.pid!,
    exited,
    printed: (text) =>
      stdout.includes(text) ? Promise.resolve() : Promise.race([
        new Promise<void>((resolve) => waiters.push({ text, resolve })),
        exited.then((r) => {
          throw new Error(
            `${runtime} ${script} exited (${r.code ?? r.signal}) before printing ${text}:\n${r.stderr}`,
          );
        }),
      ]),
    kill: (signal) => child.kill(signal),
  };
}

/**
 * Lets `writers` (fixtures that print "ready", then wait for the file `go`) start together, and asserts
 * that each exits with code 0. Kills any left running.
 */
export async function runTogether(writers: FixtureProcess[], go: string): Promise<void> {
  try {
    await Promise.all(writers.map((w) => w.printed("ready")));
    writeFileSync(go, "");
    const exits = await Promise.all(writers.map((w) => w.exited));
    for (const exit of exits) assert.equal(exit.code, 0, exit.stderr);
  } finally {
    for (const w of writers) w.kill("SIGKILL");
  }
}
