/**
 * Synthetic token caches for the benchmarks: N accounts, each with an access token, a refresh token,
 * an ID token and an Account entry, in the unified schema with MSAL Python's keys and secrets the
 * size of real Entra ID tokens. Deterministic, so runs are comparable.
 *
 * @module
 */

/** One generated account, as a benchmark needs it to look the account up. */
export interface FixtureAccount {
  /** `<uid>.<utid>`. */
  homeAccountId: string;
  /** `user<i>@contoso<t>.example`. */
  username: string;
  /** The cache environment. */
  environment: string;
  /** The tenant (also the home tenant). */
  realm: string;
}

/** A generated cache and what is needed to query it. */
export interface CacheFixture {
  /** The serialized cache (unified schema, 4-space indent like MSAL Python). */
  blob: string;
  /** Every account in the cache. */
  accounts: FixtureAccount[];
  /** The app all tokens belong to. */
  clientId: string;
  /** Scopes every cached access token covers (the cache-hit query). */
  scopes: string[];
}

/** The environment every generated entry uses. */
export const FIXTURE_ENVIRONMENT = "login.microsoftonline.com";
/** The app every generated token belongs to. */
export const FIXTURE_CLIENT_ID = "04b07795-8ddb-461a-bbee-02f9e1bf7b46";

const TENANTS = 50;
const BASE64URL = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/** A deterministic pool of base64url characters; secrets are windows into it. */
const POOL: string = (() => {
  let x = 0x2545f491;
  let out = "";
  for (let i = 0; i < 1 << 16; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out += BASE64URL[(x >>> 0) & 63];
  }
  return out;
})();

function randomChars(seed: number, length: number): string {
  const start = (seed * 7919) % (POOL.length - length);
  return POOL.slice(start, start + length);
}

function b64url(text: string): string {
  return btoa(text).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

function guid(prefix: number, n: number): string {
  const hex = n.toString(16).padStart(12, "0");
  return `${prefix.toString(16).padStart(8, "0")}-0000-4000-8000-${hex}`;
}

/** An ID token msal-node can decode: real claim set, RS256-sized signature. */
function idToken(i: number, uid: string, tid: string, username: string, now: number): string {
  const header = b64url(JSON.stringify({ typ: "JWT", alg: "RS256", kid: "L1KfKFI_jnXbwWc22xZxw1sUHH0" }));
  const payload = b64url(JSON.stringify({
    aud: FIXTURE_CLIENT_ID,
    iss: `https://login.microsoftonline.com/${tid}/v2.0`,
    iat: now,
    nbf: now,
    exp: now + 3600,
    aio: randomChars(i + 1, 180),
    name: `User ${i}`,
    oid: uid,
    preferred_username: username,
    rh: `0.${randomChars(i + 2, 60)}.`,
    sub: randomChars(i + 3, 43),
    tid,
    uti: randomChars(i + 4, 22),
    ver: "2.0",
  }));
  return `${header}.${payload}.${randomChars(i + 5, 342)}`;
}

/**
 * Generates a cache of `accounts` accounts, each with an access token (~1.6 KB, valid for a day), a
 * refresh token (~1.3 KB), an ID token (~1.1 KB) and an Account entry, in `FIXTURE_ENVIRONMENT`.
 *
 * @example
 * ```ts
 * const { blob, accounts, clientId, scopes } = generateCacheBlob(1_000);
 * ```
 */
export function generateCacheBlob(accounts: number): CacheFixture {
  const now = Math.floor(Date.now() / 1000);
  const env = FIXTURE_ENVIRONMENT;
  const clientId = FIXTURE_CLIENT_ID;
  const scopes = ["User.Read"];
  const target = "Mail.Read User.Read openid profile";
  const list: FixtureAccount[] = [];
  const cache = {
    AccessToken: {} as Record<string, unknown>,
    RefreshToken: {} as Record<string, unknown>,
    IdToken: {} as Record<string, unknown>,
    Account: {} as Record<string, unknown>,
    AppMetadata: {
      [`appmetadata-${env}-${clientId}`]: { client_id: clientId, environment: env },
    } as Record<string, unknown>,
  };
  for (let i = 0; i < accounts; i++) {
    const tid = guid(0x72f988bf, i % TENANTS);
    const uid = guid(0x00000001, i);
    const hid = `${uid}.${tid}`;
    const username = `user${i}@contoso${i % TENANTS}.example`;
    list.push({ homeAccountId: hid, username, environment: env, realm: tid });
    const atHeader = b64url(
      JSON.stringify({ typ: "JWT", nonce: randomChars(i, 43), alg: "RS256", x5t: "x" }),
    );
    cache.AccessToken[`${hid}-${env}-accesstoken-${clientId}-${tid}-${target}`.toLowerCase()] = {
      credential_type: "AccessToken",
      secret: `${atHeader}.${randomChars(i + 6, 1100)}.${randomChars(i + 7, 342)}`,
      home_account_id: hid,
      environment: env,
      client_id: clientId,
      target,
      realm: tid,
      token_type: "Bearer",
      cached_at: String(now),
      expires_on: String(now + 86400),
      extended_expires_on: String(now + 86400),
    };
    cache.RefreshToken[`${hid}-${env}-refreshtoken-${clientId}--${target}`.toLowerCase()] = {
      credential_type: "RefreshToken",
      secret: `1.AXYA${randomChars(i + 8, 1300)}`,
      home_account_id: hid,
      environment: env,
      client_id: clientId,
      target,
      last_modification_time: String(now),
    };
    cache.IdToken[`${hid}-${env}-idtoken-${clientId}-${tid}-`.toLowerCase()] = {
      credential_type: "IdToken",
      secret: idToken(i, uid, tid, username, now),
      home_account_id: hid,
      environment: env,
      realm: tid,
      client_id: clientId,
    };
    cache.Account[`${hid}-${env}-${tid}`.toLowerCase()] = {
      home_account_id: hid,
      environment: env,
      realm: tid,
      local_account_id: uid,
      username,
      authority_type: "MSSTS",
      account_source: "authorization_code",
      client_info: b64url(JSON.stringify({ uid, utid: tid })),
    };
  }
  return { blob: JSON.stringify(cache, null, 4), accounts: list, clientId, scopes };
}
