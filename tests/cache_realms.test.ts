// Every authority type writes cache entries under the realm its lookups use, and serves caches that
// MSAL Python and msal-node wrote for it (issue: B2C tokens were written under `tid` and looked up
// under the policy segment, so a valid cached token was never served).
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import * as msal from "@azure/msal-node";
import { PublicClientApplication, type PublicClientApplicationOptions, TokenCache } from "../mod.ts";
import { clientInfo, jwt, MiniIdp } from "./_mini_idp.ts";
import { CLIENT_ID } from "./_helpers.ts";
import { msalNodeNetwork, msalPythonCache } from "./_other_msals.ts";

const TID = "775527ff-9a37-4307-8b3d-cc311f58d925";
const OID = "0c5d3a2f-3e55-4b9d-9a4f-0f1c4c1b7a11";
const RESERVED = new Set(["openid", "profile", "offline_access"]);

interface AuthorityCase {
  name: string;
  app: Pick<PublicClientApplicationOptions, "authority" | "oidcAuthority" | "instanceDiscovery">;
  origin: string;
  configurationPath: string;
  issuer: string;
  tokenEndpoint: string;
  scopes: string[];
  /** Extra ID token claims. */
  claims: Record<string, unknown>;
  /** `client_info`, when the provider sends one. */
  clientInfo?: string;
}

const B2C: AuthorityCase = {
  name: "B2C",
  app: { authority: "https://fabrikamb2c.b2clogin.com/fabrikamb2c.onmicrosoft.com/B2C_1_SignUpSignIn" },
  origin: "https://fabrikamb2c.b2clogin.com",
  configurationPath: "/fabrikamb2c.onmicrosoft.com/B2C_1_SignUpSignIn/v2.0/.well-known/openid-configuration",
  issuer: `https://fabrikamb2c.b2clogin.com/${TID}/v2.0/`,
  tokenEndpoint:
    "https://fabrikamb2c.b2clogin.com/fabrikamb2c.onmicrosoft.com/b2c_1_signupsignin/oauth2/v2.0/token",
  scopes: ["https://fabrikamb2c.onmicrosoft.com/helloapi/demo.read"],
  claims: { tid: TID, tfp: "B2C_1_SignUpSignIn", name: "Fabrikam User", emails: ["user@fabrikam.example"] },
  clientInfo: clientInfo(`${OID}-b2c_1_signupsignin`, TID),
};

const CASES: AuthorityCase[] = [
  {
    name: "AAD (a tenant)",
    app: { authority: `https://login.microsoftonline.com/${TID}`, instanceDiscovery: false },
    origin: "https://login.microsoftonline.com",
    configurationPath: `/${TID}/v2.0/.well-known/openid-configuration`,
    issuer: `https://login.microsoftonline.com/${TID}/v2.0`,
    tokenEndpoint: `https://login.microsoftonline.com/${TID}/oauth2/v2.0/token`,
    scopes: ["User.Read"],
    claims: { tid: TID, preferred_username: "user@contoso.com" },
    clientInfo: clientInfo(OID, TID),
  },
  {
    name: "AAD (organizations)",
    app: { authority: "https://login.microsoftonline.com/organizations", instanceDiscovery: false },
    origin: "https://login.microsoftonline.com",
    configurationPath: "/organizations/v2.0/.well-known/openid-configuration",
    issuer: "https://login.microsoftonline.com/{tenantid}/v2.0",
    tokenEndpoint: "https://login.microsoftonline.com/organizations/oauth2/v2.0/token",
    scopes: ["User.Read"],
    claims: { tid: TID, preferred_username: "user@contoso.com" },
    clientInfo: clientInfo(OID, TID),
  },
  {
    name: "ADFS",
    app: { authority: "https://adfs.contoso.com/adfs" },
    origin: "https://adfs.contoso.com",
    configurationPath: "/adfs/.well-known/openid-configuration",
    issuer: "https://adfs.contoso.com/adfs",
    tokenEndpoint: "https://adfs.contoso.com/adfs/oauth2/token",
    scopes: ["openid-api"],
    claims: { upn: "user@contoso.com" },
  },
  B2C,
  {
    name: "CIAM",
    app: { authority: "https://contoso.ciamlogin.com/" },
    origin: "https://contoso.ciamlogin.com",
    configurationPath: "/contoso.onmicrosoft.com/v2.0/.well-known/openid-configuration",
    issuer: `https://${TID}.ciamlogin.com/${TID}/v2.0`,
    tokenEndpoint: `https://contoso.ciamlogin.com/${TID}/oauth2/v2.0/token`,
    scopes: ["api://contoso/read"],
    claims: { tid: TID, preferred_username: "user@contoso.com" },
    clientInfo: clientInfo(OID, TID),
  },
  {
    name: "OIDC (an Entra-like provider whose ID tokens carry tid)",
    app: { oidcAuthority: "https://idp.example.com/realms/demo" },
    origin: "https://idp.example.com",
    configurationPath: "/realms/demo/.well-known/openid-configuration",
    issuer: "https://idp.example.com/realms/demo",
    tokenEndpoint: "https://idp.example.com/realms/demo/protocol/openid-connect/token",
    scopes: ["api:read"],
    claims: { tid: TID, preferred_username: "user@example.com" },
  },
];

/** A provider for `c` whose token endpoint grants refresh tokens and issues tokens for them. */
function startProvider(c: AuthorityCase, scope?: (form: Record<string, string>) => string): Promise<MiniIdp> {
  let issued = 0;
  return MiniIdp.start({
    origin: c.origin,
    configurationPath: c.configurationPath,
    metadata: {
      issuer: c.issuer,
      authorization_endpoint: c.tokenEndpoint.replace(/token$/, "authorize"),
      token_endpoint: c.tokenEndpoint,
      jwks_uri: `${c.origin}/discovery/v2.0/keys`,
    },
    token: (form) => {
      const now = Math.floor(Date.now() / 1000);
      issued++;
      const body: Record<string, unknown> = {
        token_type: "Bearer",
        access_token: `at-${issued}`,
        expires_in: 3600,
        refresh_token: `rt-${issued}`,
        scope: scope ? scope(form) : form.scope.split(" ").filter((s) => !RESERVED.has(s)).join(" "),
        id_token: jwt({
          aud: CLIENT_ID,
          iss: c.issuer.replace("{tenantid}", TID),
          sub: `sub-${OID}`,
          oid: OID,
          iat: now,
          nbf: now,
          exp: now + 3600,
          ...c.claims,
        }),
      };
      if (c.clientInfo) body.client_info = c.clientInfo;
      return body;
    },
  });
}

function appFor(c: AuthorityCase, idp: MiniIdp, tokenCache = new TokenCache()): PublicClientApplication {
  return new PublicClientApplication(CLIENT_ID, { ...c.app, fetch: idp.fetch, tokenCache });
}

describe("cache realms: what is written is what is looked up, for every authority type", () => {
  for (const c of CASES) {
    it(`${c.name}: after sign-in, three silent calls are served from the cache`, async () => {
      const idp = await startProvider(c);
      try {
        const app = appFor(c, idp);
        const signedIn = await app.acquireTokenByRefreshToken("rt-from-elsewhere", c.scopes);
        assert.ok("access_token" in signedIn, JSON.stringify(signedIn));
        const [account, ...others] = await app.getAccounts();
        assert.ok(account);
        assert.equal(others.length, 0);
        for (let i = 0; i < 3; i++) {
          const result = await app.acquireTokenSilent(c.scopes, { account });
          assert.equal(result?.token_source, "cache", `call ${i + 1}`);
          assert.equal(result?.access_token, signedIn.access_token);
        }
        assert.equal(idp.tokenRequests.length, 1);
      } finally {
        await idp.close();
      }
    });
  }

  it("B2C: writes MSAL Python's realm (the tenant segment of the token endpoint), never the tid or policy", async () => {
    const idp = await startProvider(B2C);
    try {
      const cache = new TokenCache();
      await appFor(B2C, idp, cache).acquireTokenByRefreshToken("rt", B2C.scopes);
      const blob = JSON.parse(cache.serialize());
      for (const section of ["AccessToken", "IdToken", "Account"]) {
        const realms = Object.values(blob[section]).map((entry) => (entry as { realm: string }).realm);
        assert.deepEqual(realms, ["fabrikamb2c.onmicrosoft.com"], section);
      }
      assert.deepEqual(Object.keys(blob.AccessToken), [
        `${OID}-b2c_1_signupsignin.${TID}-fabrikamb2c.b2clogin.com-accesstoken-${CLIENT_ID}-fabrikamb2c.onmicrosoft.com-${
          B2C.scopes[0]
        }`,
      ]);
    } finally {
      await idp.close();
    }
  });
});

/** A B2C cache as MSAL Python 1.x writes it (`token_cache.py`: realm = canonicalize(token_endpoint)). */
function msalPythonB2cCache(): string {
  return msalPythonCache({
    homeAccountId: `${OID}-b2c_1_signupsignin.${TID}`,
    environment: "fabrikamb2c.b2clogin.com",
    realm: "fabrikamb2c.onmicrosoft.com",
    target: B2C.scopes[0],
    accessToken: "python-access-token",
    refreshToken: "python-refresh-token",
    idToken: jwt({ aud: CLIENT_ID, iss: B2C.issuer, sub: OID, tid: TID, tfp: "B2C_1_SignUpSignIn", exp: 1 }),
    cachedAt: 1700000000,
    expiresOn: 4102444800,
    localAccountId: OID,
    username: "",
    accountSource: "authorization_code",
  });
}

describe("cache realms: B2C caches written by other MSALs are served", () => {
  it("serves a cached access token from MSAL Python's B2C cache", async () => {
    const idp = await startProvider(B2C);
    try {
      const cache = new TokenCache();
      cache.deserialize(msalPythonB2cCache());
      const app = appFor(B2C, idp, cache);
      const [account] = await app.getAccounts();
      assert.equal(account?.realm, "fabrikamb2c.onmicrosoft.com");
      const result = await app.acquireTokenSilent(B2C.scopes, { account });
      assert.equal(result?.token_source, "cache");
      assert.equal(result?.access_token, "python-access-token");
      assert.equal(idp.tokenRequests.length, 0);
    } finally {
      await idp.close();
    }
  });

  for (const withTid of [true, false]) {
    it(`serves a cached access token from msal-node's B2C cache (ID token ${withTid ? "with" : "without"} tid)`, async () => {
      const c: AuthorityCase = withTid ? B2C : { ...B2C, claims: { ...B2C.claims, tid: undefined } };
      const idp = await startProvider(c);
      try {
        const theirs = new msal.PublicClientApplication({
          auth: {
            clientId: CLIENT_ID,
            authority: B2C.app.authority,
            knownAuthorities: ["fabrikamb2c.b2clogin.com"],
          },
          system: { networkClient: msalNodeNetwork(idp.fetch) },
        });
        // msal-node stores refresh-token results only for accounts it knows: sign in with a password.
        const signedIn = await theirs.acquireTokenByUsernamePassword({
          username: "user@fabrikam.example",
          password: "pw",
          scopes: B2C.scopes,
        });
        assert.ok(signedIn?.accessToken);
        const blob = theirs.getTokenCache().serialize();
        const realms = Object.values(JSON.parse(blob).AccessToken).map((e) => (e as { realm: string }).realm);
        assert.deepEqual(realms, [withTid ? TID : "B2C_1_SignUpSignIn"]); // msal-node: tid || tfp || acr
        const before = idp.tokenRequests.length;

        const cache = new TokenCache();
        cache.deserialize(blob);
        const app = appFor(B2C, idp, cache);
        const [account] = await app.getAccounts();
        assert.ok(account);
        const result = await app.acquireTokenSilent(B2C.scopes, { account });
        assert.equal(result?.token_source, "cache");
        assert.equal(result?.access_token, signedIn.accessToken);
        assert.equal(idp.tokenRequests.length, before);
      } finally {
        await idp.close();
      }
    });
  }
});

/** A cache as MSAL Python writes it for `c`: environment = the host, realm = canonicalize(token_endpoint). */
function msalPythonCacheFor(c: AuthorityCase): string {
  const hid = c.clientInfo
    ? (() => {
      const { uid, utid } = JSON.parse(atob(c.clientInfo.replace(/-/g, "+").replace(/_/g, "/")));
      return `${uid}.${utid}`;
    })()
    : `sub-${OID}`;
  const realm = new URL(c.tokenEndpoint).pathname.split("/")[1];
  return msalPythonCache({
    homeAccountId: hid,
    environment: new URL(c.origin).host,
    realm,
    target: [...c.scopes].sort().join(" "),
    accessToken: `python-at-${c.name}`,
    cachedAt: 1700000000,
    expiresOn: 4102444800,
    localAccountId: OID,
    username: "user@example.com",
    authorityType: realm === "adfs" ? "ADFS" : "MSSTS",
  });
}

describe("cache realms: MSAL Python's caches are served for every authority type", () => {
  for (const c of CASES) {
    it(`${c.name}: a cached access token MSAL Python wrote`, async () => {
      const idp = await startProvider(c);
      try {
        const cache = new TokenCache();
        cache.deserialize(msalPythonCacheFor(c));
        const app = appFor(c, idp, cache);
        const [account] = await app.getAccounts();
        assert.ok(account, "the account is listed");
        const result = await app.acquireTokenSilent(c.scopes, { account });
        assert.equal(result?.token_source, "cache");
        assert.equal(result?.access_token, `python-at-${c.name}`);
        assert.equal(idp.tokenRequests.length, 0);
      } finally {
        await idp.close();
      }
    });
  }
});
