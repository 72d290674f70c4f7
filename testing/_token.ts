// The token endpoint: device code polling, refresh token rotation (with FOCI), authorization code
// redemption with PKCE, and ROPC.

import type { Hono } from "hono";
import type { AuthorityContext, Ctx, HonoEnv } from "./_context.ts";
import { entraError, missingParameter } from "./_errors.ts";
import { unknownTenant } from "./_discovery.ts";
import { sha256Base64Url } from "./_jwt.ts";
import { OIDC_SCOPES, parseScopes, spansResources } from "./_scopes.ts";
import type { ResolvedUser } from "./_state.ts";
import { type Grant, issueTokens } from "./_tokens.ts";

const DEVICE_CODE_GRANT = "urn:ietf:params:oauth:grant-type:device_code";

type Form = Record<string, string>;

/** Registers `/{tenant}/oauth2/v2.0/token` on `app`. */
export function registerToken(app: Hono<HonoEnv>, ctx: AuthorityContext): void {
  app.all("/:tenant/oauth2/v2.0/token", async (c) => {
    if (c.req.method !== "POST") {
      return entraError(c, {
        error: "invalid_request",
        description:
          `AADSTS900561: The endpoint only accepts POST, OPTIONS requests. Received a ${c.req.method} request.`,
      });
    }
    const tenant = c.req.param("tenant");
    const unknown = unknownTenant(c, ctx, tenant);
    if (unknown) return unknown;
    if (!/^application\/x-www-form-urlencoded\b/i.test(c.req.header("content-type") ?? "")) {
      return entraError(c, {
        error: "invalid_request",
        description:
          "AADSTS900144: The request body must contain the following parameter: 'grant_type'. Token requests must be sent as application/x-www-form-urlencoded.",
      });
    }
    const form = c.get("recorded").form;
    if (!form.grant_type) return missingParameter(c, "grant_type");
    if (!form.client_id) return missingParameter(c, "client_id");
    switch (form.grant_type) {
      case DEVICE_CODE_GRANT:
      case "device_code": // msal-node's spelling; Entra accepts both
        return await deviceCodeGrant(c, ctx, tenant, form);
      case "refresh_token":
        return await refreshTokenGrant(c, ctx, tenant, form);
      case "authorization_code":
        return await authorizationCodeGrant(c, ctx, tenant, form);
      case "password":
        return await passwordGrant(c, ctx, tenant, form);
      default:
        return entraError(c, {
          error: "unsupported_grant_type",
          description: `AADSTS70003: The app requested an unsupported grant type '${form.grant_type}'.`,
        });
    }
  });
}

/** `invalid_scope` (AADSTS28000) when the scopes span several resources, else undefined. */
export function invalidScope(c: Ctx, scopes: string[]): Response | undefined {
  if (!spansResources(scopes)) return undefined;
  return entraError(c, {
    error: "invalid_scope",
    description:
      `AADSTS28000: Provided value for the input parameter scope is not valid because it contains more than one resource. Scope ${
        scopes.join(" ")
      } is not valid.`,
  });
}

async function respondWithTokens(c: Ctx, ctx: AuthorityContext, grant: Grant): Promise<Response> {
  c.header("cache-control", "no-store, no-cache");
  return c.json(await issueTokens(ctx, grant));
}

function invalidGrant(c: Ctx, description: string, suberror?: string): Response {
  return entraError(c, { error: "invalid_grant", description, suberror });
}

async function deviceCodeGrant(c: Ctx, ctx: AuthorityContext, tenant: string, form: Form): Promise<Response> {
  if (!form.device_code) return missingParameter(c, "device_code");
  const record = ctx.state.deviceCodes.get(form.device_code);
  if (!record) {
    return entraError(c, {
      error: "bad_verification_code",
      description: "AADSTS70018: Invalid verification code.",
    });
  }
  if (record.clientId !== form.client_id) {
    return invalidGrant(
      c,
      "AADSTS70000: Provided grant is invalid or malformed. The device code was issued to another client.",
    );
  }
  const now = Date.now();
  if (now >= record.expiresAt) {
    return entraError(c, { error: "expired_token", description: "AADSTS70019: Verification code expired." });
  }
  switch (record.status) {
    case "redeemed":
      return invalidGrant(c, "AADSTS54005: The device code was already redeemed.");
    case "denied":
      return entraError(c, {
        error: "authorization_declined",
        description: "AADSTS70000: The end user declined the authorization request.",
      });
    case "pending": {
      const tooFast = record.lastPoll !== undefined && now - record.lastPoll < record.interval * 1000;
      record.lastPoll = now;
      if (tooFast) {
        return entraError(c, {
          error: "slow_down",
          description:
            `AADSTS70016: The client is polling too frequently. Wait ${record.interval} seconds between polls.`,
        });
      }
      return entraError(c, {
        error: "authorization_pending",
        description:
          "AADSTS70016: The provided request has not yet been authorized by the user. The user must input their code.",
      });
    }
  }
  const user = ctx.findUser(record.username);
  if (!user) return invalidGrant(c, "AADSTS50034: The user account does not exist in the directory.");
  record.status = "redeemed";
  return await respondWithTokens(c, ctx, {
    user,
    clientId: record.clientId,
    scopes: record.scopes,
    tenant,
    authTime: record.authTime ?? Math.floor(now / 1000),
    withRefreshToken: record.scopes.includes("offline_access"),
  });
}

async function refreshTokenGrant(
  c: Ctx,
  ctx: AuthorityContext,
  tenant: string,
  form: Form,
): Promise<Response> {
  if (!form.refresh_token) return missingParameter(c, "refresh_token");
  const record = ctx.state.refreshTokens.get(form.refresh_token);
  if (!record) return invalidGrant(c, "AADSTS9002313: Invalid request. Request is malformed or invalid.");
  if (record.clientId !== form.client_id) {
    const family = ctx.familyOf(form.client_id);
    if (record.familyId === undefined || family !== record.familyId) {
      return invalidGrant(
        c,
        "AADSTS70000: Provided grant is invalid or malformed. The refresh token was issued to a different client.",
        "client_mismatch",
      );
    }
  }
  if (record.status === "revoked") {
    return invalidGrant(
      c,
      "AADSTS50173: The provided grant has expired due to it being revoked, a fresh auth token is needed. The user might have changed or reset their password.",
    );
  }
  if (record.status === "rotated") {
    return invalidGrant(
      c,
      "AADSTS70000: Provided grant is invalid or malformed. The refresh token was already redeemed; use the refresh token issued with it.",
    );
  }
  const user = ctx.findUser(record.username);
  if (!user) return invalidGrant(c, "AADSTS50034: The user account does not exist in the directory.");
  const scopes = form.scope ? parseScopes(form.scope) : record.scopes;
  const badScope = invalidScope(c, scopes);
  if (badScope) return badScope;
  record.status = "rotated";
  return await respondWithTokens(c, ctx, {
    ...grantFor(user, form, scopes, tenant, record.authTime),
    withRefreshToken: true,
  });
}

async function authorizationCodeGrant(
  c: Ctx,
  ctx: AuthorityContext,
  tenant: string,
  form: Form,
): Promise<Response> {
  if (!form.code) return missingParameter(c, "code");
  const record = ctx.state.authCodes.get(form.code);
  if (!record) return invalidGrant(c, "AADSTS9002313: Invalid request. Request is malformed or invalid.");
  if (record.used) {
    return invalidGrant(
      c,
      "AADSTS54005: OAuth2 Authorization code was already redeemed, please retry with a new valid code or use an existing refresh token.",
    );
  }
  if (Date.now() >= record.expiresAt) {
    return invalidGrant(
      c,
      "AADSTS70008: The provided authorization code or refresh token has expired due to inactivity. Send a new interactive authorization request for this user and resource.",
    );
  }
  if (record.clientId !== form.client_id) {
    return invalidGrant(
      c,
      "AADSTS70000: Provided grant is invalid or malformed. The code was issued to another client.",
    );
  }
  if (form.redirect_uri !== record.redirectUri) {
    return invalidGrant(
      c,
      `AADSTS70000: Provided grant is invalid or malformed. The redirect URI '${
        form.redirect_uri ?? ""
      }' does not match the one the authorization code was issued for.`,
    );
  }
  const pkceError = await checkPkce(record.codeChallenge, form.code_verifier);
  if (pkceError) return invalidGrant(c, pkceError);

  const user = ctx.findUser(record.username);
  if (!user) return invalidGrant(c, "AADSTS50034: The user account does not exist in the directory.");
  const requested = form.scope ? parseScopes(form.scope) : record.scopes;
  // The authorization request decides whether OIDC artefacts come back, even if the redemption omits them.
  const scopes = [...requested, ...record.scopes.filter((s) => OIDC_SCOPES.has(s) && !requested.includes(s))];
  const badScope = invalidScope(c, scopes);
  if (badScope) return badScope;
  record.used = true;
  return await respondWithTokens(c, ctx, {
    ...grantFor(user, form, scopes, tenant, record.authTime),
    ...(ctx.config.strictOidc && { withRefreshToken: record.offlineAccess }),
    nonce: record.nonce,
  });
}

async function checkPkce(
  challenge: string | undefined,
  verifier: string | undefined,
): Promise<string | undefined> {
  if (challenge === undefined) {
    return verifier === undefined
      ? undefined
      : "AADSTS501481: The Code_Verifier does not match the code_challenge supplied in the authorization request (none was supplied).";
  }
  if (verifier === undefined) {
    return "AADSTS50148: The code_verifier does not match the code_challenge supplied in the authorization request for PKCE.";
  }
  if (verifier.length < 43 || verifier.length > 128) {
    return "AADSTS501491: Invalid size of Code_Verifier parameter.";
  }
  if (await sha256Base64Url(verifier) !== challenge) {
    return "AADSTS501481: The Code_Verifier does not match the code_challenge supplied in the authorization request.";
  }
  return undefined;
}

async function passwordGrant(c: Ctx, ctx: AuthorityContext, tenant: string, form: Form): Promise<Response> {
  if (!form.username) return missingParameter(c, "username");
  if (!form.password) return missingParameter(c, "password");
  if (!form.scope) return missingParameter(c, "scope");
  const user = ctx.findUser(form.username);
  if (!user) {
    return invalidGrant(
      c,
      `AADSTS50034: The user account ${form.username} does not exist in the ${tenant} directory. To sign into this application, the account must be added to the directory.`,
    );
  }
  if (user.password !== form.password) {
    return invalidGrant(c, "AADSTS50126: Error validating credentials due to invalid username or password.");
  }
  const scopes = parseScopes(form.scope);
  const badScope = invalidScope(c, scopes);
  if (badScope) return badScope;
  return await respondWithTokens(c, ctx, grantFor(user, form, scopes, tenant, Math.floor(Date.now() / 1000)));
}

function grantFor(user: ResolvedUser, form: Form, scopes: string[], tenant: string, authTime: number): Grant {
  return {
    user,
    clientId: form.client_id,
    scopes,
    tenant,
    authTime,
    withRefreshToken: scopes.includes("offline_access"),
  };
}
