// Builds successful token responses: signed access and ID tokens, refresh tokens, client_info.

import type { AuthorityContext } from "./_context.ts";
import { base64UrlEncode, sha256Base64Url } from "./_jwt.ts";
import { audienceOf, grantedScope, scpOf } from "./_scopes.ts";
import { randomToken, type ResolvedUser } from "./_state.ts";

/** What a grant established; the token response is derived from it. */
export interface Grant {
  /** The signed-in user. */
  user: ResolvedUser;
  /** The client the tokens are for. */
  clientId: string;
  /** Requested scopes. */
  scopes: string[];
  /** The tenant path segment the request was made at. */
  tenant: string;
  /** Epoch seconds of the user's sign-in. */
  authTime: number;
  /** Echoed into the ID token (authorization code flow). */
  nonce?: string;
  /** Whether to issue a refresh token (offline_access requested, or a refresh grant). */
  withRefreshToken: boolean;
}

const ID_TOKEN_LIFETIME = 3600;

/** The base64url `client_info` Entra returns: the user's object id and home tenant. */
export function clientInfo(user: ResolvedUser): string {
  return base64UrlEncode(JSON.stringify({ uid: user.oid, utid: user.tenantId }));
}

/** Issues the token response body for `grant`, remembering any refresh token it contains. */
export async function issueTokens(ctx: AuthorityContext, grant: Grant): Promise<Record<string, unknown>> {
  const { user, clientId, scopes } = grant;
  const tid = ctx.tenantFor(grant.tenant, user);
  const iss = ctx.issuer(tid);
  const now = Math.floor(Date.now() / 1000);
  const lifetime = ctx.config.accessTokenLifetime;
  const aud = audienceOf(scopes);
  const familyId = ctx.familyOf(clientId);

  const accessToken = await ctx.key.sign({
    aud,
    iss,
    iat: now,
    nbf: now,
    exp: now + lifetime,
    azp: clientId,
    azpacr: "0",
    appid: clientId,
    appidacr: "0",
    name: user.name,
    oid: user.oid,
    preferred_username: user.username,
    scp: scpOf(scopes),
    sub: await pairwiseSubject(user.oid, aud),
    tid,
    uti: randomToken(16),
    ver: "2.0",
  });

  const strict = ctx.config.strictOidc;
  const body: Record<string, unknown> = {
    token_type: "Bearer",
    scope: strict ? scopes.filter((s) => !IDENTITY_SCOPES.has(s)).join(" ") : grantedScope(scopes),
    expires_in: lifetime,
    ext_expires_in: lifetime,
    access_token: accessToken,
  };
  if (ctx.config.refreshIn !== undefined) body.refresh_in = ctx.config.refreshIn;
  if (grant.withRefreshToken) {
    const refreshToken = `1.${randomToken(48)}`;
    ctx.state.refreshTokens.set(refreshToken, {
      username: user.username,
      clientId,
      familyId,
      scopes,
      authTime: grant.authTime,
      status: "active",
    });
    body.refresh_token = refreshToken;
  }
  if (scopes.includes("openid")) {
    const claims: Record<string, unknown> = {
      aud: clientId,
      iss,
      iat: now,
      nbf: now,
      exp: now + ID_TOKEN_LIFETIME,
      auth_time: grant.authTime,
      sub: await pairwiseSubject(user.oid, clientId),
      // A strict provider keeps profile claims for the UserInfo endpoint (OpenID Connect Core §5.4).
      ...(!strict && {
        name: user.name,
        oid: user.oid,
        preferred_username: user.username,
        tid,
        uti: randomToken(16),
        ver: "2.0",
      }),
    };
    if (grant.nonce !== undefined) claims.nonce = grant.nonce;
    for (const [name, value] of Object.entries(ctx.state.takeIdTokenOverride() ?? {})) {
      if (value === undefined) delete claims[name];
      else claims[name] = value;
    }
    body.id_token = await ctx.key.sign(claims);
  }
  if (!strict) body.client_info = clientInfo(user);
  if (familyId !== undefined) body.foci = familyId;
  return body;
}

/** Scopes a strict OpenID Connect provider leaves out of an access token's granted `scope`. */
const IDENTITY_SCOPES = new Set(["openid", "profile", "offline_access", "email", "address", "phone"]);

/** Entra's `sub` is pairwise: stable for one user and one application, different across applications. */
export async function pairwiseSubject(oid: string, app: string): Promise<string> {
  return await sha256Base64Url(`${oid}|${app}`);
}
