// The device code flow's two faces: the devicecode endpoint the app calls, and the /devicelogin page
// where the user types the code and signs in.

import type { Hono } from "hono";
import type { AuthorityContext, Ctx, HonoEnv } from "./_context.ts";
import { entraError, missingParameter } from "./_errors.ts";
import { unknownTenant } from "./_discovery.ts";
import { deviceLoginPage, messagePage } from "./_pages.ts";
import { parseScopes } from "./_scopes.ts";
import { type DeviceCodeRecord, randomToken, randomUserCode, type ResolvedUser } from "./_state.ts";
import { invalidScope } from "./_token.ts";

/** Marks a device code as approved by `user`, signed in now. */
export function approve(record: DeviceCodeRecord, user: ResolvedUser): void {
  record.status = "approved";
  record.username = user.username;
  record.authTime = Math.floor(Date.now() / 1000);
}

/** Registers the devicecode endpoint and the /devicelogin page on `app`. */
export function registerDeviceCode(app: Hono<HonoEnv>, ctx: AuthorityContext): void {
  app.all("/:tenant/oauth2/v2.0/devicecode", (c) => {
    if (c.req.method !== "POST") {
      return entraError(c, {
        error: "invalid_request",
        description:
          `AADSTS900561: The endpoint only accepts POST, OPTIONS requests. Received a ${c.req.method} request.`,
      });
    }
    const unknown = unknownTenant(c, ctx, c.req.param("tenant"));
    if (unknown) return unknown;
    const form = c.get("recorded").form;
    if (!form.client_id) return missingParameter(c, "client_id");
    if (!form.scope) return missingParameter(c, "scope");
    const scopes = parseScopes(form.scope);
    const badScope = invalidScope(c, scopes);
    if (badScope) return badScope;

    const { deviceCodeInterval: interval, deviceCodeLifetime: lifetime } = ctx.config;
    const record: DeviceCodeRecord = {
      deviceCode: `DAQABAAEAAA${randomToken(96)}`,
      userCode: randomUserCode(),
      clientId: form.client_id,
      scopes,
      expiresAt: Date.now() + lifetime * 1000,
      interval,
      status: "pending",
    };
    ctx.state.deviceCodes.set(record.deviceCode, record);
    const verificationUri = `${ctx.origin}/devicelogin`;
    return c.json({
      user_code: record.userCode,
      device_code: record.deviceCode,
      verification_uri: verificationUri,
      expires_in: lifetime,
      interval,
      message:
        `To sign in, use a web browser to open the page ${verificationUri} and enter the code ${record.userCode} to authenticate.`,
    });
  });

  app.get("/devicelogin", (c) => c.html(deviceLoginPage({ code: c.req.query("otc") })));

  app.post("/devicelogin", (c) => deviceLogin(c, ctx));
}

function deviceLogin(c: Ctx, ctx: AuthorityContext): Response {
  const form = c.get("recorded").form;
  const code = form.code ?? "";
  const username = form.username ?? "";
  const again = (error: string) => c.html(deviceLoginPage({ code, username, error }));
  const record = ctx.state.deviceCodeByUserCode(code);
  if (!record) return again("That code didn't work. Check the code and try again.");
  if (Date.now() >= record.expiresAt) {
    return again("That code has expired. Go back to your device and try again.");
  }
  if (record.status !== "pending") {
    return again("That code was already used. Go back to your device and try again.");
  }
  if (form.action === "cancel") {
    record.status = "denied";
    return c.html(
      messagePage("Sign-in canceled", "You canceled the sign-in. You may now close this window."),
    );
  }
  const user = ctx.findUser(username);
  if (!user || user.password !== form.password) return again("Your account or password is incorrect.");
  approve(record, user);
  return c.html(
    messagePage(
      "You're signed in",
      "You have signed in to the application on your device. You may now close this window.",
    ),
  );
}
