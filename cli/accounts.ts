/**
 * `authbroker accounts` and `authbroker logout`: the signed-in accounts, and forgetting them.
 *
 * @module
 */

import type { Account } from "../mod.ts";
import { EXIT_OK } from "./exit_codes.ts";
import { type AppSettings, openApp, persistedCache } from "./_app.ts";
import type { CachePaths } from "./_paths.ts";
import type { Terminal } from "./_terminal.ts";

/** What `authbroker accounts` was asked for. */
export interface AccountsCommand extends Omit<AppSettings, "clientId"> {
  /** Only this app's accounts (and the broker's, with `broker`); every account in the cache without it. */
  clientId?: string;
  /** Only accounts with this username. */
  username?: string;
  /** Print the accounts as a JSON array. */
  json?: boolean;
}

/** Runs `authbroker accounts`: one line per account (`username`, `home_account_id`, `environment`). */
export async function accounts(
  command: AccountsCommand,
  terminal: Terminal,
  signal: AbortSignal,
): Promise<number> {
  const found = command.clientId
    ? await appAccounts({ ...command, clientId: command.clientId }, terminal, signal)
    : await cachedAccounts(command.paths, command.username, terminal);
  if (command.json) {
    terminal.out(`${JSON.stringify(found, null, 2)}\n`);
    return EXIT_OK;
  }
  if (found.length === 0) terminal.err("No signed-in accounts. Sign in with `authbroker token`.\n");
  const lines = found.map((account) =>
    `${account.username}\t${account.home_account_id}\t${account.environment}\n`
  );
  terminal.out(lines.join(""));
  return EXIT_OK;
}

/** What `authbroker logout` was asked for. */
export interface LogoutCommand extends AppSettings {
  /** Only this account; every account of the app without it. */
  username?: string;
}

/** Runs `authbroker logout`: signs the accounts out of the broker (broker accounts) and the cache. */
export async function logout(
  command: LogoutCommand,
  terminal: Terminal,
  signal: AbortSignal,
): Promise<number> {
  const app = await openApp(command, terminal);
  try {
    const signedIn = await app.getAccounts({ username: command.username, signal });
    if (signedIn.length === 0) {
      terminal.err(
        command.username ? `No signed-in account named ${command.username}.\n` : "No signed-in accounts.\n",
      );
    }
    for (const account of signedIn) {
      await app.removeAccount(account, { signal });
      terminal.out(`Signed out ${account.username}\n`);
    }
    return EXIT_OK;
  } finally {
    await app.close();
  }
}

async function appAccounts(
  settings: AppSettings & { username?: string },
  terminal: Terminal,
  signal: AbortSignal,
): Promise<Account[]> {
  const app = await openApp(settings, terminal);
  try {
    return await app.getAccounts({ username: settings.username, signal });
  } finally {
    await app.close();
  }
}

/** Every account in the persisted cache, whichever app signed it in; no network. */
async function cachedAccounts(
  paths: CachePaths,
  username: string | undefined,
  terminal: Terminal,
): Promise<Account[]> {
  const cache = persistedCache(paths.tokenCache, terminal);
  const entries = await cache.access(() => cache.getAccounts({ username }));
  const byHome = new Map(entries.map((entry) => [entry.home_account_id, entry]));
  return [...byHome.values()].map((entry) => {
    const account: Account = {
      home_account_id: entry.home_account_id,
      environment: entry.environment,
      username: entry.username ?? "",
      realm: entry.realm,
      local_account_id: entry.local_account_id ?? "",
      authority_type: entry.authority_type,
    };
    if (entry.account_source) account.account_source = entry.account_source;
    return account;
  });
}
