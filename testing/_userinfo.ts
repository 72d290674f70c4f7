// The OpenID Connect UserInfo endpoint (strict OIDC mode): profile claims for the bearer of an access
// token this authority issued.

import type { Hono } from "hono";
import type { AuthorityContext, Ctx, HonoEnv } from "./_context.ts";
import { payloadOf } from "./_jwt.ts";
import { pairwiseSubject } from "./_tokens.ts";

function bearerError(c: Ctx, error: string, description: string): Response {
  c.header("www-authenticate", `Bearer error="${error}", error_description="${description}"`);
  return c.json({ error, error_description: description }, 401);
}

/** Registers `GET /{tenant}/openid/userinfo` (strict OIDC mode only; 404 otherwise). */
export function registerUserinfo(app: Hono<HonoEnv>, ctx: AuthorityContext): void {
  app.get("/:tenant/openid/userinfo", async (c) => {
    if (!ctx.config.strictOidc) return c.notFound();
    const token = /^Bearer (\S+)$/i.exec(c.req.header("authorization") ?? "")?.[1];
    if (!token) return bearerError(c, "invalid_request", "A bearer access token is required");
    const claims = payloadOf(token);
    const user = ctx.users.find((u) => u.oid === claims?.oid);
    const clientId = claims?.azp;
    if (!user || typeof clientId !== "string" || !(Number(claims?.exp) > Date.now() / 1000)) {
      return bearerError(c, "invalid_token", "The access token is invalid or expired");
    }
    return c.json({
      sub: await pairwiseSubject(user.oid, clientId),
      name: user.name,
      preferred_username: user.username,
      email: user.username,
    });
  });
}
