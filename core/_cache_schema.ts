/**
 * The unified MSAL cache schema shared by MSAL Python, msal-node and this library: entry shapes,
 * validation of foreign data, MSAL Python's key formats, and which entries describe "the same"
 * credential. Private to `core/cache.ts`.
 *
 * @module
 */

import { InvalidInputError } from "./errors.ts";
import { isJsonObject } from "./_json.ts";

/** The five sections of a serialized cache. */
export type CacheSection = "AccessToken" | "RefreshToken" | "IdToken" | "Account" | "AppMetadata";

/** The sections in the order a fresh cache serializes them. */
export const SECTIONS: readonly CacheSection[] = [
  "AccessToken",
  "RefreshToken",
  "IdToken",
  "Account",
  "AppMetadata",
];

/** An access token as stored in the unified schema (timestamps are strings of epoch seconds). */
export interface AccessTokenEntry {
  /** `"AccessToken"` (msal-node writes `"AccessToken_With_AuthScheme"` for PoP). */
  credential_type: "AccessToken" | string;
  /** The access token. */
  secret: string;
  /** `<uid>.<utid>`, or the `sub` for ADFS. */
  home_account_id: string;
  /** The authority host, e.g. `login.microsoftonline.com`. */
  environment: string;
  /** The app the token was issued to. */
  client_id: string;
  /** The tenant the token was issued in. */
  realm: string;
  /** Granted scopes, space-separated (MSAL Python sorts them). */
  target: string;
  /** `"Bearer"` unless the server said otherwise. */
  token_type?: string;
  /** When it was cached, epoch seconds (as a decimal string, like every timestamp here). */
  cached_at: string;
  /** When it expires, epoch seconds. */
  expires_on: string;
  /** Until when it may be used during an outage, epoch seconds. */
  extended_expires_on?: string;
  /** When MSAL should refresh it proactively, epoch seconds. */
  refresh_on?: string;
  /** The key a PoP or SSH-certificate token is bound to. */
  key_id?: string;
  /** Fields written by other libraries, kept as they are. */
  [field: string]: unknown;
}

/** A refresh token as stored in the unified schema (timestamps are strings of epoch seconds). */
export interface RefreshTokenEntry {
  /** Always `"RefreshToken"`. */
  credential_type: "RefreshToken";
  /** The refresh token. */
  secret: string;
  /** `<uid>.<utid>`, or the `sub` for ADFS. */
  home_account_id: string;
  /** The authority host. */
  environment: string;
  /** The app that obtained it. */
  client_id: string;
  /** Scopes it was obtained for (informational). */
  target?: string;
  /** The family (FOCI) id, `"1"`, when any app of the family may use it. */
  family_id?: string;
  /** When it was last written, epoch seconds. */
  last_modification_time?: string;
  /** Fields written by other libraries, kept as they are. */
  [field: string]: unknown;
}

/** An ID token as stored in the unified schema. */
export interface IdTokenEntry {
  /** Always `"IdToken"`. */
  credential_type: "IdToken";
  /** The raw JWT. */
  secret: string;
  /** `<uid>.<utid>`, or the `sub` for ADFS. */
  home_account_id: string;
  /** The authority host. */
  environment: string;
  /** The tenant it was issued in. */
  realm: string;
  /** The app it was issued to. */
  client_id: string;
  /** Fields written by other libraries, kept as they are. */
  [field: string]: unknown;
}

/** An account (one per home account and tenant in MSAL Python; one per home account in msal-node). */
export interface AccountEntry {
  /** `<uid>.<utid>`, or the `sub` for ADFS. */
  home_account_id: string;
  /** The authority host. */
  environment: string;
  /** The tenant. */
  realm: string;
  /** The user's object id in that tenant, or the broker's account id. */
  local_account_id: string;
  /** The sign-in name. */
  username: string;
  /** `"MSSTS"`, `"ADFS"` (msal-node also writes `"MSA"`, `"Generic"`). */
  authority_type: string;
  /** How the account was established: `"broker"`, `"authorization_code"`, ... */
  account_source?: string;
  /** Display name. */
  name?: string;
  /** Fields written by other libraries (`tenantProfiles`, `client_info`...), kept as they are. */
  [field: string]: unknown;
}

/** Per-app metadata: which token family (FOCI) the app belongs to. */
export interface AppMetadataEntry {
  /** The app. */
  client_id: string;
  /** The authority host. */
  environment: string;
  /** `"1"` when the app is in the Microsoft family of client ids. */
  family_id?: string;
  /** Fields written by other libraries, kept as they are. */
  [field: string]: unknown;
}

/** Any entry of any section. */
export type AnyEntry = Record<string, unknown>;

/** Lower-cases a string field, treating `null`/absent as `""` (MSAL Python may write `null`). */
export function lc(value: unknown): string {
  return typeof value === "string" ? value.toLowerCase() : "";
}

type FieldRule = "string" | "nullableString" | "optionalString" | "optionalSeconds" | "seconds" | "tokenType";

const STRING_FIELDS: Record<string, FieldRule> = {
  credential_type: "string",
  secret: "string",
  environment: "string",
  client_id: "string",
};

/**
 * What each field of an entry read from a cache file must be, where the library reads it. An entry
 * that breaks a rule is ignored (never served, never listed) and written back unchanged; the entries
 * beside it are read as usual. Fields not named here are other libraries' and kept as they are.
 * - `string`: a non-empty string (`secret`, `environment`, `client_id`...).
 * - `nullableString`: a string, `null` or absent (MSAL Python writes `null` for app-only tokens).
 * - `optionalString`: a string, `null` or absent; read as `""` (or left out) when not a string.
 * - `seconds` / `optionalSeconds`: epoch seconds as a decimal string (or a number), finite, `>= 0`.
 * - `tokenType`: absent, `null`, or `Bearer`, `pop`, `ssh-cert` (any case): the types this library issues.
 */
const RULES: Record<CacheSection, Record<string, FieldRule>> = {
  AccessToken: {
    ...STRING_FIELDS,
    expires_on: "seconds",
    home_account_id: "nullableString",
    realm: "nullableString",
    target: "nullableString",
    cached_at: "optionalSeconds",
    extended_expires_on: "optionalSeconds",
    refresh_on: "optionalSeconds",
    token_type: "tokenType",
    key_id: "optionalString",
  },
  RefreshToken: {
    ...STRING_FIELDS,
    home_account_id: "nullableString",
    target: "nullableString",
    family_id: "optionalString",
    last_modification_time: "optionalSeconds",
  },
  IdToken: { ...STRING_FIELDS, home_account_id: "nullableString", realm: "nullableString" },
  Account: {
    home_account_id: "string",
    environment: "string",
    realm: "nullableString",
    username: "optionalString",
    local_account_id: "optionalString",
    authority_type: "optionalString",
    account_source: "optionalString",
    name: "optionalString",
  },
  AppMetadata: { client_id: "string", environment: "string", family_id: "optionalString" },
};

const TOKEN_TYPES = new Set(["bearer", "pop", "ssh-cert"]);
// Past this a number no longer holds every integer exactly: not a time this library wrote.
const MAX_SECONDS = Number.MAX_SAFE_INTEGER;

function isSeconds(value: unknown): boolean {
  if (typeof value !== "string" && typeof value !== "number") return false;
  if (typeof value === "string" && !/^\s*\d+(\.\d+)?\s*$/.test(value)) return false;
  const n = Number(value);
  return Number.isFinite(n) && n >= 0 && n <= MAX_SECONDS;
}

function follows(rule: FieldRule, value: unknown): boolean {
  switch (rule) {
    case "string":
      return typeof value === "string" && value !== "";
    case "nullableString":
    case "optionalString":
      return value === undefined || value === null || typeof value === "string";
    case "seconds":
      return isSeconds(value);
    case "optionalSeconds":
      return value === undefined || value === null || isSeconds(value);
    case "tokenType":
      return value === undefined || value === null ||
        (typeof value === "string" && TOKEN_TYPES.has(value.toLowerCase()));
  }
}

/** Whether an entry read from outside follows the field rules of its section (see `RULES`). */
function isUsableEntry(section: CacheSection, entry: unknown): entry is AnyEntry {
  if (!isJsonObject(entry)) return false;
  const rules = RULES[section];
  for (const field in rules) if (!follows(rules[field], entry[field])) return false;
  return true;
}

/**
 * Splits a deserialized section into the entries this library can use and those it ignores (kept to
 * be written back unchanged).
 *
 * @throws {InvalidInputError} when the section itself is not an object.
 */
export function validateSection(
  section: CacheSection,
  value: unknown,
): { usable: Record<string, AnyEntry>; ignored: Record<string, unknown> } {
  if (!isJsonObject(value)) {
    throw new InvalidInputError(`Corrupt token cache: section "${section}" is not an object`);
  }
  const usable: Record<string, AnyEntry> = {};
  const ignored: Record<string, unknown> = {};
  for (const key in value) {
    const entry = value[key];
    if (isUsableEntry(section, entry)) usable[key] = entry;
    else ignored[key] = entry;
  }
  return { usable, ignored };
}

/** Parses a serialized cache's top level; `""` is an empty cache. */
export function parseTopLevel(state: string): Record<string, unknown> {
  if (typeof state !== "string") throw new InvalidInputError("Corrupt token cache: state is not a string");
  if (state === "") return {};
  let value: unknown;
  try {
    value = JSON.parse(state);
  } catch (cause) {
    throw new InvalidInputError("Corrupt token cache: not JSON", { cause });
  }
  if (!isJsonObject(value)) throw new InvalidInputError("Corrupt token cache: not a JSON object");
  return value;
}

/** The field a section is indexed by: the home account for credentials and accounts, the app for metadata. */
export function indexValue(section: CacheSection, entry: AnyEntry): string {
  return lc(section === "AppMetadata" ? entry.client_id : entry.home_account_id);
}

function str(value: unknown): string {
  return typeof value === "string" ? value : "";
}

/** The key MSAL Python (`token_cache.py` `key_makers`) gives a new entry; other libraries' keys differ. */
export function pythonKey(section: CacheSection, e: AnyEntry): string {
  const hid = str(e.home_account_id);
  const env = str(e.environment);
  switch (section) {
    case "AccessToken": {
      const key = [hid, env, "AccessToken", str(e.client_id), str(e.realm), str(e.target)].join("-");
      // Key-bound ATs (PoP, SSH certificates) coexist with the Bearer one for the same scopes.
      return (typeof e.key_id === "string" ? `${key}-${e.key_id}` : key).toLowerCase();
    }
    case "RefreshToken":
      return [hid, env, "RefreshToken", str(e.client_id), "", str(e.target)].join("-").toLowerCase();
    case "IdToken":
      return [hid, env, "IdToken", str(e.client_id), str(e.realm), ""].join("-").toLowerCase();
    case "Account":
      return [hid, env, str(e.realm)].join("-").toLowerCase();
    case "AppMetadata":
      return `appmetadata-${env}-${str(e.client_id)}`;
  }
}

const targetSets = new WeakMap<object, ReadonlySet<string>>();

/** The entry's `target` as a set of lower-cased scopes, parsed once per entry. */
export function targetSet(entry: AnyEntry): ReadonlySet<string> {
  let set = targetSets.get(entry);
  if (!set) {
    set = new Set(str(entry.target).toLowerCase().split(/\s+/).filter(Boolean));
    targetSets.set(entry, set);
  }
  return set;
}

function sameTarget(a: AnyEntry, b: AnyEntry): boolean {
  const x = targetSet(a);
  const y = targetSet(b);
  if (x.size !== y.size) return false;
  for (const scope of x) if (!y.has(scope)) return false;
  return true;
}

/**
 * Whether an AT is bound to something a plain lookup does not ask for: MSAL Python's `ext_cache_key`,
 * msal-node's `additionalCacheKeyComponents` or OBO `userAssertionHash`.
 */
export function hasExtraCacheKey(entry: AnyEntry): boolean {
  return entry.ext_cache_key != null || entry.additionalCacheKeyComponents != null ||
    entry.userAssertionHash != null;
}

/** Whether `a` and `b` are the same credential, so that a newer `b` replaces `a` instead of adding one. */
export function sameCredential(section: CacheSection, a: AnyEntry, b: AnyEntry): boolean {
  if (lc(a.environment) !== lc(b.environment)) return false;
  switch (section) {
    case "AccessToken":
      return lc(a.home_account_id) === lc(b.home_account_id) && lc(a.client_id) === lc(b.client_id) &&
        lc(a.realm) === lc(b.realm) && (a.key_id ?? null) === (b.key_id ?? null) &&
        hasExtraCacheKey(a) === hasExtraCacheKey(b) && !hasExtraCacheKey(a) && sameTarget(a, b);
    case "RefreshToken":
      // One RT per app and account (msal-node keys FOCI RTs by family, so one per family too).
      return lc(a.home_account_id) === lc(b.home_account_id) &&
        (lc(a.client_id) === lc(b.client_id) || (!!a.family_id && a.family_id === b.family_id));
    case "IdToken":
      return lc(a.home_account_id) === lc(b.home_account_id) && lc(a.client_id) === lc(b.client_id) &&
        lc(a.realm) === lc(b.realm);
    case "Account":
      return lc(a.home_account_id) === lc(b.home_account_id) && lc(a.realm) === lc(b.realm);
    case "AppMetadata":
      return lc(a.client_id) === lc(b.client_id);
  }
}

/**
 * The entry that replaces `old`: tokens are replaced whole (as MSAL Python does); accounts and app
 * metadata keep other libraries' extras (`tenantProfiles`, `client_info`...) but drop MSAL's own
 * optional fields the newer entry no longer has.
 */
export function mergeEntry(section: CacheSection, old: AnyEntry, next: AnyEntry): AnyEntry {
  if (section !== "Account" && section !== "AppMetadata") return next;
  const merged: AnyEntry = { ...old, ...next };
  const owned = section === "Account" ? "account_source" : "family_id";
  if (!(owned in next)) delete merged[owned];
  return merged;
}

/** Whether two entries have the same fields with identical (`===`) values. */
export function shallowEqual(a: AnyEntry, b: AnyEntry): boolean {
  const keys = Object.keys(a);
  if (keys.length !== Object.keys(b).length) return false;
  for (const key of keys) if (!Object.hasOwn(b, key) || a[key] !== b[key]) return false;
  return true;
}
