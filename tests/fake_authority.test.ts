import { describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  DEFAULT_TENANT_ID,
  FakeAuthority,
  type FakeAuthorityOptions,
  parseAutoPostForm,
} from "../testing/mod.ts";
import { serve } from "../serve.ts";
import { decodeEntities } from "../testing/_html.ts";

const CLIENT = "11111111-2222-3333-4444-555555555555";
const ALICE = { username: "alice@contoso.com", password: "password" };
const DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code";

type Json = Record<string, unknown>;

async function withAuthority(
  options: FakeAuthorityOptions,
  test: (idp: FakeAuthority) => Promise<void>,
): Promise<void> {
  const idp = await FakeAuthority.start(options);
  try {
    await test(idp);
  } finally {
    await idp.close();
  }
}

function postForm(url: string, fields: Record<string, string>, headers: Record<string, string> = {}) {
  return fetch(url, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded", ...headers },
    body: new URLSearchParams(fields).toString(),
    redirect: "manual",
  });
}

async function token(
  idp: FakeAuthority,
  fields: Record<string, string>,
  headers?: Record<string, string>,
): Promise<{ status: number; body: Json; response: Response }> {
  const response = await postForm(`${idp.url}/common/oauth2/v2.0/token`, fields, headers);
  return { status: response.status, body: await response.json(), response };
}

function ropc(idp: FakeAuthority, scope = "User.Read openid profile offline_access", clientId = CLIENT) {
  return token(idp, { grant_type: "password", client_id: clientId, scope, ...ALICE });
}

function refresh(idp: FakeAuthority, refreshToken: string, clientId = CLIENT) {
  return token(idp, {
    grant_type: "refresh_token",
    client_id: clientId,
    refresh_token: refreshToken,
    scope: "User.Read openid profile offline_access",
  });
}

function claimsOf(jwt: string): Json {
  const part = jwt.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
  return JSON.parse(atob(part + "=".repeat((4 - part.length % 4) % 4)));
}

function base64url(bytes: Uint8Array): string {
  return btoa(String.fromCharCode(...bytes)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

async function pkcePair(): Promise<{ verifier: string; challenge: string }> {
  const verifier = base64url(crypto.getRandomValues(new Uint8Array(32)));
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier));
  return { verifier, challenge: base64url(new Uint8Array(digest)) };
}

function requestIdIn(html: string): string {
  const match = /name="request" value="([^"]+)"/.exec(html);
  assert.ok(match, "the page carries a hidden request id");
  return match[1];
}

function sessionCookie(response: Response): string {
  const header = response.headers.get("set-cookie") ?? "";
  assert.match(header, /ESTSAUTH=/);
  assert.match(header, /HttpOnly/i);
  assert.match(header, /SameSite=Lax/i);
  return header.split(";")[0];
}

const REDIRECT_URI = "http://localhost:8400";

function authorizeUrl(idp: FakeAuthority, params: Record<string, string> = {}): string {
  const query = new URLSearchParams({
    client_id: CLIENT,
    response_type: "code",
    redirect_uri: REDIRECT_URI,
    scope: "User.Read openid profile offline_access",
    state: "state-123",
    ...params,
  });
  return `${idp.url}/common/oauth2/v2.0/authorize?${query}`;
}

function getPage(url: string, cookie?: string): Promise<Response> {
  return fetch(url, { redirect: "manual", headers: cookie ? { cookie } : {} });
}

/** Opens the authorize URL, expects the sign-in page, and submits it. */
async function signIn(
  idp: FakeAuthority,
  params: Record<string, string> = {},
  credentials: { username: string; password: string } = ALICE,
): Promise<Response> {
  const page = await getPage(authorizeUrl(idp, params));
  assert.equal(page.status, 200);
  const html = await page.text();
  assert.match(html, /<title>Sign in<\/title>/);
  return await postForm(`${idp.url}/login`, { request: requestIdIn(html), ...credentials });
}

function redirectParams(response: Response): URLSearchParams {
  assert.equal(response.status, 302);
  const location = new URL(response.headers.get("location")!);
  assert.equal(location.origin, new URL(REDIRECT_URI).origin);
  return location.searchParams;
}

describe("FakeAuthority discovery", () => {
  it("answers instance discovery with its own host and aliases", async () => {
    await withAuthority({}, async (idp) => {
      const host = new URL(idp.url).host;
      const endpoint = encodeURIComponent(`${idp.url}/contoso.onmicrosoft.com/oauth2/v2.0/authorize`);
      const response = await fetch(
        `${idp.url}/common/discovery/instance?api-version=1.1&authorization_endpoint=${endpoint}`,
      );
      const body = await response.json();
      assert.equal(response.status, 200);
      assert.equal(
        body.tenant_discovery_endpoint,
        `${idp.url}/contoso.onmicrosoft.com/v2.0/.well-known/openid-configuration`,
      );
      assert.equal(body["api-version"], "1.1");
      assert.equal(body.metadata[0].preferred_network, host);
      assert.equal(body.metadata[0].preferred_cache, host);
      assert.deepEqual(body.metadata[0].aliases, [host, `localhost:${new URL(idp.url).port}`]);

      const unknown = await fetch(
        `${idp.url}/common/discovery/instance?api-version=1.1&authorization_endpoint=${
          encodeURIComponent("https://evil.example/common/oauth2/v2.0/authorize")
        }`,
      );
      assert.equal(unknown.status, 400);
      assert.equal((await unknown.json()).error, "invalid_instance");
    });
  });

  it("publishes Entra-shaped OpenID configuration for common, tenant ids and domains", async () => {
    await withAuthority({}, async (idp) => {
      const common = await (await fetch(`${idp.url}/common/v2.0/.well-known/openid-configuration`)).json();
      assert.equal(common.issuer, `${idp.url}/{tenantid}/v2.0`);
      assert.equal(common.authorization_endpoint, `${idp.url}/common/oauth2/v2.0/authorize`);
      assert.equal(common.token_endpoint, `${idp.url}/common/oauth2/v2.0/token`);
      assert.equal(common.device_authorization_endpoint, `${idp.url}/common/oauth2/v2.0/devicecode`);
      assert.equal(common.jwks_uri, `${idp.url}/common/discovery/v2.0/keys`);
      assert.ok(common.end_session_endpoint);
      assert.deepEqual(common.response_modes_supported, ["query", "fragment", "form_post"]);
      assert.deepEqual(common.id_token_signing_alg_values_supported, ["RS256"]);
      assert.deepEqual(common.code_challenge_methods_supported, ["S256"]);

      const byId =
        await (await fetch(`${idp.url}/${DEFAULT_TENANT_ID}/v2.0/.well-known/openid-configuration`))
          .json();
      assert.equal(byId.issuer, `${idp.url}/${DEFAULT_TENANT_ID}/v2.0`);
      const byDomain =
        await (await fetch(`${idp.url}/contoso.onmicrosoft.com/v2.0/.well-known/openid-configuration`))
          .json();
      assert.equal(byDomain.token_endpoint, `${idp.url}/${DEFAULT_TENANT_ID}/oauth2/v2.0/token`);

      const unknown = await fetch(`${idp.url}/not-a-tenant/v2.0/.well-known/openid-configuration`);
      assert.equal(unknown.status, 400);
      const error = await unknown.json();
      assert.equal(error.error, "invalid_tenant");
      assert.deepEqual(error.error_codes, [90002]);
    });
  });

  it("signs ID tokens with the RS256 key its JWKS publishes", async () => {
    await withAuthority({}, async (idp) => {
      const { keys } = await (await fetch(`${idp.url}/common/discovery/v2.0/keys`)).json();
      assert.equal(keys.length, 1);
      const [jwk] = keys;
      assert.equal(jwk.kty, "RSA");
      assert.equal(jwk.alg, "RS256");
      assert.equal(jwk.use, "sig");
      assert.ok(jwk.kid && jwk.n && jwk.e);

      const { body } = await ropc(idp);
      const idToken = body.id_token as string;
      const [header, payload, signature] = idToken.split(".");
      assert.equal(JSON.parse(atob(header.replace(/-/g, "+").replace(/_/g, "/"))).kid, jwk.kid);
      const key = await crypto.subtle.importKey(
        "jwk",
        { kty: jwk.kty, n: jwk.n, e: jwk.e },
        { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" },
        false,
        ["verify"],
      );
      const sig = Uint8Array.from(
        atob(signature.replace(/-/g, "+").replace(/_/g, "/") + "=".repeat((4 - signature.length % 4) % 4)),
        (c) => c.charCodeAt(0),
      );
      const data = new TextEncoder().encode(`${header}.${payload}`);
      assert.equal(await crypto.subtle.verify("RSASSA-PKCS1-v1_5", key, sig, data), true);
      const tampered = new TextEncoder().encode(`${header}.${payload}x`);
      assert.equal(await crypto.subtle.verify("RSASSA-PKCS1-v1_5", key, sig, tampered), false);
    });
  });
});

describe("FakeAuthority tokens", () => {
  it("returns Entra-shaped token responses with signed, unique tokens", async () => {
    await withAuthority({ accessTokenLifetime: 1234, refreshIn: 600 }, async (idp) => {
      const first = await ropc(idp);
      const second = await ropc(idp);
      assert.equal(first.status, 200);
      const body = first.body;
      assert.equal(body.token_type, "Bearer");
      assert.equal(body.scope, "User.Read openid profile");
      assert.equal(body.expires_in, 1234);
      assert.equal(body.ext_expires_in, 1234);
      assert.equal(body.refresh_in, 600);
      assert.equal(typeof body.refresh_token, "string");
      assert.equal(body.foci, undefined);
      assert.notEqual(body.access_token, second.body.access_token);
      assert.notEqual(body.id_token, second.body.id_token);

      const [alice] = idp.users;
      const clientInfo = JSON.parse(atob((body.client_info as string).replace(/-/g, "+").replace(/_/g, "/")));
      assert.deepEqual(clientInfo, { uid: alice.oid, utid: DEFAULT_TENANT_ID });

      const at = claimsOf(body.access_token as string);
      assert.equal(at.aud, "00000003-0000-0000-c000-000000000000");
      assert.equal(at.iss, `${idp.url}/${DEFAULT_TENANT_ID}/v2.0`);
      assert.equal(at.scp, "User.Read openid profile");
      assert.equal(at.azp, CLIENT);
      assert.equal(at.oid, alice.oid);
      assert.equal(at.tid, DEFAULT_TENANT_ID);
      assert.equal(at.preferred_username, ALICE.username);
      assert.equal((at.exp as number) - (at.iat as number), 1234);

      const id = claimsOf(body.id_token as string);
      assert.equal(id.aud, CLIENT);
      assert.equal(id.ver, "2.0");
      assert.equal(id.name, "Alice");
      assert.equal(id.preferred_username, ALICE.username);
      assert.equal(typeof id.auth_time, "number");

      const api = await ropc(idp, "api://my-api/Things.Read");
      assert.equal(claimsOf(api.body.access_token as string).aud, "api://my-api");
      assert.equal(api.body.refresh_token, undefined, "no offline_access, no refresh token");
      assert.equal(api.body.id_token, undefined, "no openid, no ID token");
    });
  });

  it("puts a user's home tenant in tokens from common and the requested tenant otherwise", async () => {
    const home = "0f0f0f0f-1111-2222-3333-444444444444";
    await withAuthority({ users: [{ ...ALICE, tenantId: home }] }, async (idp) => {
      const viaCommon = await ropc(idp, "openid");
      assert.equal(claimsOf(viaCommon.body.id_token as string).tid, home);
      const viaDomain = await postForm(`${idp.url}/contoso.onmicrosoft.com/oauth2/v2.0/token`, {
        grant_type: "password",
        client_id: CLIENT,
        scope: "openid",
        ...ALICE,
      });
      assert.equal(claimsOf((await viaDomain.json()).id_token).tid, DEFAULT_TENANT_ID);
    });
  });

  it("rejects bad credentials, non-form bodies and unknown grants with Entra-shaped errors", async () => {
    await withAuthority({}, async (idp) => {
      const wrong = await token(
        idp,
        {
          grant_type: "password",
          client_id: CLIENT,
          scope: "openid",
          username: ALICE.username,
          password: "nope",
        },
        { "client-request-id": "my-correlation-id" },
      );
      assert.equal(wrong.status, 400);
      assert.equal(wrong.body.error, "invalid_grant");
      assert.deepEqual(wrong.body.error_codes, [50126]);
      assert.equal(wrong.body.correlation_id, "my-correlation-id");
      assert.equal(wrong.response.headers.get("client-request-id"), "my-correlation-id");
      assert.match(
        wrong.body.error_description as string,
        /^AADSTS50126: .*\r\nTrace ID: .+\r\nCorrelation ID: my-correlation-id\r\nTimestamp: \d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ$/,
      );

      const json = await fetch(`${idp.url}/common/oauth2/v2.0/token`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ grant_type: "password", client_id: CLIENT }),
      });
      assert.equal(json.status, 400);
      assert.equal((await json.json()).error, "invalid_request");

      const unknown = await token(idp, { grant_type: "client_credentials", client_id: CLIENT });
      assert.equal(unknown.body.error, "unsupported_grant_type");

      const twoResources = await ropc(idp, "https://graph.microsoft.com/User.Read api://other/Read");
      assert.equal(twoResources.body.error, "invalid_scope");
    });
  });

  it("rotates refresh tokens: the old one stops working, the new one works", async () => {
    await withAuthority({}, async (idp) => {
      const rt1 = (await ropc(idp)).body.refresh_token as string;
      const second = await refresh(idp, rt1);
      assert.equal(second.status, 200);
      const rt2 = second.body.refresh_token as string;
      assert.notEqual(rt2, rt1);

      const reused = await refresh(idp, rt1);
      assert.equal(reused.status, 400);
      assert.equal(reused.body.error, "invalid_grant");
      assert.match(reused.body.error_description as string, /^AADSTS70000:/);

      assert.equal((await refresh(idp, rt2)).status, 200);
      assert.equal((await refresh(idp, "garbage")).body.error, "invalid_grant");
    });
  });

  it("revokes refresh tokens per user", async () => {
    await withAuthority({}, async (idp) => {
      const rt = (await ropc(idp)).body.refresh_token as string;
      idp.revokeRefreshTokens(ALICE.username);
      const revoked = await refresh(idp, rt);
      assert.equal(revoked.body.error, "invalid_grant");
      assert.deepEqual(revoked.body.error_codes, [50173]);
    });
  });

  it("lets family (FOCI) clients share refresh tokens and refuses others with client_mismatch", async () => {
    const teams = "1fec8e78-bce4-4aaf-ab1b-5451cc387264";
    const office = "d3590ed6-52b3-4102-aeff-aad2292ab01c";
    const outsider = "99999999-0000-0000-0000-000000000000";
    const clients = [{ clientId: teams, familyId: "1" }, { clientId: office, familyId: "1" }];
    await withAuthority({ clients }, async (idp) => {
      const first = await ropc(idp, undefined, teams);
      assert.equal(first.body.foci, "1");
      const shared = await refresh(idp, first.body.refresh_token as string, office);
      assert.equal(shared.status, 200);
      assert.equal(shared.body.foci, "1");
      assert.equal(claimsOf(shared.body.access_token as string).azp, office);

      const mismatch = await refresh(idp, shared.body.refresh_token as string, outsider);
      assert.equal(mismatch.status, 400);
      assert.equal(mismatch.body.error, "invalid_grant");
      assert.equal(mismatch.body.suberror, "client_mismatch");

      const plain = await ropc(idp, undefined, outsider);
      assert.equal(plain.body.foci, undefined);
    });
  });
});

describe("FakeAuthority device code flow", () => {
  async function startDeviceFlow(idp: FakeAuthority): Promise<Json> {
    const response = await postForm(`${idp.url}/organizations/oauth2/v2.0/devicecode`, {
      client_id: CLIENT,
      scope: "User.Read openid profile offline_access",
    });
    assert.equal(response.status, 200);
    return await response.json();
  }

  function poll(idp: FakeAuthority, deviceCode: string) {
    return token(idp, { grant_type: DEVICE_GRANT, client_id: CLIENT, device_code: deviceCode });
  }

  it("goes pending, then slow_down, then tokens once approved", async () => {
    await withAuthority({ deviceCodeInterval: 5, deviceCodeLifetime: 600 }, async (idp) => {
      const flow = await startDeviceFlow(idp);
      assert.match(flow.user_code as string, /^[A-Z0-9]{8}$/);
      assert.equal(flow.verification_uri, `${idp.url}/devicelogin`);
      assert.equal(flow.expires_in, 600);
      assert.equal(flow.interval, 5);
      assert.equal(
        flow.message,
        `To sign in, use a web browser to open the page ${idp.url}/devicelogin and enter the code ${flow.user_code} to authenticate.`,
      );

      const device = flow.device_code as string;
      const pending = await poll(idp, device);
      assert.equal(pending.body.error, "authorization_pending");
      assert.deepEqual(pending.body.error_codes, [70016]);
      assert.equal((await poll(idp, device)).body.error, "slow_down");

      idp.approveDeviceCode(flow.user_code as string, ALICE.username);
      const done = await poll(idp, device);
      assert.equal(done.status, 200);
      assert.equal(claimsOf(done.body.id_token as string).preferred_username, ALICE.username);
      assert.equal(typeof done.body.refresh_token, "string");

      assert.equal((await poll(idp, device)).body.error, "invalid_grant", "a device code is single use");
      assert.equal((await poll(idp, "unknown")).body.error, "bad_verification_code");
      assert.throws(() => idp.approveDeviceCode("NOPE1234", ALICE.username), /Unknown user code/);
    });
  });

  it("lets the user approve on the /devicelogin page", async () => {
    await withAuthority({ deviceCodeInterval: 0 }, async (idp) => {
      const flow = await startDeviceFlow(idp);
      const page = await fetch(`${idp.url}/devicelogin?otc=${flow.user_code}`);
      const html = await page.text();
      assert.match(html, /<form method="post" action="\/devicelogin">/);
      assert.ok(html.includes(`value="${flow.user_code}"`), "the code is prefilled");

      const code = (flow.user_code as string).toLowerCase();
      const wrong = await postForm(`${idp.url}/devicelogin`, {
        code,
        username: ALICE.username,
        password: "x",
      });
      assert.equal(wrong.status, 200);
      assert.match(await wrong.text(), /incorrect/);
      assert.equal((await poll(idp, flow.device_code as string)).body.error, "authorization_pending");

      const ok = await postForm(`${idp.url}/devicelogin`, { code, ...ALICE });
      assert.match(await ok.text(), /You have signed in/);
      assert.equal((await poll(idp, flow.device_code as string)).status, 200);
    });
  });

  it("reports declined and expired codes", async () => {
    await withAuthority({ deviceCodeInterval: 0 }, async (idp) => {
      const flow = await startDeviceFlow(idp);
      idp.denyDeviceCode(flow.user_code as string);
      assert.equal((await poll(idp, flow.device_code as string)).body.error, "authorization_declined");
    });
    await withAuthority({ deviceCodeLifetime: 0 }, async (idp) => {
      const flow = await startDeviceFlow(idp);
      assert.equal((await poll(idp, flow.device_code as string)).body.error, "expired_token");
    });
  });
});

describe("FakeAuthority authorization code flow", () => {
  it("redeems a PKCE-bound code once, with the right verifier only", async () => {
    await withAuthority({}, async (idp) => {
      const { verifier, challenge } = await pkcePair();
      const response = await signIn(idp, {
        code_challenge: challenge,
        code_challenge_method: "S256",
        nonce: "nonce-1",
      });
      const params = redirectParams(response);
      assert.equal(params.get("state"), "state-123");
      const code = params.get("code")!;
      const redeem = (codeVerifier: string) =>
        token(idp, {
          grant_type: "authorization_code",
          client_id: CLIENT,
          code,
          redirect_uri: REDIRECT_URI,
          code_verifier: codeVerifier,
          scope: "User.Read openid profile offline_access",
        });

      const wrong = await redeem((await pkcePair()).verifier);
      assert.equal(wrong.status, 400);
      assert.equal(wrong.body.error, "invalid_grant");

      const ok = await redeem(verifier);
      assert.equal(ok.status, 200);
      const id = claimsOf(ok.body.id_token as string);
      assert.equal(id.nonce, "nonce-1");
      assert.equal(id.preferred_username, ALICE.username);

      const again = await redeem(verifier);
      assert.equal(again.body.error, "invalid_grant");
      assert.deepEqual(again.body.error_codes, [54005]);
    });
  });

  it("shows the sign-in page again on a wrong password and honours Cancel", async () => {
    await withAuthority({}, async (idp) => {
      const page = await getPage(authorizeUrl(idp, { login_hint: ALICE.username }));
      const html = await page.text();
      assert.match(html, /id="username"[^>]*value="alice@contoso.com"/);
      assert.match(html, /id="password"/);
      assert.match(html, /id="submit"/);
      const request = requestIdIn(html);

      const wrong = await postForm(`${idp.url}/login`, {
        request,
        username: ALICE.username,
        password: "bad",
      });
      assert.equal(wrong.status, 200);
      assert.match(await wrong.text(), /incorrect/);

      const cancel = await postForm(`${idp.url}/login`, { request, action: "cancel" });
      const params = redirectParams(cancel);
      assert.equal(params.get("error"), "access_denied");
      assert.equal(params.get("state"), "state-123");
    });
  });

  it("escapes what the request carries into its pages: a hostile login_hint stays text", async () => {
    await withAuthority({}, async (idp) => {
      const hint = `"><script>alert('x')</script>&amp;`;
      const html = await (await getPage(authorizeUrl(idp, { login_hint: hint }))).text();
      assert.doesNotMatch(html, /<script>/);
      const value = html.match(/id="username"[^>]*value="([^"]*)"/)?.[1];
      assert.equal(decodeEntities(value!), hint);
    });
  });

  it("signs in once and then single-signs-on through the session cookie", async () => {
    await withAuthority({}, async (idp) => {
      const first = await signIn(idp);
      const cookie = sessionCookie(first);
      assert.ok(redirectParams(first).get("code"));

      const sso = await getPage(authorizeUrl(idp), cookie);
      assert.ok(redirectParams(sso).get("code"), "no sign-in page the second time");
      await sso.body?.cancel();

      const forced = await getPage(authorizeUrl(idp, { prompt: "login" }), cookie);
      assert.equal(forced.status, 200);
      assert.match(await forced.text(), /<title>Sign in<\/title>/);

      const tooOld = await getPage(authorizeUrl(idp, { max_age: "0" }), cookie);
      assert.equal(tooOld.status, 200);
      assert.match(await tooOld.text(), /<title>Sign in<\/title>/);

      const picker = await getPage(authorizeUrl(idp, { prompt: "select_account" }), cookie);
      const pickerHtml = await picker.text();
      assert.match(pickerHtml, /id="account-0"/);
      assert.match(pickerHtml, /Use another account/);
      const picked = await fetch(`${idp.url}/select`, {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded", cookie },
        body: new URLSearchParams({ request: requestIdIn(pickerHtml), account: "0" }),
        redirect: "manual",
      });
      assert.ok(redirectParams(picked).get("code"));

      const consent = await getPage(authorizeUrl(idp, { prompt: "consent" }), cookie);
      const consentHtml = await consent.text();
      assert.match(consentHtml, /id="accept"/);
      const accepted = await postForm(`${idp.url}/consent`, {
        request: requestIdIn(consentHtml),
        action: "accept",
      });
      assert.ok(redirectParams(accepted).get("code"));

      const none = await getPage(authorizeUrl(idp, { prompt: "none" }), cookie);
      assert.ok(redirectParams(none).get("code"));
      const other = await getPage(
        authorizeUrl(idp, { prompt: "none", login_hint: "bob@contoso.com" }),
        cookie,
      );
      assert.equal(redirectParams(other).get("error"), "interaction_required");
    });
  });

  it("ends single sign-on at the end_session_endpoint", async () => {
    await withAuthority({}, async (idp) => {
      const cookie = sessionCookie(await signIn(idp));
      const config = await (await fetch(`${idp.url}/common/v2.0/.well-known/openid-configuration`)).json();
      const logout = await getPage(
        `${config.end_session_endpoint}?post_logout_redirect_uri=${encodeURIComponent(REDIRECT_URI)}`,
        cookie,
      );
      assert.equal(logout.status, 302);
      assert.equal(new URL(logout.headers.get("location")!).origin, REDIRECT_URI);
      const after = await getPage(authorizeUrl(idp), cookie);
      assert.equal(after.status, 200);
      assert.match(await after.text(), /<title>Sign in<\/title>/);
    });
  });

  it("answers prompt=none without a session with login_required", async () => {
    await withAuthority({}, async (idp) => {
      const response = await getPage(authorizeUrl(idp, { prompt: "none" }));
      const params = redirectParams(response);
      assert.equal(params.get("error"), "login_required");
      assert.match(params.get("error_description")!, /^AADSTS50058:/);
      assert.equal(params.get("state"), "state-123");
    });
  });

  it("never redirects to an unregistered redirect URI", async () => {
    await withAuthority({}, async (idp) => {
      for (
        const hostile of [
          "https://evil.example/cb",
          "http://localhost.evil.example/",
          "http://evil.example#@localhost",
        ]
      ) {
        const response = await getPage(authorizeUrl(idp, { redirect_uri: hostile }));
        assert.equal(response.status, 400);
        assert.equal(response.headers.get("location"), null);
        assert.match(response.headers.get("content-type") ?? "", /text\/html/);
        assert.match(await response.text(), /AADSTS50011/);
      }
      const plain = await getPage(
        authorizeUrl(idp, { code_challenge: "x".repeat(43), code_challenge_method: "plain" }),
      );
      assert.equal(redirectParams(plain).get("error"), "invalid_request");
    });
  });

  it("delivers form_post responses as an auto-submitting form a test can follow", async () => {
    let received: Record<string, string> | undefined;
    const receiver = await serve(async (request) => {
      received = Object.fromEntries(new URLSearchParams(await request.text()));
      return new Response("done");
    }, { port: 0 });
    try {
      await withAuthority({}, async (idp) => {
        const redirectUri = `http://127.0.0.1:${receiver.port}/callback`;
        const response = await signIn(idp, { response_mode: "form_post", redirect_uri: redirectUri });
        assert.equal(response.status, 200);
        const html = await response.text();
        assert.match(html, /document\.forms\[0\]\.submit\(\)/);
        const form = parseAutoPostForm(html);
        assert.equal(form.action, redirectUri);
        assert.equal(form.fields.state, "state-123");
        const delivered = await fetch(form.action, {
          method: "POST",
          body: new URLSearchParams(form.fields),
        });
        assert.equal(await delivered.text(), "done");
        assert.equal(received?.code, form.fields.code);
      });
    } finally {
      await receiver.close();
    }
  });
});

describe("FakeAuthority fault injection", () => {
  it("sends an HTML page for 5xx and Retry-After for 429", async () => {
    await withAuthority({}, async (idp) => {
      idp.fail("openid_configuration", { status: 503 });
      const down = await fetch(`${idp.url}/common/v2.0/.well-known/openid-configuration`);
      assert.equal(down.status, 503);
      assert.match(down.headers.get("content-type") ?? "", /text\/html/);
      assert.match(await down.text(), /<html/);

      const recovered = await fetch(`${idp.url}/common/v2.0/.well-known/openid-configuration`);
      assert.equal(recovered.status, 200, "a fault applies once by default");
      await recovered.body?.cancel();

      idp.fail("token", { status: 429, retryAfter: 7 });
      const throttled = await ropc(idp);
      assert.equal(throttled.status, 429);
      assert.equal(throttled.response.headers.get("retry-after"), "7");
    });
  });

  it("fails one grant type without touching the others", async () => {
    await withAuthority({}, async (idp) => {
      const rt = (await ropc(idp)).body.refresh_token as string;
      idp.failGrant("refresh_token", { error: "invalid_grant" }, 2);
      assert.equal((await ropc(idp)).status, 200);
      const failed = await refresh(idp, rt);
      assert.equal(failed.body.error, "invalid_grant");
      assert.deepEqual(failed.body.error_codes, [70000]);
      assert.equal((await refresh(idp, rt)).body.error, "invalid_grant");
      assert.equal((await refresh(idp, rt)).status, 200, "the injected faults did not rotate the token");
    });
  });

  it("returns interaction_required with claims and suberror", async () => {
    await withAuthority({}, async (idp) => {
      const claims = '{"access_token":{"capolids":{"essential":true,"values":["c1"]}}}';
      idp.fail("token", {
        error: "interaction_required",
        errorDescription: "AADSTS50076: MFA required.",
        claims,
        suberror: "basic_action",
      });
      const result = await ropc(idp);
      assert.equal(result.status, 400);
      assert.equal(result.body.error, "interaction_required");
      assert.equal(result.body.claims, claims);
      assert.equal(result.body.suberror, "basic_action");
      assert.deepEqual(result.body.error_codes, [50076]);
      assert.match(result.body.error_description as string, /^AADSTS50076: MFA required\.\r\nTrace ID:/);
    });
  });

  it("delays answers and sends raw bodies", async () => {
    await withAuthority({}, async (idp) => {
      idp.fail("jwks", { delayMs: 20 });
      const delayed = await fetch(`${idp.url}/common/discovery/v2.0/keys`);
      assert.equal(delayed.status, 200);
      assert.equal((await delayed.json()).keys.length, 1);

      idp.fail("devicecode", { rawBody: "{not json", status: 200 });
      const raw = await postForm(`${idp.url}/common/oauth2/v2.0/devicecode`, {
        client_id: CLIENT,
        scope: "openid",
      });
      const text = await raw.text();
      assert.equal(text, "{not json");
      assert.throws(() => JSON.parse(text));
    });
  });

  it("redirects an injected authorize error to the client and lets close() end pending delays", async () => {
    const idp = await FakeAuthority.start();
    idp.fail("authorize", { error: "access_denied" });
    const denied = await getPage(authorizeUrl(idp));
    assert.equal(redirectParams(denied).get("error"), "access_denied");

    idp.fail("token", { delayMs: 600_000 }, Infinity);
    const stuck = ropc(idp).then(() => "answered", () => "failed");
    while (idp.requestsTo("token").length === 0) await new Promise((resolve) => setTimeout(resolve, 5));
    await idp.close();
    assert.ok(["answered", "failed"].includes(await stuck));
  });
});

describe("FakeAuthority plumbing", () => {
  it("poses as a public origin through its fetch", async () => {
    await withAuthority({ origin: "https://login.microsoftonline.com" }, async (idp) => {
      assert.equal(idp.origin, "https://login.microsoftonline.com");
      assert.equal(idp.authority(), "https://login.microsoftonline.com/common");
      assert.match(idp.url, /^http:\/\/127\.0\.0\.1:\d+$/);

      const discovery = await idp.fetch(
        "https://login.microsoftonline.com/common/discovery/instance?api-version=1.1&authorization_endpoint=" +
          encodeURIComponent("https://login.microsoftonline.com/common/oauth2/v2.0/authorize"),
      );
      const body = await discovery.json();
      assert.equal(body.metadata[0].preferred_network, "login.microsoftonline.com");
      assert.equal(body.metadata[0].preferred_cache, "login.windows.net", "Entra's public cloud metadata");
      assert.ok(body.metadata[0].aliases.includes("login.windows.net"));

      const config = await (await idp.fetch(body.tenant_discovery_endpoint)).json();
      assert.equal(config.token_endpoint, "https://login.microsoftonline.com/common/oauth2/v2.0/token");

      const response = await idp.fetch(config.token_endpoint, {
        method: "POST",
        body: new URLSearchParams({ grant_type: "password", client_id: CLIENT, scope: "openid", ...ALICE }),
      });
      const tokens = await response.json();
      assert.equal(
        claimsOf(tokens.id_token).iss,
        `https://login.microsoftonline.com/${DEFAULT_TENANT_ID}/v2.0`,
      );
      assert.equal(idp.requestsTo("token").length, 1);
      assert.equal(idp.requestsTo("token")[0].form.grant_type, "password");

      const alias = await idp.fetch("https://login.windows.net/common/discovery/v2.0/keys");
      assert.equal(alias.status, 200, "the cloud's other hosts reach the fake too");
      await alias.body?.cancel();

      const elsewhere = await serve(() => new Response("not the fake"), { port: 0 });
      try {
        const passed = await idp.fetch(`http://127.0.0.1:${elsewhere.port}/common/discovery/v2.0/keys`);
        assert.equal(await passed.text(), "not the fake");
      } finally {
        await elsewhere.close();
      }
    });
  });

  it("records every request with its query, form and lower-case headers", async () => {
    await withAuthority({}, async (idp) => {
      await (await fetch(`${idp.url}/common/discovery/instance?api-version=1.1`)).body?.cancel();
      await ropc(idp);
      await (await fetch(`${idp.url}/nowhere`)).body?.cancel();
      assert.deepEqual(idp.requests.map((r) => r.endpoint), ["instance_discovery", "token", "other"]);
      const [discovery, tokenRequest] = idp.requests;
      assert.equal(discovery.query["api-version"], "1.1");
      assert.equal(discovery.method, "GET");
      assert.equal(tokenRequest.path, "/common/oauth2/v2.0/token");
      assert.equal(tokenRequest.form.username, ALICE.username);
      assert.equal(tokenRequest.headers["content-type"], "application/x-www-form-urlencoded");
      assert.equal(typeof tokenRequest.at, "number");

      const kept = idp.requests;
      idp.clearRequests();
      assert.equal(idp.requests.length, 0);
      assert.equal(kept.length, 3);
    });
  });

  it("frees its port on close()", async () => {
    const first = await FakeAuthority.start();
    const port = Number(new URL(first.url).port);
    await first.close();
    const second = await FakeAuthority.start({ port });
    try {
      assert.equal(second.url, `http://127.0.0.1:${port}`);
      const response = await fetch(`${second.url}/common/discovery/v2.0/keys`);
      assert.equal(response.status, 200);
      await response.body?.cancel();
    } finally {
      await second.close();
    }
  });
});
