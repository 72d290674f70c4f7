/**
 * The signed-in accounts, as MSAL Python's `get_accounts` and `remove_account` see them: the cache's
 * Entra ID and ADFS accounts, one per home account, merged with the broker's when the app uses one;
 * and signing an account out of both.
 *
 * @module
 */

import type { Account } from "../core/results.ts";
import { toAccount } from "../core/results.ts";
import { listBrokerAccounts, signOutViaBroker } from "./brokered.ts";
import { type AppContext, type CallOptions, hasBroker } from "./context.ts";

// MSAL Python's `get_accounts` lists accounts of these authority types only.
const LISTED_AUTHORITY_TYPES = new Set(["MSSTS", "ADFS"]);

/** Options of {@linkcode listAccounts}. */
export interface ListAccountsOptions extends Pick<CallOptions, "signal"> {
  /** Only accounts with this sign-in name (case-insensitive). */
  username?: string;
}

/**
 * The signed-in accounts, one per home account: the cache's (in the app's cloud), then the broker's
 * that the cache does not have, when the app uses a broker (a failing broker only logs a warning).
 *
 * @param context the app context
 * @param options `username` to filter by (case-insensitive), `signal` to cancel
 * @returns the accounts; `[]` when nobody signed in
 * @throws {AbortError} when `options.signal` aborts.
 * @throws {MsalError} what the cache's plugin throws, e.g. `CacheLockError` (`./persistence`).
 * @example
 * ```ts
 * import { listAccounts } from "./accounts.ts";
 * import type { AppContext } from "./context.ts";
 *
 * declare const context: AppContext;
 * const [ada] = await listAccounts(context, { username: "ada@contoso.com" });
 * ```
 */
export async function listAccounts(
  context: AppContext,
  options: ListAccountsOptions = {},
): Promise<Account[]> {
  const { username } = options;
  const wanted = username?.toLowerCase();
  const { cache } = context;
  const entries = await cache.access(
    () => cache.getAccounts({ environments: [...context.authority.environments], username }),
    { readOnly: true },
  );
  const grouped = new Map<string, Account>();
  for (const entry of entries) {
    if (!LISTED_AUTHORITY_TYPES.has(entry.authority_type)) continue;
    grouped.set(entry.home_account_id, { ...grouped.get(entry.home_account_id), ...toAccount(entry) });
  }
  if (hasBroker(context)) {
    for (const account of await listBrokerAccounts(context, { signal: options.signal })) {
      if (wanted !== undefined && account.username.toLowerCase() !== wanted) continue;
      if (!grouped.has(account.home_account_id)) grouped.set(account.home_account_id, account);
    }
  }
  if (wanted !== undefined && grouped.size === 0) {
    context.logger.verbose(
      "No account matched the username. Accounts are found by the preferred_username claim, which the " +
        "identity provider includes when the app asks for the profile scope (the library does).",
    );
  }
  return [...grouped.values()];
}

/**
 * Signs the account out: from the broker for accounts it established (failures there are logged),
 * then from the cache (its tokens for this app, in the app's cloud).
 *
 * @param context the app context
 * @param account the account, as {@linkcode listAccounts} returned it
 * @param options a signal
 * @throws {AbortError} when `options.signal` aborts.
 * @throws {MsalError} what the cache's plugin throws, e.g. `CacheLockError` (`./persistence`).
 * @example
 * ```ts
 * import { listAccounts, removeAccount } from "./accounts.ts";
 * import type { AppContext } from "./context.ts";
 *
 * declare const context: AppContext;
 * for (const account of await listAccounts(context)) await removeAccount(context, account);
 * ```
 */
export async function removeAccount(
  context: AppContext,
  account: Account,
  options: Pick<CallOptions, "signal"> = {},
): Promise<void> {
  if (hasBroker(context) && account.account_source === "broker") {
    await signOutViaBroker(context, account, options);
  }
  const { cache } = context;
  await cache.access(() =>
    cache.removeAccount({
      homeAccountId: account.home_account_id,
      environments: [...context.authority.environments],
      clientId: context.clientId,
    })
  );
}
