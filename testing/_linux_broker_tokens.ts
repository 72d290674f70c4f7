// Accounts and signed artefacts of the fake Linux broker: broker account JSON, token responses, PRT
// SSO cookies and signed HTTP requests, all real RS256 JWTs.

import { base64UrlEncode, SigningKey } from "./_jwt.ts";
import { audienceOf, scpOf } from "./_scopes.ts";
import { pairwiseSubject } from "./_tokens.ts";
import { randomToken } from "./_state.ts";
import type { Json } from "./_json.ts";
import type { FakeLinuxBrokerAccount, FakeLinuxBrokerAccountInit } from "./_types.ts";

/** The tenant of broker accounts when neither the account nor an authority names one. */
export const FAKE_LINUX_TENANT_ID = "72f9a2c1-4b3e-4d8f-9a61-0c5e7d2b8f14";

/** Who signs: a key and the issuer URL for a tenant. */
export interface TokenSigner {
  key: SigningKey;
  issuer(tenantId: string): string;
}

/** A signer of its own, issuing as `https://login.microsoftonline.com/<tid>/v2.0`. */
export async function ownSigner(): Promise<TokenSigner> {
  const key = await SigningKey.generate();
  return { key, issuer: (tid) => `https://login.microsoftonline.com/${tid}/v2.0` };
}

/** The broker's JSON for an account: every Account schema field, in the broker's (sorted) order. */
export function brokerAccount(
  init: FakeLinuxBrokerAccountInit,
  defaults: { tenantId: string; environment: string },
): FakeLinuxBrokerAccount {
  const oid = (init.oid ?? crypto.randomUUID()).toLowerCase();
  const tenantId = (init.tenantId ?? defaults.tenantId).toLowerCase();
  const name = init.name ?? init.username.split("@")[0];
  const words = name.split(/\s+/).filter(Boolean);
  return {
    alternativeAccountId: "",
    clientInfo: base64UrlEncode(JSON.stringify({ uid: oid, utid: tenantId })),
    environment: defaults.environment,
    familyName: init.familyName ?? (words.length > 1 ? words[words.length - 1] : ""),
    givenName: init.givenName ?? words[0] ?? "",
    homeAccountId: `${oid}.${tenantId}`,
    homeEnvironment: defaults.environment,
    localAccountId: oid,
    middleName: "",
    name,
    passwordChangeUrl: "",
    passwordExpiry: 0,
    realm: tenantId,
    username: init.username,
  };
}

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** The tenant a token is issued in: a GUID in the authority's path, else the account's home tenant. */
export function tokenTenant(authority: URL, account: FakeLinuxBrokerAccount): string {
  const segment = authority.pathname.split("/").filter(Boolean)[0] ?? "";
  return GUID.test(segment) ? segment.toLowerCase() : account.realm;
}

/** What a successful token call issues. */
export interface TokenGrant {
  account: FakeLinuxBrokerAccount;
  clientId: string;
  scopes: string[];
  tenantId: string;
  /** Seconds. */
  lifetime: number;
  deviceId: string;
}

/** The HTTP request a PoP token is bound to (`popParams`, spec §3.4). */
export interface PopRequest {
  httpMethod: string;
  uriHost: string;
  uriPath: string;
  nonce?: string;
}

function claimsBase(signer: TokenSigner, grant: TokenGrant, now: number): Json {
  const { account, tenantId } = grant;
  return {
    iss: signer.issuer(tenantId),
    iat: now,
    nbf: now,
    name: account.name,
    oid: account.localAccountId,
    tid: tenantId,
  };
}

/** An access token; a PoP one carries `cnf` (the key it is bound to). */
async function accessToken(signer: TokenSigner, grant: TokenGrant, pop: boolean): Promise<string> {
  const { account, clientId, scopes } = grant;
  const now = Math.floor(Date.now() / 1000);
  const aud = audienceOf(scopes);
  const claims: Json = {
    aud,
    ...claimsBase(signer, grant, now),
    exp: now + grant.lifetime,
    acr: "1",
    amr: ["pwd", "rsa"],
    appid: clientId,
    appidacr: "0",
    azp: clientId,
    deviceid: grant.deviceId,
    preferred_username: account.username,
    scp: scpOf(scopes),
    sub: await pairwiseSubject(account.localAccountId, aud),
    uti: randomToken(16),
    ver: "2.0",
  };
  if (pop) claims.cnf = { kid: signer.key.jwk.kid };
  return await signer.key.sign(claims);
}

/**
 * The `brokerTokenResponse` of a successful token call (spec §3.5, §11). With `pop`, the access token
 * is the signed HTTP request (`accessTokenType` 1), which Microsoft's runtime turns into
 * `Authorization: pop <token>`.
 */
export async function tokenResponse(signer: TokenSigner, grant: TokenGrant, pop?: PopRequest): Promise<Json> {
  const { account, clientId, scopes } = grant;
  const nowMs = Date.now();
  const now = Math.floor(nowMs / 1000);
  const idToken = await signer.key.sign({
    aud: clientId,
    ...claimsBase(signer, grant, now),
    exp: now + 3600,
    preferred_username: account.username,
    sub: await pairwiseSubject(account.localAccountId, clientId),
    uti: randomToken(16),
    ver: "2.0",
  });
  return {
    accessToken: pop ? await signedHttpRequest(signer, grant, pop) : await accessToken(signer, grant, false),
    accessTokenType: pop ? 1 : 0,
    clientInfo: account.clientInfo,
    expiresOn: nowMs + grant.lifetime * 1000,
    extendedExpiresOn: nowMs + grant.lifetime * 2000,
    grantedScopes: scopes.join(" "),
    idToken,
  };
}

/** A PRT SSO cookie (`x-ms-RefreshTokenCredential`): a signed JWT, bound to `sso_nonce` when given. */
export async function prtCookie(
  signer: TokenSigner,
  account: FakeLinuxBrokerAccount,
  nonce: string | undefined,
): Promise<string> {
  const claims: Json = {
    refresh_token: `1.${randomToken(48)}`,
    is_primary: "true",
    iat: Math.floor(Date.now() / 1000),
    x_client_platform: "linux",
    upn: account.username,
  };
  if (nonce !== undefined) claims.request_nonce = nonce;
  return await signer.key.sign(claims);
}

/**
 * A signed HTTP request (SHR) for PoP, shaped like MSAL's (`PopTokenGenerator`): `{at, ts, m, u, p,
 * nonce, cnf}` over a fresh PoP access token, `cnf` naming the key that signs it.
 */
export async function signedHttpRequest(
  signer: TokenSigner,
  grant: TokenGrant,
  pop: PopRequest,
): Promise<string> {
  const claims: Json = {
    at: await accessToken(signer, grant, true),
    ts: Math.floor(Date.now() / 1000),
    m: pop.httpMethod,
    u: pop.uriHost,
    p: pop.uriPath,
  };
  if (pop.nonce) claims.nonce = pop.nonce;
  claims.cnf = { kid: signer.key.jwk.kid, jwk: signer.key.jwk };
  return await signer.key.sign(claims);
}
