import { describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  type CachePlugin,
  type CachePluginContext,
  TokenCache,
  type TokenResponseEvent,
} from "../core/cache.ts";
import { InvalidInputError } from "../core/errors.ts";

function b64(text: string): string {
  const bytes = new TextEncoder().encode(text);
  let binary = "";
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary);
}

/** MSAL Python's test helper `build_id_token`: standard base64 payload, fake header and signature. */
function idToken(claims: Record<string, unknown>): string {
  return `header.${
    b64(JSON.stringify({ iss: "issuer", sub: "subject", aud: "my_client_id", ...claims }))
  }.signature`;
}

function clientInfo(uid: string, utid: string): string {
  return b64(JSON.stringify({ uid, utid })).replace(/=+$/, "");
}

const NOW = 1000;
const ENV = "login.microsoftonline.com";

/** A sign-in of user `uid` in tenant `tid` (the ID token carries `tid`, as Entra ID's do). */
function signIn(
  uid: string,
  tid: string,
  extra: Partial<TokenResponseEvent> = {},
  response = {},
): TokenResponseEvent {
  return {
    clientId: "client-a",
    environment: ENV,
    realm: "common",
    scopes: ["User.Read"],
    now: NOW,
    response: {
      access_token: `at-${uid}-${tid}`,
      token_type: "Bearer",
      expires_in: 3600,
      refresh_token: `rt-${uid}`,
      id_token: idToken({
        oid: `oid-${uid}`,
        tid,
        preferred_username: `${uid}@contoso.com`,
        name: `User ${uid}`,
      }),
      client_info: clientInfo(uid, "home"),
      ...response,
    },
    ...extra,
  };
}

function sections(cache: TokenCache): Record<string, Record<string, Record<string, unknown>>> {
  return JSON.parse(cache.serialize());
}

describe("TokenCache: MSAL Python's schema (test_token_cache.py)", () => {
  it("testAddByAad: writes the entries, keys and values MSAL Python writes", () => {
    const cache = new TokenCache();
    const token = idToken({ oid: "object1234", preferred_username: "John Doe", aud: "my_client_id" });
    const result = cache.addTokenResponse({
      clientId: "my_client_id",
      environment: "login.example.com",
      realm: "contoso",
      scopes: ["s2", "s1", "s3"],
      now: 1000,
      response: {
        client_info: clientInfo("uid", "utid"),
        access_token: "an access token",
        expires_in: 3600,
        token_type: "some type",
        id_token: token,
        refresh_token: "a refresh token",
      },
    });
    assert.equal(result.homeAccountId, "uid.utid");
    assert.equal(result.idTokenClaims?.oid, "object1234");
    const state = sections(cache);
    assert.deepEqual(Object.keys(state).sort(), [
      "AccessToken",
      "Account",
      "AppMetadata",
      "IdToken",
      "RefreshToken",
    ]);
    assert.deepEqual(
      state.AccessToken["uid.utid-login.example.com-accesstoken-my_client_id-contoso-s1 s2 s3"],
      {
        cached_at: "1000",
        client_id: "my_client_id",
        credential_type: "AccessToken",
        environment: "login.example.com",
        expires_on: "4600",
        extended_expires_on: "4600",
        home_account_id: "uid.utid",
        realm: "contoso",
        secret: "an access token",
        target: "s1 s2 s3",
        token_type: "some type",
      },
    );
    assert.deepEqual(state.RefreshToken["uid.utid-login.example.com-refreshtoken-my_client_id--s1 s2 s3"], {
      client_id: "my_client_id",
      credential_type: "RefreshToken",
      environment: "login.example.com",
      home_account_id: "uid.utid",
      last_modification_time: "1000",
      secret: "a refresh token",
      target: "s1 s2 s3",
    });
    assert.deepEqual(state.Account["uid.utid-login.example.com-contoso"], {
      home_account_id: "uid.utid",
      environment: "login.example.com",
      realm: "contoso",
      local_account_id: "object1234",
      username: "John Doe",
      authority_type: "MSSTS",
      client_info: clientInfo("uid", "utid"), // extra that msal-node reads; MSAL Python ignores it
    });
    assert.deepEqual(state.IdToken["uid.utid-login.example.com-idtoken-my_client_id-contoso-"], {
      credential_type: "IdToken",
      secret: token,
      home_account_id: "uid.utid",
      environment: "login.example.com",
      realm: "contoso",
      client_id: "my_client_id",
    });
    assert.deepEqual(state.AppMetadata["appmetadata-login.example.com-my_client_id"], {
      client_id: "my_client_id",
      environment: "login.example.com",
    });
  });

  it("testAddByAdfs: home_account_id is the sub, authority_type ADFS", () => {
    const cache = new TokenCache();
    const token = idToken({ aud: "my_client_id", upn: "JaneDoe@example.com" });
    cache.addTokenResponse({
      clientId: "my_client_id",
      environment: "fs.msidlab8.com",
      realm: "adfs",
      scopes: ["s2", "s1", "s3"],
      now: 1000,
      response: {
        access_token: "an access token",
        expires_in: 3600,
        token_type: "some type",
        id_token: token,
        refresh_token: "a refresh token",
      },
    });
    const state = sections(cache);
    assert.deepEqual(state.AccessToken["subject-fs.msidlab8.com-accesstoken-my_client_id-adfs-s1 s2 s3"], {
      cached_at: "1000",
      client_id: "my_client_id",
      credential_type: "AccessToken",
      environment: "fs.msidlab8.com",
      expires_on: "4600",
      extended_expires_on: "4600",
      home_account_id: "subject",
      realm: "adfs",
      secret: "an access token",
      target: "s1 s2 s3",
      token_type: "some type",
    });
    assert.deepEqual(state.RefreshToken["subject-fs.msidlab8.com-refreshtoken-my_client_id--s1 s2 s3"], {
      client_id: "my_client_id",
      credential_type: "RefreshToken",
      environment: "fs.msidlab8.com",
      home_account_id: "subject",
      last_modification_time: "1000",
      secret: "a refresh token",
      target: "s1 s2 s3",
    });
    assert.deepEqual(state.Account["subject-fs.msidlab8.com-adfs"], {
      home_account_id: "subject",
      environment: "fs.msidlab8.com",
      realm: "adfs",
      local_account_id: "subject",
      username: "JaneDoe@example.com",
      authority_type: "ADFS",
    });
    assert.deepEqual(state.IdToken["subject-fs.msidlab8.com-idtoken-my_client_id-adfs-"], {
      credential_type: "IdToken",
      secret: token,
      home_account_id: "subject",
      environment: "fs.msidlab8.com",
      realm: "adfs",
      client_id: "my_client_id",
    });
    assert.deepEqual(state.AppMetadata["appmetadata-fs.msidlab8.com-my_client_id"], {
      client_id: "my_client_id",
      environment: "fs.msidlab8.com",
    });
  });

  it("derives defaults: expires_in 600, ext_expires_in = expires_in, refresh_on, response scope, foci", () => {
    const cache = new TokenCache();
    cache.addTokenResponse({
      clientId: "c",
      environment: ENV,
      realm: "common",
      scopes: ["requested"],
      now: NOW,
      response: {
        access_token: "at",
        scope: "b.read a.read",
        refresh_in: 1800,
        refresh_token: "rt",
        foci: "1",
        client_info: clientInfo("u", "t"),
      },
    });
    const state = sections(cache);
    const [at] = Object.values(state.AccessToken);
    assert.equal(at.expires_on, String(NOW + 600));
    assert.equal(at.extended_expires_on, String(NOW + 600));
    assert.equal(at.refresh_on, String(NOW + 1800));
    assert.equal(at.token_type, "Bearer");
    assert.equal(at.target, "a.read b.read");
    assert.equal(at.realm, "common", "no ID token: realm is the token endpoint's tenant");
    const [rt] = Object.values(state.RefreshToken);
    assert.equal(rt.family_id, "1");
    assert.deepEqual(Object.values(state.AppMetadata), [{
      client_id: "c",
      environment: ENV,
      family_id: "1",
    }]);
    const [account] = Object.values(state.Account);
    assert.equal(account.username, "", "no ID token, no username");
  });

  it("uses the ID token's tid as realm, and broker-decoded claims and account id when given", () => {
    const cache = new TokenCache();
    const result = cache.addTokenResponse({
      clientId: "c",
      environment: ENV,
      realm: "organizations",
      scopes: ["User.Read"],
      now: NOW,
      accountSource: "broker",
      brokerAccountId: "broker-account-1",
      response: {
        access_token: "at",
        expires_in: 3600,
        client_info: clientInfo("u", "home-tenant"),
        id_token_claims: { oid: "oid-u", tid: "guest-tenant", preferred_username: "u@contoso.com" },
      },
    });
    assert.deepEqual(result.account, {
      home_account_id: "u.home-tenant",
      environment: ENV,
      realm: "guest-tenant",
      local_account_id: "broker-account-1",
      username: "u@contoso.com",
      authority_type: "MSSTS",
      account_source: "broker",
      client_info: clientInfo("u", "home-tenant"),
    });
    const state = sections(cache);
    assert.deepEqual(Object.keys(state.RefreshToken), [], "brokers return no RT");
    assert.deepEqual(Object.keys(state.IdToken), [], "no raw ID token, no IdToken entry");
    assert.equal(Object.values(state.AccessToken)[0].realm, "guest-tenant");
  });

  it("a malformed ID token throws InvalidInputError and writes nothing", () => {
    const cache = new TokenCache();
    cache.addTokenResponse(signIn("u1", "t1"));
    const before = cache.serialize();
    assert.throws(
      () => cache.addTokenResponse(signIn("u2", "t1", {}, { id_token: "not-a-jwt" })),
      InvalidInputError,
    );
    assert.equal(cache.serialize(), before);
    assert.equal(cache.hasStateChanged, false);
  });
});

/** A cache as MSAL Python writes it, with fields and a section this library does not know. */
const PYTHON_BLOB = JSON.stringify(
  {
    AccessToken: {
      "uid.utid-login.microsoftonline.com-accesstoken-client-a-tenant-openid profile user.read": {
        credential_type: "AccessToken",
        secret: "python-at",
        home_account_id: "uid.utid",
        environment: ENV,
        client_id: "client-a",
        target: "openid profile User.Read",
        realm: "tenant",
        token_type: "Bearer",
        cached_at: "1000",
        expires_on: "4600",
        extended_expires_on: "4600",
        some_future_field: { nested: [1, 2, 3] },
      },
    },
    Account: {
      "uid.utid-login.microsoftonline.com-tenant": {
        home_account_id: "uid.utid",
        environment: ENV,
        realm: "tenant",
        local_account_id: "oid",
        username: "ana@contoso.com",
        authority_type: "MSSTS",
        account_source: "authorization_code",
      },
    },
    IdToken: {},
    RefreshToken: {
      "uid.utid-login.microsoftonline.com-refreshtoken-client-a--openid profile user.read": {
        credential_type: "RefreshToken",
        secret: "python-rt",
        home_account_id: "uid.utid",
        environment: ENV,
        client_id: "client-a",
        target: "openid profile User.Read",
        last_modification_time: "1000",
      },
    },
    AppMetadata: {
      "appmetadata-login.microsoftonline.com-client-a": { client_id: "client-a", environment: ENV },
    },
    // An app-only token from a confidential client sharing the file: MSAL Python writes null here.
    Telemetry: { "some-key": { counters: [1, 2] } },
    AppOnly: null,
  },
  null,
  4,
);

describe("TokenCache: serialization", () => {
  it("round-trips an MSAL Python cache, keeping unknown sections, unknown fields and keys", () => {
    const cache = new TokenCache();
    cache.deserialize(PYTHON_BLOB);
    assert.deepEqual(JSON.parse(cache.serialize()), JSON.parse(PYTHON_BLOB));
    const again = new TokenCache();
    again.deserialize(cache.serialize());
    assert.equal(again.serialize(), cache.serialize());
  });

  it("accepts MSAL Python's null home_account_id (app-only tokens) without failing", () => {
    const cache = new TokenCache();
    cache.deserialize(JSON.stringify({
      AccessToken: {
        "-login.microsoftonline.com-accesstoken-app-tenant-s": {
          credential_type: "AccessToken",
          secret: "app-token",
          home_account_id: null,
          environment: ENV,
          client_id: "app",
          realm: "tenant",
          target: "s",
          cached_at: "1",
          expires_on: "9999999999",
        },
      },
    }));
    assert.equal(cache.getAccounts().length, 0);
    assert.equal(Object.keys(sections(cache).AccessToken).length, 1);
  });

  it("an empty string is an empty cache, serialized with the five sections", () => {
    const cache = new TokenCache();
    cache.deserialize("");
    assert.deepEqual(sections(cache), {
      AccessToken: {},
      RefreshToken: {},
      IdToken: {},
      Account: {},
      AppMetadata: {},
    });
  });

  const corrupt: [string, string][] = [
    ["not JSON", "{ this is not json"],
    ["a JSON array", "[]"],
    ["JSON null", "null"],
    ["a section that is a string", JSON.stringify({ AccessToken: "oops" })],
    ["a section that is an array", JSON.stringify({ Account: [] })],
  ];
  // A bad entry is ignored where it is read and written back unchanged; the good ones beside it serve.
  const badEntries: [string, string, Record<string, unknown>][] = [
    ["an entry that is not an object", "IdToken", { k: "x" }],
    ["a refresh token without secret", "RefreshToken", {
      k: {
        credential_type: "RefreshToken",
        home_account_id: "u1.home",
        environment: ENV,
        client_id: "client-a",
      },
    }],
    ["an account without home_account_id", "Account", { k: { environment: ENV, realm: "r", username: "x" } }],
    ["an account whose username is a number", "Account", {
      k: { home_account_id: "bad.home", environment: ENV, realm: "r", username: 123 },
    }],
    ["an access token expiring at 1e400", "AccessToken", {
      k: {
        credential_type: "AccessToken",
        secret: "at-forever",
        home_account_id: "u1.home",
        environment: ENV,
        client_id: "client-a",
        realm: "t1",
        target: "User.Read Mail.Read",
        expires_on: "1e400",
      },
    }],
    ["an access token whose token_type is an object", "AccessToken", {
      k: {
        credential_type: "AccessToken",
        secret: "at-evil",
        home_account_id: "u1.home",
        environment: ENV,
        client_id: "client-a",
        realm: "t1",
        target: "User.Read Mail.Read",
        expires_on: String(NOW + 7200),
        token_type: { evil: 1 },
      },
    }],
  ];
  for (const [what, section, entries] of badEntries) {
    it(`ignores ${what}, serves the good entries beside it, and writes it back unchanged`, () => {
      const good = new TokenCache();
      good.addTokenResponse(signIn("u1", "t1"));
      const blob = JSON.parse(good.serialize());
      blob[section] = { ...blob[section], ...entries };
      const cache = new TokenCache();
      cache.deserialize(JSON.stringify(blob));
      const accounts = cache.getAccounts({ username: "u1@contoso.com" });
      assert.equal(accounts.length, 1);
      assert.deepEqual(cache.getAccounts().map((a) => a.home_account_id), ["u1.home"]);
      assert.deepEqual(cache.getAccounts({ username: "x" }), []);
      const at = cache.findAccessToken({
        clientId: "client-a",
        homeAccountId: "u1.home",
        environments: [ENV],
        realm: "t1",
        scopes: ["User.Read"],
        now: NOW,
      });
      assert.equal(at?.secret, "at-u1-t1");
      assert.equal(
        cache.findRefreshTokens({ homeAccountId: "u1.home", environments: [ENV] })[0]?.secret,
        "rt-u1",
      );
      assert.deepEqual(JSON.parse(cache.serialize())[section].k, entries.k, "kept for other libraries");
    });
  }

  for (const [what, blob] of corrupt) {
    it(`rejects ${what} with InvalidInputError and leaves the cache exactly as it was`, () => {
      const cache = new TokenCache();
      cache.deserialize(PYTHON_BLOB);
      cache.addTokenResponse(signIn("u1", "t1"));
      const before = cache.serialize();
      cache.addTokenResponse(signIn("u2", "t1"));
      const changed = cache.serialize();
      cache.addTokenResponse(signIn("u3", "t1"));
      assert.equal(cache.hasStateChanged, true);
      assert.throws(() => cache.deserialize(blob), (error: unknown) => {
        assert.ok(error instanceof InvalidInputError);
        assert.ok(!error.message.includes("python-rt"));
        return true;
      });
      assert.equal(cache.hasStateChanged, true, "a failed deserialize does not reset hasStateChanged");
      assert.notEqual(cache.serialize(), before);
      assert.notEqual(cache.serialize(), changed);
      assert.equal(cache.getAccounts().length, 4);
      assert.ok(cache.findAccessToken({
        clientId: "client-a",
        homeAccountId: "u3.home",
        environments: [ENV],
        realm: "t1",
        scopes: ["user.read"],
        now: NOW,
      }));
    });
  }
});

/** A cache as msal-node 7 writes it (spec §4.1/4.2): its keys, tenantProfiles, camelCase extras, FOCI RT. */
function msalNodeBlob(now: number): string {
  const hid = "uid-1.home-tid";
  const profile = (tenantId: string, isHomeTenant: boolean): string =>
    JSON.stringify({
      tenantId,
      localAccountId: "oid-1",
      name: "Ana",
      username: "Ana@Contoso.com",
      isHomeTenant,
    });
  return JSON.stringify({
    Account: {
      [`${hid}-login.windows.net-home-tid`]: {
        home_account_id: hid,
        environment: "login.windows.net",
        realm: "home-tid",
        local_account_id: "oid-1",
        username: "Ana@Contoso.com",
        authority_type: "MSSTS",
        name: "Ana",
        client_info: clientInfo("uid-1", "home-tid"),
        last_modification_time: "1700000000000",
        last_modification_app: "node",
        tenantProfiles: [profile("home-tid", true), profile("guest-tid", false)],
      },
    },
    IdToken: {
      [`${hid}-login.windows.net-idtoken-client-a-home-tid---`]: {
        home_account_id: hid,
        environment: "login.windows.net",
        credential_type: "IdToken",
        client_id: "client-a",
        secret: idToken({ oid: "oid-1", tid: "home-tid", preferred_username: "Ana@Contoso.com" }),
        realm: "home-tid",
      },
    },
    AccessToken: {
      [`${hid}-login.windows.net-accesstoken-client-a-home-tid-user.read mail.read openid profile--`]: {
        home_account_id: hid,
        environment: "login.windows.net",
        credential_type: "AccessToken",
        client_id: "client-a",
        secret: "node-at",
        realm: "home-tid",
        target: "User.Read Mail.Read openid profile",
        cached_at: String(now),
        expires_on: String(now + 3600),
        extended_expires_on: String(now + 7200),
        refresh_on: String(now + 1800),
        token_type: "Bearer",
      },
      [`${hid}-login.windows.net-accesstoken-client-a-home-tid-user.read-pop-`]: {
        home_account_id: hid,
        environment: "login.windows.net",
        credential_type: "AccessToken_With_AuthScheme",
        client_id: "client-a",
        secret: "node-pop-at",
        realm: "home-tid",
        target: "User.Read",
        cached_at: String(now),
        expires_on: String(now + 3600),
        token_type: "pop",
        key_id: "kid-1",
      },
      [`${hid}-login.windows.net-accesstoken-client-a-home-tid-user.read--hash`]: {
        home_account_id: hid,
        environment: "login.windows.net",
        credential_type: "AccessToken",
        client_id: "client-a",
        secret: "node-extra-key-at",
        realm: "home-tid",
        target: "User.Read",
        cached_at: String(now),
        expires_on: String(now + 9000),
        additionalCacheKeyComponents: { clientClaims: "x" },
      },
    },
    RefreshToken: {
      [`${hid}-login.windows.net-refreshtoken-1----`]: {
        home_account_id: hid,
        environment: "login.windows.net",
        credential_type: "RefreshToken",
        client_id: "client-a",
        secret: "node-family-rt",
        family_id: "1",
      },
    },
    AppMetadata: {
      "appmetadata-login.windows.net-client-a": {
        client_id: "client-a",
        environment: "login.windows.net",
        family_id: "1",
      },
    },
  });
}

describe("TokenCache: lookups by value on a cache msal-node wrote", () => {
  const NODE_NOW = 2_000_000_000;
  const ALIASES = ["login.microsoftonline.com", "login.windows.net", "login.microsoft.com"];
  const HID = "uid-1.home-tid";

  function nodeCache(): TokenCache {
    const cache = new TokenCache();
    cache.deserialize(msalNodeBlob(NODE_NOW));
    return cache;
  }

  it("lists msal-node's account and finds it by username, case-insensitively", () => {
    const cache = nodeCache();
    const [account] = cache.getAccounts({ username: "ana@contoso.com", environments: ALIASES });
    assert.equal(account.home_account_id, HID);
    assert.equal(account.realm, "home-tid");
    assert.equal(account.tenantProfiles && (account.tenantProfiles as string[]).length, 2);
    assert.equal(cache.getAccounts({ environments: ["login.chinacloudapi.cn"] }).length, 0);
    assert.equal(cache.getAccounts({ homeAccountId: HID }).length, 1);
    assert.equal(cache.getAccounts({ homeAccountId: "someone-else" }).length, 0);
  });

  it("finds msal-node's access token for a subset of its scopes, case-insensitively", () => {
    const cache = nodeCache();
    const query = {
      clientId: "client-a",
      homeAccountId: HID,
      environments: ALIASES,
      realm: "home-tid",
      now: NODE_NOW,
    };
    assert.equal(cache.findAccessToken({ ...query, scopes: ["user.read", "MAIL.READ"] })?.secret, "node-at");
    assert.equal(cache.findAccessToken({ ...query, scopes: ["Calendars.Read"] }), undefined);
    assert.equal(cache.findAccessToken({ ...query, scopes: ["User.Read"], realm: "guest-tid" }), undefined);
    assert.equal(cache.findAccessToken({ ...query, scopes: ["User.Read"], clientId: "client-b" }), undefined);
    assert.equal(
      cache.findAccessToken({ ...query, scopes: ["User.Read"], environments: ["other.host"] }),
      undefined,
    );
    assert.equal(
      cache.findAccessToken({ ...query, scopes: ["User.Read"], now: NODE_NOW + 3600 }),
      undefined,
      "expired tokens are not returned",
    );
    assert.equal(
      cache.findAccessToken({ ...query, scopes: ["User.Read"], keyId: "kid-1" })?.secret,
      "node-pop-at",
      "key-bound tokens only for their key",
    );
  });

  it("finds the FOCI refresh token msal-node keyed by family id, by family and by client", () => {
    const cache = nodeCache();
    const byFamily = cache.findRefreshTokens({ homeAccountId: HID, environments: ALIASES, familyId: "1" });
    assert.deepEqual(byFamily.map((rt) => rt.secret), ["node-family-rt"]);
    const byClient = cache.findRefreshTokens({
      homeAccountId: HID,
      environments: ALIASES,
      clientId: "client-a",
    });
    assert.deepEqual(byClient.map((rt) => rt.secret), ["node-family-rt"]);
    assert.deepEqual(
      cache.findRefreshTokens({ homeAccountId: HID, environments: ALIASES, clientId: "client-b" }),
      [],
    );
  });

  it("finds msal-node's ID token and app metadata", () => {
    const cache = nodeCache();
    assert.ok(cache.findIdToken({ homeAccountId: HID, environments: ALIASES, clientId: "client-a" }));
    assert.ok(
      cache.findIdToken({
        homeAccountId: HID,
        environments: ALIASES,
        clientId: "client-a",
        realm: "home-tid",
      }),
    );
    assert.equal(
      cache.findIdToken({
        homeAccountId: HID,
        environments: ALIASES,
        clientId: "client-a",
        realm: "guest-tid",
      }),
      undefined,
    );
    assert.equal(cache.findAppMetadata({ clientId: "client-a", environments: ALIASES })?.family_id, "1");
    assert.equal(cache.findAppMetadata({ clientId: "client-b", environments: ALIASES }), undefined);
  });

  it("updates msal-node's entries under their own keys instead of adding duplicates", () => {
    const cache = nodeCache();
    const keysBefore = sections(cache);
    cache.addTokenResponse({
      clientId: "client-a",
      environment: "login.windows.net",
      realm: "organizations",
      scopes: ["User.Read"],
      now: NODE_NOW + 10,
      response: {
        access_token: "our-at",
        expires_in: 3600,
        scope: "user.read mail.read OpenID profile",
        refresh_token: "our-family-rt",
        foci: "1",
        client_info: clientInfo("uid-1", "home-tid"),
        id_token: idToken({
          oid: "oid-1",
          tid: "home-tid",
          preferred_username: "Ana@Contoso.com",
          name: "Ana",
        }),
      },
    });
    const after = sections(cache);
    for (const section of ["AccessToken", "RefreshToken", "IdToken", "Account", "AppMetadata"]) {
      assert.deepEqual(Object.keys(after[section]), Object.keys(keysBefore[section]), `${section} keys kept`);
    }
    const query = { clientId: "client-a", homeAccountId: HID, environments: ALIASES, realm: "home-tid" };
    assert.equal(
      cache.findAccessToken({ ...query, scopes: ["mail.read"], now: NODE_NOW + 10 })?.secret,
      "our-at",
    );
    assert.deepEqual(
      cache.findRefreshTokens({ homeAccountId: HID, environments: ALIASES, familyId: "1" }).map((rt) =>
        rt.secret
      ),
      ["our-family-rt"],
    );
    const [account] = Object.values(after.Account);
    assert.equal((account.tenantProfiles as string[]).length, 2, "msal-node's tenantProfiles survive");
    assert.equal(account.last_modification_app, "node");
  });
});

describe("TokenCache: replacing and removing", () => {
  const query = {
    clientId: "client-a",
    homeAccountId: "u1.home",
    environments: [ENV],
    realm: "t1",
    scopes: ["User.Read"],
    now: NOW,
  };

  it("a newer access token for the same account and scopes replaces the old one", () => {
    const cache = new TokenCache();
    cache.addTokenResponse(signIn("u1", "t1", { scopes: ["User.Read", "Mail.Read"] }));
    cache.addTokenResponse(
      signIn("u1", "t1", { scopes: ["mail.read", "user.read"], now: NOW + 60 }, { access_token: "newer" }),
    );
    assert.equal(Object.keys(sections(cache).AccessToken).length, 1);
    assert.equal(cache.findAccessToken({ ...query, now: NOW + 60 })?.secret, "newer");
  });

  it("keeps tokens for other scopes and returns the matching one expiring last", () => {
    const cache = new TokenCache();
    cache.addTokenResponse(
      signIn("u1", "t1", { scopes: ["User.Read"] }, { access_token: "short", expires_in: 600 }),
    );
    cache.addTokenResponse(
      signIn("u1", "t1", { scopes: ["User.Read", "Mail.Read"] }, { access_token: "long", expires_in: 7200 }),
    );
    cache.addTokenResponse(signIn("u1", "t1", { scopes: ["Files.Read"] }, { access_token: "files" }));
    assert.equal(Object.keys(sections(cache).AccessToken).length, 3);
    assert.equal(cache.findAccessToken(query)?.secret, "long");
    assert.equal(cache.findAccessToken({ ...query, now: NOW + 7200 }), undefined);
    assert.equal(cache.findAccessToken({ ...query, scopes: ["files.read"] })?.secret, "files");
  });

  it("key-bound (PoP) tokens coexist with Bearer ones and are only found by their key", () => {
    const cache = new TokenCache();
    cache.addTokenResponse(signIn("u1", "t1", {}, { access_token: "bearer" }));
    cache.addTokenResponse(signIn("u1", "t1", { keyId: "k1" }, { access_token: "pop", token_type: "pop" }));
    assert.equal(cache.findAccessToken(query)?.secret, "bearer");
    assert.equal(cache.findAccessToken({ ...query, keyId: "k1" })?.secret, "pop");
    assert.equal(cache.findAccessToken({ ...query, keyId: "k2" }), undefined);
  });

  it("rotates the refresh token in place: one RT per app and account, the newest secret", () => {
    const cache = new TokenCache();
    cache.addTokenResponse(signIn("u1", "t1", { scopes: ["User.Read"] }, { refresh_token: "rt-1" }));
    cache.addTokenResponse(
      signIn("u1", "t1", { scopes: ["Mail.Read"], now: NOW + 100, skipAccountCreation: true }, {
        refresh_token: "rt-2",
      }),
    );
    const rts = cache.findRefreshTokens({
      homeAccountId: "u1.home",
      environments: [ENV],
      clientId: "client-a",
    });
    assert.deepEqual(rts.map((rt) => [rt.secret, rt.last_modification_time, rt.target]), [
      ["rt-2", String(NOW + 100), "Mail.Read"],
    ]);
    assert.deepEqual(Object.keys(sections(cache).RefreshToken), [
      "u1.home-login.microsoftonline.com-refreshtoken-client-a--mail.read",
    ], "an MSAL Python key follows the entry, so MSAL Python can still update and remove it");
  });

  it("returns refresh tokens newest first", () => {
    const cache = new TokenCache();
    cache.addTokenResponse(signIn("u1", "t1", { clientId: "client-a", now: 5 }, { refresh_token: "old" }));
    cache.addTokenResponse(signIn("u1", "t1", { clientId: "client-b", now: 9 }, { refresh_token: "new" }));
    cache.addTokenResponse(signIn("u1", "t1", { clientId: "client-c", now: 7 }, { refresh_token: "mid" }));
    const rts = cache.findRefreshTokens({ homeAccountId: "u1.home", environments: [ENV] });
    assert.deepEqual(rts.map((rt) => rt.secret), ["new", "mid", "old"]);
  });

  it("removeRefreshToken removes that RT, but not a newer one that replaced it", () => {
    const cache = new TokenCache();
    cache.addTokenResponse(signIn("u1", "t1", {}, { refresh_token: "rt-1" }));
    const [rt1] = cache.findRefreshTokens({
      homeAccountId: "u1.home",
      environments: [ENV],
      clientId: "client-a",
    });
    cache.addTokenResponse(signIn("u1", "t1", {}, { refresh_token: "rt-2" }));
    cache.removeRefreshToken(rt1);
    const [rt2] = cache.findRefreshTokens({
      homeAccountId: "u1.home",
      environments: [ENV],
      clientId: "client-a",
    });
    assert.equal(rt2.secret, "rt-2");
    cache.removeRefreshToken(rt2);
    assert.deepEqual(cache.findRefreshTokens({ homeAccountId: "u1.home", environments: [ENV] }), []);
  });

  it("removeAccessToken removes that AT only", () => {
    const cache = new TokenCache();
    cache.addTokenResponse(signIn("u1", "t1"));
    cache.addTokenResponse(signIn("u1", "t1", { scopes: ["Mail.Read"] }, { access_token: "mail" }));
    const at = cache.findAccessToken(query);
    assert.ok(at);
    cache.removeAccessToken(at);
    assert.equal(cache.findAccessToken(query), undefined);
    assert.equal(cache.findAccessToken({ ...query, scopes: ["Mail.Read"] })?.secret, "mail");
  });

  it("entries returned by lookups are copies", () => {
    const cache = new TokenCache();
    cache.addTokenResponse(signIn("u1", "t1"));
    const at = cache.findAccessToken(query)!;
    at.secret = "tampered";
    cache.getAccounts()[0].username = "tampered";
    assert.equal(cache.findAccessToken(query)?.secret, "at-u1-t1");
    assert.equal(cache.getAccounts()[0].username, "u1@contoso.com");
  });

  it("removeAccount forgets the account in every tenant, its ATs and ID tokens, this app's and its family's RTs", () => {
    const cache = new TokenCache();
    const family = { foci: "1" };
    cache.addTokenResponse(signIn("u1", "t1", {}, family));
    cache.addTokenResponse(signIn("u1", "t2", { scopes: ["Mail.Read"] }, family));
    cache.addTokenResponse(
      signIn("u1", "t1", { clientId: "family-sibling" }, { ...family, refresh_token: "sibling" }),
    );
    cache.addTokenResponse(signIn("u1", "t1", { clientId: "unrelated-app" }, { refresh_token: "unrelated" }));
    cache.addTokenResponse(signIn("u2", "t1", {}, family));
    assert.equal(cache.getAccounts({ homeAccountId: "u1.home" }).length, 2, "one Account per tenant");

    cache.removeAccount({ homeAccountId: "u1.home", environments: [ENV], clientId: "client-a" });

    assert.deepEqual(cache.getAccounts().map((a) => a.home_account_id), ["u2.home"]);
    assert.deepEqual(
      cache.findRefreshTokens({ homeAccountId: "u1.home", environments: [ENV] }).map((rt) => rt.secret),
      ["unrelated"],
      "another app's non-family RT is kept",
    );
    for (const clientId of ["client-a", "family-sibling", "unrelated-app"]) {
      assert.equal(cache.findAccessToken({ ...query, clientId }), undefined, `ATs of ${clientId} removed`);
      assert.equal(cache.findIdToken({ homeAccountId: "u1.home", environments: [ENV], clientId }), undefined);
    }
    assert.ok(cache.findAccessToken({ ...query, homeAccountId: "u2.home" }), "other accounts untouched");
  });

  it("skipAccountCreation (silent refresh) does not recreate a removed account but caches the tokens", () => {
    const cache = new TokenCache();
    cache.addTokenResponse(signIn("u1", "t1"));
    cache.removeAccount({ homeAccountId: "u1.home", environments: [ENV], clientId: "client-a" });
    const result = cache.addTokenResponse(signIn("u1", "t1", { skipAccountCreation: true }));
    assert.equal(result.account, undefined);
    assert.deepEqual(cache.getAccounts(), []);
    assert.ok(cache.findAccessToken(query));
  });

  it("skipAccountCreation returns the existing account of that tenant", () => {
    const cache = new TokenCache();
    cache.addTokenResponse(signIn("u1", "t1", { accountSource: "authorization_code" }));
    const result = cache.addTokenResponse(signIn("u1", "t1", { skipAccountCreation: true }));
    assert.equal(result.account?.account_source, "authorization_code");
  });

  it("getAccounts lists Account entries, filtered by username (case-insensitive), environment and account", () => {
    const cache = new TokenCache();
    cache.addTokenResponse(signIn("u1", "t1"));
    cache.addTokenResponse(signIn("u1", "t2"));
    cache.addTokenResponse(signIn("u2", "t1", { environment: "login.partner.microsoftonline.cn" }));
    assert.equal(cache.getAccounts().length, 3);
    assert.equal(cache.getAccounts({ username: "U1@CONTOSO.COM" }).length, 2);
    assert.equal(cache.getAccounts({ environments: [ENV] }).length, 2);
    assert.equal(cache.getAccounts({ environments: [ENV], username: "u2@contoso.com" }).length, 0);
    assert.deepEqual(cache.getAccounts({ homeAccountId: "u1.home" }).map((a) => a.realm), ["t1", "t2"]);
  });
});

describe("TokenCache: hasStateChanged", () => {
  it("flips on add and remove, and resets on serialize and deserialize, not on lookups", () => {
    const cache = new TokenCache();
    assert.equal(cache.hasStateChanged, false);
    cache.addTokenResponse(signIn("u1", "t1"));
    assert.equal(cache.hasStateChanged, true);
    const blob = cache.serialize();
    assert.equal(cache.hasStateChanged, false);
    cache.getAccounts();
    cache.findRefreshTokens({ homeAccountId: "u1.home", environments: [ENV] });
    assert.equal(cache.hasStateChanged, false);
    cache.removeAccount({ homeAccountId: "u1.home", environments: [ENV], clientId: "client-a" });
    assert.equal(cache.hasStateChanged, true);
    cache.deserialize(blob);
    assert.equal(cache.hasStateChanged, false);
    assert.equal(cache.getAccounts().length, 1);
  });
});

/** A plugin over an in-memory "file" that records what happened. */
class RecordingPlugin implements CachePlugin {
  file = "";
  /** Bumped on every write; `before` reloads only when it moved (as a content/version check would). */
  version = 0;
  #loaded = -1;
  log: string[] = [];
  failBefore?: Error;
  failAfter?: Error;

  async beforeCacheAccess(context: CachePluginContext): Promise<void> {
    await Promise.resolve();
    this.log.push("before");
    if (this.failBefore) throw this.failBefore;
    if (this.#loaded !== this.version) {
      context.cache.deserialize(this.file);
      this.#loaded = this.version;
    }
  }

  async afterCacheAccess(context: CachePluginContext): Promise<void> {
    await Promise.resolve();
    this.log.push(`after:${context.cacheHasChanged}`);
    if (this.failAfter) throw this.failAfter;
    if (context.cacheHasChanged) {
      this.file = context.cache.serialize();
      this.#loaded = ++this.version;
    }
  }

  /** Another process writes the file. */
  writeFromElsewhere(blob: string): void {
    this.file = blob;
    this.version++;
  }
}

describe("TokenCache: plugin hooks", () => {
  it("runs before -> fn -> after, with cacheHasChanged telling whether fn changed anything", async () => {
    const plugin = new RecordingPlugin();
    const cache = new TokenCache({ plugin });
    const accounts = await cache.access(() => {
      plugin.log.push("fn");
      return cache.getAccounts();
    });
    assert.deepEqual(accounts, []);
    await cache.access(() => {
      plugin.log.push("fn");
      cache.addTokenResponse(signIn("u1", "t1"));
    });
    assert.deepEqual(plugin.log, ["before", "fn", "after:false", "before", "fn", "after:true"]);
    assert.equal(
      JSON.parse(plugin.file).Account["u1.home-login.microsoftonline.com-t1"].username,
      "u1@contoso.com",
    );
  });

  it("tells the plugin which accesses only read, and undoes a readOnly access that writes", async () => {
    const seen: boolean[] = [];
    const plugin = new RecordingPlugin();
    const cache = new TokenCache({
      plugin: {
        beforeCacheAccess: (c) => (seen.push(c.readOnly), plugin.beforeCacheAccess(c)),
        afterCacheAccess: (c) => plugin.afterCacheAccess(c),
      },
    });
    await cache.access(() => cache.getAccounts(), { readOnly: true });
    await cache.access(() => cache.addTokenResponse(signIn("u1", "t1")));
    assert.deepEqual(seen, [true, false]);
    await assert.rejects(
      cache.access(() => cache.addTokenResponse(signIn("u2", "t1")), { readOnly: true }),
      (error: unknown) => (error as { code?: string }).code === "read_only_access",
    );
    assert.deepEqual(cache.getAccounts().map((a) => a.home_account_id), ["u1.home"]);
    assert.equal(JSON.parse(plugin.file).Account["u2.home-login.microsoftonline.com-t1"], undefined);
  });

  it("without a plugin, access just runs fn", async () => {
    const cache = new TokenCache();
    assert.equal(await cache.access(() => 42), 42);
    assert.equal(await cache.access(async () => (await Promise.resolve(), "async")), "async");
  });

  it("sees data another process wrote, and never drops its own writes for a stale snapshot", async () => {
    const plugin = new RecordingPlugin();
    const cache = new TokenCache({ plugin });
    const other = new TokenCache();
    other.addTokenResponse(signIn("elsewhere", "t1"));
    plugin.writeFromElsewhere(other.serialize());
    assert.deepEqual((await cache.access(() => cache.getAccounts())).map((a) => a.home_account_id), [
      "elsewhere.home",
    ]);
    // Written, then read back immediately without a reload (the msal-node §6.3 sequence).
    await cache.access(() => cache.addTokenResponse(signIn("u1", "t1")));
    const at = await cache.access(() =>
      cache.findAccessToken({
        clientId: "client-a",
        homeAccountId: "u1.home",
        environments: [ENV],
        realm: "t1",
        scopes: ["User.Read"],
        now: NOW,
      })
    );
    assert.equal(at?.secret, "at-u1-t1");
    assert.equal(cache.getAccounts().length, 2);
  });

  it("a failing beforeCacheAccess propagates, skips fn and afterCacheAccess, and leaves the cache unchanged", async () => {
    const plugin = new RecordingPlugin();
    const cache = new TokenCache({ plugin });
    await cache.access(() => cache.addTokenResponse(signIn("u1", "t1")));
    const before = cache.serialize();
    plugin.writeFromElsewhere("{ corrupt");
    let ran = false;
    await assert.rejects(cache.access(() => (ran = true)), InvalidInputError);
    const boom = new Error("disk unavailable");
    plugin.failBefore = boom;
    await assert.rejects(cache.access(() => (ran = true)), (error) => error === boom);
    assert.equal(ran, false);
    assert.equal(cache.serialize(), before);
    assert.deepEqual(plugin.log.slice(-2), ["before", "before"]);
  });

  it("a beforeCacheAccess that loads data and then fails leaves the cache as it was", async () => {
    const cache = new TokenCache({
      plugin: {
        beforeCacheAccess(context) {
          context.cache.deserialize("");
          return Promise.reject(new Error("lock lost"));
        },
        afterCacheAccess: () => Promise.resolve(),
      },
    });
    cache.addTokenResponse(signIn("u1", "t1"));
    await assert.rejects(cache.access(() => 1), /lock lost/);
    assert.equal(cache.getAccounts().length, 1);
    assert.equal(cache.hasStateChanged, true);
  });

  it("a failing afterCacheAccess propagates and undoes fn's changes", async () => {
    const plugin = new RecordingPlugin();
    const cache = new TokenCache({ plugin });
    await cache.access(() => cache.addTokenResponse(signIn("u1", "t1")));
    plugin.failAfter = new Error("write failed");
    await assert.rejects(
      cache.access(() => {
        cache.addTokenResponse(signIn("u2", "t1"));
        cache.removeAccount({ homeAccountId: "u1.home", environments: [ENV], clientId: "client-a" });
      }),
      /write failed/,
    );
    assert.deepEqual(cache.getAccounts().map((a) => a.home_account_id), ["u1.home"]);
    assert.ok(cache.findRefreshTokens({ homeAccountId: "u1.home", environments: [ENV] }).length);
  });

  it("a failing fn propagates, its changes are undone, and afterCacheAccess still runs (to release locks)", async () => {
    const plugin = new RecordingPlugin();
    const cache = new TokenCache({ plugin });
    const boom = new Error("fn failed");
    await assert.rejects(
      cache.access(() => {
        cache.addTokenResponse(signIn("u1", "t1"));
        throw boom;
      }),
      (error) => error === boom,
    );
    assert.deepEqual(plugin.log, ["before", "after:false"]);
    assert.deepEqual(cache.getAccounts(), []);
    assert.equal(cache.hasStateChanged, false);
  });

  it("serializes concurrent access() calls so before/after pairs never interleave", async () => {
    const plugin = new RecordingPlugin();
    const cache = new TokenCache({ plugin });
    const work = (name: string) => async () => {
      plugin.log.push(`${name}:start`);
      await new Promise((resolve) => setTimeout(resolve, 1));
      cache.addTokenResponse(signIn(name, "t1"));
      plugin.log.push(`${name}:end`);
      return name;
    };
    const failing = cache.access(() => Promise.reject(new Error("one call fails")));
    const results = await Promise.all([
      cache.access(work("a")),
      cache.access(work("b")),
      cache.access(work("c")),
    ]);
    await assert.rejects(failing, /one call fails/);
    assert.deepEqual(results, ["a", "b", "c"]);
    assert.deepEqual(plugin.log, [
      "before",
      "after:false",
      ...["a", "b", "c"].flatMap((n) => ["before", `${n}:start`, `${n}:end`, "after:true"]),
    ]);
    assert.equal(JSON.parse(plugin.file).Account && Object.keys(JSON.parse(plugin.file).Account).length, 3);
  });
});
