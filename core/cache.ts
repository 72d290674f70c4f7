/**
 * The token cache: an indexed in-memory store of access, refresh and ID tokens, accounts and app
 * metadata in the unified MSAL JSON schema, so that a cache file can be shared with MSAL Python and
 * msal-node. Lookups go by value through indexes (keys written by other libraries are opaque), and an
 * optional {@linkcode CachePlugin} persists it.
 *
 * @example
 * ```ts
 * import { readFile, writeFile } from "node:fs/promises";
 * import { TokenCache } from "@authbroker/msal";
 *
 * const cache = new TokenCache();
 * cache.deserialize(await readFile("cache.json", "utf8").catch(() => ""));
 * // ... use it with a PublicClientApplication ...
 * if (cache.hasStateChanged) await writeFile("cache.json", cache.serialize());
 * ```
 *
 * @module
 */

import { buildEntries, type TokenResponseEvent } from "./_cache_entries.ts";
import {
  type AccessTokenEntry,
  type AccountEntry,
  type AnyEntry,
  type AppMetadataEntry,
  type CacheSection,
  hasExtraCacheKey,
  type IdTokenEntry,
  lc,
  mergeEntry,
  pythonKey,
  type RefreshTokenEntry,
  sameCredential,
  shallowEqual,
  targetSet,
} from "./_cache_schema.ts";
import { CacheState } from "./_cache_store.ts";
import { MsalError } from "./errors.ts";
import type { IdTokenClaims } from "./results.ts";

export type {
  AccessTokenEntry,
  AccountEntry,
  AppMetadataEntry,
  CacheSection,
  IdTokenEntry,
  RefreshTokenEntry,
} from "./_cache_schema.ts";
export type { TokenResponseEvent } from "./_cache_entries.ts";

/** What a {@linkcode CachePlugin} hook receives. */
export interface CachePluginContext {
  /** The cache: `deserialize` fresh data in `beforeCacheAccess`, `serialize` it in `afterCacheAccess`. */
  readonly cache: TokenCache;
  /** In `afterCacheAccess`: whether the access changed the cache (so it needs writing). */
  readonly cacheHasChanged: boolean;
  /**
   * Whether the access only reads (`access(fn, { readOnly: true })`): a plugin need not lock, since
   * nothing will be written. A plugin that does not care may ignore it.
   */
  readonly readOnly: boolean;
}

/**
 * Persistence hooks, as msal-node's `ICachePlugin`. `afterCacheAccess` is called exactly once after
 * every `beforeCacheAccess` that resolved (also when the work in between failed), so a plugin may
 * take a lock in one and release it in the other. If `beforeCacheAccess` rejects, `afterCacheAccess`
 * is not called.
 */
export interface CachePlugin {
  /**
   * Runs before the cache is read or written; typically loads and `deserialize`s the persisted state.
   *
   * @param context the `cache` and the access's `readOnly` flag (`cacheHasChanged` is `false`)
   */
  beforeCacheAccess(context: CachePluginContext): Promise<void>;
  /**
   * Runs afterwards; typically writes `serialize()` when `cacheHasChanged`.
   *
   * @param context the `cache`, whether the access changed it (`cacheHasChanged`), and `readOnly`
   */
  afterCacheAccess(context: CachePluginContext): Promise<void>;
}

/** Options of {@linkcode TokenCache}. */
export interface TokenCacheOptions {
  /** Persistence hooks run around every {@linkcode TokenCache.access}. */
  plugin?: CachePlugin;
}

/** Options of {@linkcode TokenCache.access}. */
export interface CacheAccessOptions {
  /**
   * The callback only reads. Plugins may then skip their write lock; a callback that changes the
   * cache anyway is undone and `access` throws.
   */
  readOnly?: boolean;
}

/** What {@linkcode TokenCache.addTokenResponse} derived from the response. */
export interface AddTokenResponseResult {
  /** `<uid>.<utid>` from `client_info`, else the ID token's `sub`; absent for app-only tokens. */
  homeAccountId?: string;
  /** The Account entry written, or (with `skipAccountCreation`) the existing one for that tenant. */
  account?: AccountEntry;
  /** The ID token's claims (decoded, or as the broker gave them). */
  idTokenClaims?: IdTokenClaims;
}

/** Query of {@linkcode TokenCache.findAccessToken}. */
export interface AccessTokenQuery {
  /** The app. */
  clientId: string;
  /** The account's `home_account_id`. */
  homeAccountId: string;
  /** The hosts to match: the authority's and its aliases (e.g. `login.windows.net`). */
  environments: string[];
  /** The tenant; any when `undefined` (authorities with one realm: B2C, ADFS, generic OIDC). */
  realm: string | undefined;
  /** Scopes the token must cover (case-insensitive). */
  scopes: string[];
  /** Only tokens bound to this key (PoP, SSH certificates); without it, only unbound tokens. */
  keyId?: string;
  /** Epoch seconds to compare `expires_on` with; defaults to now. */
  now?: number;
}

/** Query of {@linkcode TokenCache.findRefreshTokens}. */
export interface RefreshTokenQuery {
  /** The account's `home_account_id`. */
  homeAccountId: string;
  /** The hosts to match: the authority's and its aliases (e.g. `login.windows.net`). */
  environments: string[];
  /** Only RTs obtained by this app. */
  clientId?: string;
  /** Only family (FOCI) RTs of this family, whichever app obtained them. */
  familyId?: string;
}

/** Query of {@linkcode TokenCache.findIdToken}. */
export interface IdTokenQuery {
  /** The account's `home_account_id`. */
  homeAccountId: string;
  /** The hosts to match: the authority's and its aliases (e.g. `login.windows.net`). */
  environments: string[];
  /** The tenant; without it, any tenant's ID token. */
  realm?: string;
  /** The app. */
  clientId: string;
}

/** Query of {@linkcode TokenCache.findAppMetadata}. */
export interface AppMetadataQuery {
  /** The app. */
  clientId: string;
  /** The hosts to match: the authority's and its aliases (e.g. `login.windows.net`). */
  environments: string[];
}

/** Query of {@linkcode TokenCache.getAccounts}; every field narrows the result. */
export interface AccountQuery {
  /** The hosts to match: the authority's and its aliases (e.g. `login.windows.net`). */
  environments?: string[];
  /** Case-insensitive exact match on `username`. */
  username?: string;
  /** The account's `home_account_id`. */
  homeAccountId?: string;
}

/** Query of {@linkcode TokenCache.removeAccount}. */
export interface RemoveAccountQuery {
  /** The account's `home_account_id`. */
  homeAccountId: string;
  /** The hosts to match: the authority's and its aliases (e.g. `login.windows.net`). */
  environments: string[];
  /** The app signing the user out: its RTs (and its family's) are removed, other apps' are kept. */
  clientId: string;
}

type Undo = { state: CacheState } | { section: CacheSection; key: string; previous?: AnyEntry };

function environmentSet(environments: readonly string[]): Set<string> {
  return new Set(environments.map((e) => e.toLowerCase()));
}

function copy<T>(entry: AnyEntry): T {
  return { ...entry } as T;
}

/**
 * An in-memory token cache in the unified MSAL schema, with indexes for every lookup and optional
 * persistence through a {@linkcode CachePlugin}.
 *
 * Entries returned by the `find*` methods are copies: changing them does not change the cache.
 */
export class TokenCache {
  #state: CacheState = CacheState.empty();
  #changed = false;
  /** Bumped on every mutation; tells `access()` whether its callback changed anything. */
  #version = 0;
  #journal: Undo[] | undefined;
  #tail: Promise<void> = Promise.resolve();
  readonly #plugin: CachePlugin | undefined;

  /**
   * Creates an empty cache.
   *
   * @param options `plugin`: the persistence hooks {@linkcode TokenCache.access} runs; none by default
   */
  constructor(options: TokenCacheOptions = {}) {
    this.#plugin = options.plugin;
  }

  /** Whether the cache changed since the last `serialize()` or `deserialize()`. */
  get hasStateChanged(): boolean {
    return this.#changed;
  }

  /**
   * Returns the cache as unified-schema JSON (MSAL Python's schema and keys, compact). Unknown sections
   * and fields from the last `deserialize` are kept, and entries keep their original keys.
   *
   * @returns the JSON text: an object of sections (`AccessToken`, `RefreshToken`, `IdToken`,
   *   `Account`, `AppMetadata`, ...), each mapping an entry's key to the entry
   */
  serialize(): string {
    const text = this.#state.serialize();
    this.#changed = false;
    return text;
  }

  /**
   * Replaces the cache's content with `state` (as written by this library, MSAL Python or msal-node);
   * `""` empties it.
   *
   * @param state unified-schema JSON text, as {@linkcode TokenCache.serialize} returns it, or `""`
   * @throws {InvalidInputError} if `state` is not a cache (not JSON, not an object, a section or an
   *   entry of the wrong shape). The cache is then left exactly as it was.
   */
  deserialize(state: string): void {
    const next = CacheState.parse(state);
    this.#journal?.push({ state: this.#state });
    this.#state = next;
    this.#changed = false;
    this.#version++;
  }

  /**
   * Runs `fn` between the plugin's `beforeCacheAccess` and `afterCacheAccess` (whose
   * `cacheHasChanged` says whether `fn` changed anything); without a plugin it just runs `fn`.
   * Calls are serialized, so hook pairs never interleave; do not call `access()` from inside `fn`.
   *
   * If a hook or `fn` throws, the error propagates and the changes made in this call are undone: a
   * failing `beforeCacheAccess` leaves the cache as it was; a failing `fn` or `afterCacheAccess`
   * leaves it as `beforeCacheAccess` loaded it. The in-memory state is only ever replaced by data the
   * plugin actually `deserialize`d, never by an older snapshot.
   *
   * Pass `{ readOnly: true }` for lookups: persistence plugins then read without taking their
   * cross-process lock.
   *
   * @param fn the work on the cache, sync or async; its result is passed through
   * @param options `readOnly`: `fn` only reads (default `false`)
   * @returns a promise of what `fn` returned, settled after `afterCacheAccess` ran
   * @throws {MsalError} `read_only_access` with `readOnly`, if `fn` changed the cache (the change is undone).
   * @throws what `fn` or the plugin's `beforeCacheAccess` / `afterCacheAccess` throws, e.g. a
   * `CacheLockError` of `./persistence`; `fn`'s changes are undone then.
   * @example
   * ```ts
   * const cache = new TokenCache();
   * const query: AccessTokenQuery = {
   *   clientId: "my-client-id",
   *   homeAccountId: "uid.utid",
   *   environments: ["login.microsoftonline.com"],
   *   realm: "common",
   *   scopes: ["User.Read"],
   * };
   * const at = await cache.access(() => cache.findAccessToken(query), { readOnly: true });
   * ```
   */
  access<T>(fn: () => T | Promise<T>, options: CacheAccessOptions = {}): Promise<T> {
    const readOnly = options.readOnly === true;
    const run = this.#tail.then(() => this.#transaction(fn, readOnly));
    this.#tail = run.then(() => {}, () => {});
    return run;
  }

  async #transaction<T>(fn: () => T | Promise<T>, readOnly: boolean): Promise<T> {
    const journal: Undo[] = [];
    const wasChanged = this.#changed;
    this.#journal = journal;
    try {
      const plugin = this.#plugin;
      if (plugin) {
        try {
          await plugin.beforeCacheAccess({ cache: this, cacheHasChanged: false, readOnly });
        } catch (error) {
          this.#rollback(journal, 0, wasChanged);
          throw error;
        }
      }
      const mark = journal.length;
      const loadedChanged = this.#changed;
      const version = this.#version;
      let result: T;
      try {
        result = await fn();
        if (readOnly && this.#version !== version) {
          throw new MsalError(
            "read_only_access",
            "A readOnly cache access changed the cache; the change was undone",
          );
        }
      } catch (error) {
        this.#rollback(journal, mark, loadedChanged);
        if (plugin) {
          try {
            await plugin.afterCacheAccess({ cache: this, cacheHasChanged: false, readOnly });
          } catch {
            // The callback's error is the one the caller needs to see.
          }
        }
        throw error;
      }
      if (plugin) {
        try {
          await plugin.afterCacheAccess({
            cache: this,
            cacheHasChanged: this.#version !== version,
            readOnly,
          });
        } catch (error) {
          this.#rollback(journal, mark, loadedChanged);
          throw error;
        }
      }
      return result;
    } finally {
      this.#journal = undefined;
    }
  }

  #rollback(journal: Undo[], mark: number, changed: boolean): void {
    for (let i = journal.length - 1; i >= mark; i--) {
      const undo = journal[i];
      if ("state" in undo) {
        this.#state = undo.state;
      } else if (undo.previous) {
        this.#state.sections[undo.section].set(undo.key, undo.previous);
      } else {
        this.#state.sections[undo.section].delete(undo.key);
      }
    }
    journal.length = mark;
    this.#changed = changed;
    this.#version++;
  }

  #set(section: CacheSection, key: string, entry: AnyEntry): void {
    const previous = this.#state.sections[section].set(key, entry);
    this.#journal?.push({ section, key, previous });
    this.#touch();
  }

  #delete(section: CacheSection, key: string): void {
    const previous = this.#state.sections[section].delete(key);
    if (!previous) return;
    this.#journal?.push({ section, key, previous });
    this.#touch();
  }

  #touch(): void {
    this.#changed = true;
    this.#version++;
  }

  /**
   * Writes `entry`, replacing in place the entry that describes the same credential, whatever its
   * key (duplicates of it, e.g. written by two libraries, are removed). A new entry gets MSAL Python's
   * key. Returns the stored entry.
   */
  #upsert(section: CacheSection, entry: AnyEntry): AnyEntry {
    const store = this.#state.sections[section];
    const bucket = store.bucket(section === "AppMetadata" ? lc(entry.client_id) : lc(entry.home_account_id));
    let target: [string, AnyEntry] | undefined;
    const duplicates: string[] = [];
    for (const [key, existing] of bucket) {
      if (!sameCredential(section, existing, entry)) continue;
      if (target) duplicates.push(key);
      else target = [key, existing];
    }
    for (const key of duplicates) this.#delete(section, key);
    if (!target) {
      let key = pythonKey(section, entry);
      // A foreign entry that is not the same credential may sit on that key; never overwrite it.
      for (let n = 1; store.get(key); n++) key = `${pythonKey(section, entry)}-${n}`;
      this.#set(section, key, entry);
      return entry;
    }
    const [oldKey, old] = target;
    const next = mergeEntry(section, old, entry);
    if (shallowEqual(old, next)) return old;
    // Keep a key MSAL Python computes from the entry's values, so its key-based modify/remove work.
    const newKey = pythonKey(section, next);
    if (oldKey !== newKey && oldKey === pythonKey(section, old) && !store.get(newKey)) {
      this.#delete(section, oldKey);
      this.#set(section, newKey, next);
    } else {
      this.#set(section, oldKey, next);
    }
    return next;
  }

  /**
   * Adds what a token response carries, with MSAL Python's derivations (MSAL Python's
   * `TokenCache.add`): the access token, refresh token, ID token, Account (unless
   * `skipAccountCreation`) and AppMetadata. Newer entries replace the ones for the same account,
   * environment, tenant, app (and scopes, for access tokens).
   *
   * @param event the raw token response (from the token endpoint or a broker) with the request's app,
   *   environment, realm and scopes, and `now` (seconds since the epoch; the current time by default)
   * @returns what was derived: the `homeAccountId`, the Account entry and the ID token's claims (each
   *   absent when the response has none, e.g. an app-only token)
   * @throws {InvalidInputError} if the response's ID token is malformed; nothing is written then.
   */
  addTokenResponse(event: TokenResponseEvent): AddTokenResponseResult {
    const built = buildEntries(event);
    if (built.accessToken) this.#upsert("AccessToken", built.accessToken);
    let account: AnyEntry | undefined;
    if (built.account) {
      account = this.#upsert("Account", built.account);
    } else if (built.homeAccountId) {
      const wanted = {
        home_account_id: built.homeAccountId,
        environment: event.environment,
        realm: built.realm,
      };
      for (const existing of this.#state.sections.Account.bucket(built.homeAccountId).values()) {
        if (sameCredential("Account", existing, wanted)) account = existing;
      }
    }
    if (built.idToken) this.#upsert("IdToken", built.idToken);
    if (built.refreshToken) this.#upsert("RefreshToken", built.refreshToken);
    this.#upsert("AppMetadata", built.appMetadata);
    return {
      ...(built.homeAccountId !== undefined && { homeAccountId: built.homeAccountId }),
      ...(account && { account: copy<AccountEntry>(account) }),
      ...(built.idTokenClaims && { idTokenClaims: built.idTokenClaims }),
    };
  }

  /**
   * Finds an access token for the account, app, tenant and scopes (its `target` must include every
   * requested scope, case-insensitively) that has not expired (`expires_on > now`). When several
   * match, returns the one expiring last. The caller applies its own safety margin (MSAL treats
   * tokens expiring within 5 minutes as expired) and `refresh_on`. Cost: O(entries of this account).
   *
   * @param query the app, account, environments, tenant, scopes, optional `keyId`, and `now` (seconds
   *   since the epoch; the current time by default)
   * @returns a copy of the matching entry, or `undefined` if none is cached and unexpired
   */
  findAccessToken(query: AccessTokenQuery): AccessTokenEntry | undefined {
    const now = query.now ?? Date.now() / 1000;
    const environments = environmentSet(query.environments);
    const clientId = query.clientId.toLowerCase();
    const realm = query.realm?.toLowerCase();
    const scopes = query.scopes.map((s) => s.toLowerCase());
    let best: AnyEntry | undefined;
    let bestExpiry = -Infinity;
    for (const entry of this.#state.sections.AccessToken.bucket(query.homeAccountId).values()) {
      if (
        lc(entry.client_id) !== clientId || (realm !== undefined && lc(entry.realm) !== realm) ||
        !environments.has(lc(entry.environment))
      ) continue;
      if ((entry.key_id ?? undefined) !== query.keyId || hasExtraCacheKey(entry)) continue;
      const expiresOn = Number(entry.expires_on);
      if (!(expiresOn > now) || expiresOn <= bestExpiry) continue;
      const target = targetSet(entry);
      if (!scopes.every((s) => target.has(s))) continue;
      best = entry;
      bestExpiry = expiresOn;
    }
    return best && copy<AccessTokenEntry>(best);
  }

  /**
   * Finds the account's refresh tokens in these environments, of one app (`clientId`) and/or one
   * family (`familyId`), newest first (`last_modification_time`). Cost: O(RTs of this account).
   *
   * @param query the account, environments, and `clientId` and/or `familyId`
   * @returns copies of the matching entries, newest first; empty if none
   */
  findRefreshTokens(query: RefreshTokenQuery): RefreshTokenEntry[] {
    const environments = environmentSet(query.environments);
    const clientId = query.clientId?.toLowerCase();
    const found: AnyEntry[] = [];
    for (const entry of this.#state.sections.RefreshToken.bucket(query.homeAccountId).values()) {
      if (!environments.has(lc(entry.environment))) continue;
      if (clientId !== undefined && lc(entry.client_id) !== clientId) continue;
      if (query.familyId !== undefined && entry.family_id !== query.familyId) continue;
      found.push(entry);
    }
    const time = (e: AnyEntry): number => Number(e.last_modification_time) || 0;
    return found.sort((a, b) => time(b) - time(a)).map((e) => copy<RefreshTokenEntry>(e));
  }

  /**
   * Finds the account's ID token for this app (and tenant, if given). Cost: O(ID tokens of this account).
   *
   * @param query the app, account, environments and (optionally) tenant
   * @returns a copy of the first matching entry, or `undefined`
   */
  findIdToken(query: IdTokenQuery): IdTokenEntry | undefined {
    const environments = environmentSet(query.environments);
    const clientId = query.clientId.toLowerCase();
    const realm = query.realm?.toLowerCase();
    for (const entry of this.#state.sections.IdToken.bucket(query.homeAccountId).values()) {
      if (lc(entry.client_id) !== clientId || !environments.has(lc(entry.environment))) continue;
      if (realm !== undefined && lc(entry.realm) !== realm) continue;
      return copy<IdTokenEntry>(entry);
    }
    return undefined;
  }

  /**
   * Finds the app's metadata (its FOCI `family_id`) in these environments.
   *
   * @param query the app (`clientId`) and the environments
   * @returns a copy of the entry, or `undefined` if the app has none there
   */
  findAppMetadata(query: AppMetadataQuery): AppMetadataEntry | undefined {
    const environments = environmentSet(query.environments);
    for (const entry of this.#state.sections.AppMetadata.bucket(query.clientId).values()) {
      if (environments.has(lc(entry.environment))) return copy<AppMetadataEntry>(entry);
    }
    return undefined;
  }

  /**
   * Lists Account entries (one per home account and tenant, not grouped), narrowed by the query.
   * Cost: O(accounts), or O(entries of that account) with `homeAccountId`.
   *
   * @param query optional `homeAccountId`, `environments` and `username` (case-insensitive); all
   *   accounts by default
   * @returns copies of the matching Account entries; empty if none
   */
  getAccounts(query: AccountQuery = {}): AccountEntry[] {
    const environments = query.environments && environmentSet(query.environments);
    const username = query.username?.toLowerCase();
    const accounts = this.#state.sections.Account;
    const candidates = query.homeAccountId !== undefined
      ? accounts.bucket(query.homeAccountId).values()
      : accounts.values();
    const found: AccountEntry[] = [];
    for (const entry of candidates) {
      if (environments && !environments.has(lc(entry.environment))) continue;
      if (username !== undefined && lc(entry.username) !== username) continue;
      found.push(copy<AccountEntry>(entry));
    }
    return found;
  }

  #removeBySecret(section: CacheSection, entry: AnyEntry): void {
    const bucket = this.#state.sections[section].bucket(lc(entry.home_account_id));
    for (const [key, existing] of bucket) {
      if (
        existing.secret === entry.secret && lc(existing.client_id) === lc(entry.client_id) &&
        lc(existing.environment) === lc(entry.environment)
      ) {
        this.#delete(section, key);
        return;
      }
    }
  }

  /**
   * Removes this access token; a no-op if it is no longer cached.
   *
   * @param entry the entry as `findAccessToken` returned it (matched by secret, app and environment)
   */
  removeAccessToken(entry: AccessTokenEntry): void {
    this.#removeBySecret("AccessToken", entry);
  }

  /**
   * Removes this refresh token (as returned by `findRefreshTokens`); a no-op if it is no longer cached
   * or was rotated since.
   *
   * @param entry the entry as `findRefreshTokens` returned it (matched by secret, app and environment)
   */
  removeRefreshToken(entry: RefreshTokenEntry): void {
    this.#removeBySecret("RefreshToken", entry);
  }

  /**
   * Forgets an account, as MSAL Python's `remove_account` (`_forget_me`): the RTs of this app or of
   * its family, all the account's access tokens, ID tokens and Account entries, in every tenant.
   *
   * @param query the account (`homeAccountId`), the app (`clientId`) and the environments
   */
  removeAccount(query: RemoveAccountQuery): void {
    const environments = environmentSet(query.environments);
    const clientId = query.clientId.toLowerCase();
    const familyId = this.findAppMetadata({ clientId, environments: query.environments })?.family_id;
    const sections = this.#state.sections;
    const owned = (section: CacheSection, keep?: (entry: AnyEntry) => boolean): void => {
      const keys: string[] = [];
      for (const [key, entry] of sections[section].bucket(query.homeAccountId)) {
        if (environments.has(lc(entry.environment)) && !keep?.(entry)) keys.push(key);
      }
      for (const key of keys) this.#delete(section, key);
    };
    owned("RefreshToken", (rt) => lc(rt.client_id) !== clientId && !(familyId && rt.family_id === familyId));
    owned("AccessToken");
    owned("IdToken");
    owned("Account");
  }
}
