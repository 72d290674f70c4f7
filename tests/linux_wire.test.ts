// The Linux broker's JSON: requests shaped like Microsoft's runtime's (spec §11), replies of both broker
// generations, and a decoder that never throws, whatever the broker sends.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  brokerVersionRequest,
  decodeAccounts,
  decodeBrokerVersion,
  decodePrtSsoCookie,
  decodeRemoveAccount,
  decodeSignedHttpRequest,
  decodeToken,
  getAccountsRequest,
  interactiveTokenRequest,
  type LinuxBrokerAccount,
  prtSsoCookieRequest,
  removeAccountRequest,
  signedHttpRequestRequest,
  silentTokenRequest,
} from "../brokers/_linux_wire.ts";
import { CLIENT_ID } from "./_helpers.ts";

const NATIVE = "https://login.microsoftonline.com/common/oauth2/nativeclient";
// A real 2.0.1 account carries all these, some of which no client models.
const ACCOUNT: LinuxBrokerAccount = {
  alternativeAccountId: "",
  clientInfo: "eyJ1aWQiOiJvaWQiLCJ1dGlkIjoidGlkIn0",
  environment: "login.windows.net",
  familyName: "Lovelace",
  givenName: "Ada",
  homeAccountId: "3c2d-oid.72f9-tid",
  homeEnvironment: "login.windows.net",
  localAccountId: "3c2d-oid",
  middleName: "",
  name: "Lovelace, Ada",
  passwordChangeUrl: "",
  passwordExpiry: 0,
  realm: "72f9-tid",
  username: "ada@contoso.com",
  someFutureField: { nested: [1, 2] },
};

const authParams = (request: Record<string, unknown>) => request.authParameters as Record<string, unknown>;

describe("Linux broker requests, as Microsoft's runtime sends them", () => {
  it("getAccounts: the client id, also as redirectUri", () => {
    assert.deepEqual(getAccountsRequest(CLIENT_ID), { clientId: CLIENT_ID, redirectUri: CLIENT_ID });
  });

  it("acquireTokenSilently for an account: type 1, the account sent back unchanged, its username", () => {
    const request = silentTokenRequest({
      clientId: CLIENT_ID,
      authority: "https://login.microsoftonline.com/72f9-tid",
      scopes: ["User.Read", "offline_access"],
      claims: '{"access_token":{"xms_cc":{"values":["cp1"]}}}',
      account: ACCOUNT,
    });
    assert.deepEqual(Object.keys(request), ["authParameters"]);
    const params = authParams(request);
    assert.deepEqual(JSON.parse(JSON.stringify(params.account)), JSON.parse(JSON.stringify(ACCOUNT)));
    assert.deepEqual(params, {
      accessTokenToRenew: "",
      account: ACCOUNT,
      additionalQueryParametersForAuthorization: params.additionalQueryParametersForAuthorization,
      authority: "https://login.microsoftonline.com/72f9-tid",
      authorizationType: 1,
      clientId: CLIENT_ID,
      decodedClaims: '{"access_token":{"xms_cc":{"values":["cp1"]}}}',
      enrollmentId: "",
      isTestMode: false,
      password: "",
      popParams: null,
      redirectUri: NATIVE,
      requestedScopes: ["User.Read", "offline_access"],
      username: "ada@contoso.com",
      uxContextHandle: -1,
    });
    assert.equal(
      typeof (params.additionalQueryParametersForAuthorization as Record<string, string>)[
        "x-client-xtra-sku"
      ],
      "string",
    );
  });

  it("acquireTokenSilently without an account: a sign-in of the default account", () => {
    const params = authParams(silentTokenRequest({ clientId: CLIENT_ID, scopes: ["User.Read"] }));
    assert.equal(params.isSignIn, true);
    assert.equal(params.account, null);
    assert.equal(params.username, "");
    assert.equal(params.authority, "https://login.microsoftonline.com/common");
    assert.deepEqual(params.requestedScopes, ["User.Read"]);
    assert.equal(params.decodedClaims, "");
  });

  it("PoP parameters in popParams", () => {
    const params = authParams(silentTokenRequest({
      clientId: CLIENT_ID,
      scopes: ["User.Read"],
      pop: { httpMethod: "GET", uriHost: "contoso.com", uriPath: "/api", nonce: "n0nce" },
    }));
    assert.deepEqual(params.popParams, {
      clientClaims: "",
      homeAccountId: "",
      httpMethod: "GET",
      nonce: "n0nce",
      uriHost: "contoso.com",
      uriPath: "/api",
    });
  });

  it("acquireTokenInteractively: type 6, the parent window twice, the login hint as username", () => {
    const request = interactiveTokenRequest(
      { clientId: CLIENT_ID, scopes: ["User.Read"], username: "ada@contoso.com" },
      1,
    );
    assert.equal(request.parentWindowHandle, 1);
    const params = authParams(request);
    assert.equal(params.authorizationType, 6);
    assert.deepEqual(params.parentWindow, { handle: 1 });
    assert.equal(params.isSignIn, true);
    assert.equal(params.account, null);
    assert.equal(params.username, "ada@contoso.com");
  });

  it("acquireTokenInteractively for an account: hsu=1, no isSignIn", () => {
    const params = authParams(
      interactiveTokenRequest({ clientId: CLIENT_ID, scopes: ["User.Read"], account: ACCOUNT }, 7),
    );
    assert.equal(params.authorizationType, 6);
    assert.equal(params.account, ACCOUNT);
    assert.equal((params.additionalQueryParametersForAuthorization as Record<string, string>).hsu, "1");
    assert.equal("isSignIn" in params, false);
  });

  it("acquirePrtSsoCookie: type 8, ssoUrl and account at the top and in authParameters", () => {
    const request = prtSsoCookieRequest(
      { clientId: CLIENT_ID, scopes: ["https://graph.microsoft.com/.default"], account: ACCOUNT },
      "https://login.microsoftonline.com/",
    );
    assert.equal(request.ssoUrl, "https://login.microsoftonline.com/");
    assert.equal(request.account, ACCOUNT);
    assert.equal(request.mamEnrollment, false);
    const params = authParams(request);
    assert.equal(params.authorizationType, 8);
    assert.equal(params.ssoUrl, "https://login.microsoftonline.com/");
    assert.equal(params.account, ACCOUNT);
    assert.equal(params.username, "ada@contoso.com");
  });

  it("generateSignedHttpRequest, removeAccount, getLinuxBrokerVersion", () => {
    const pop = { httpMethod: "POST", uriHost: "api.contoso.com", uriPath: "/orders", nonce: "abc" };
    assert.deepEqual(signedHttpRequestRequest(CLIENT_ID, ACCOUNT, pop), {
      clientId: CLIENT_ID,
      popParams: { ...pop, clientClaims: "", homeAccountId: ACCOUNT.homeAccountId },
    });
    assert.deepEqual(removeAccountRequest(CLIENT_ID, ACCOUNT), { clientId: CLIENT_ID, account: ACCOUNT });
    assert.equal(typeof brokerVersionRequest().msalCppVersion, "string");
  });
});

const EXPIRES_MS = 1787860282000;
const v2Token = JSON.stringify({
  brokerTokenResponse: {
    accessToken: "eyJ0.at",
    accessTokenType: 0,
    clientInfo: "eyJ1aWQ",
    expiresOn: EXPIRES_MS,
    extendedExpiresOn: EXPIRES_MS + 3600000,
    grantedScopes: "https://graph.microsoft.com/User.Read https://graph.microsoft.com/.default",
    idToken: "eyJ0.id",
    account: ACCOUNT,
    somethingNew: true,
  },
  telemetry: { broker_version: "2.0.1" },
});

describe("Linux broker replies of both generations", () => {
  it("a 2.0.1 token reply: the account, space-separated scopes, expiresOn in ms, telemetry ignored", () => {
    const token = decodeToken(v2Token);
    assert.ok(token.ok);
    assert.equal(token.accessToken, "eyJ0.at");
    assert.equal(token.tokenType, "Bearer");
    assert.equal(token.expiresOn, EXPIRES_MS);
    assert.deepEqual(token.grantedScopes, [
      "https://graph.microsoft.com/User.Read",
      "https://graph.microsoft.com/.default",
    ]);
    assert.equal(token.idToken, "eyJ0.id");
    assert.equal(token.clientInfo, "eyJ1aWQ");
    assert.deepEqual(token.account, ACCOUNT);
  });

  it("a 3.x token reply: no account, scopes as an array, a PoP token type", () => {
    const token = decodeToken(JSON.stringify({
      brokerTokenResponse: {
        accessToken: "at",
        accessTokenType: 1,
        expiresOn: EXPIRES_MS,
        grantedScopes: ["User.Read", 3, ""],
        refreshToken: "",
      },
    }));
    assert.ok(token.ok);
    assert.equal(token.account, undefined);
    assert.equal(token.tokenType, "pop");
    assert.deepEqual(token.grantedScopes, ["User.Read"]);
  });

  it("expiresOn in seconds, which some broker re-implementations send, is read as seconds", () => {
    const token = decodeToken(
      JSON.stringify({ brokerTokenResponse: { accessToken: "at", expiresOn: 1787860282 } }),
    );
    assert.ok(token.ok);
    assert.equal(token.expiresOn, EXPIRES_MS);
  });

  it("errors in brokerTokenResponse.error, classified by status, with everything kept", () => {
    const cases: [number, string, string][] = [
      [2, "InteractionRequired", "interaction_required"],
      [13, "AccountUnusable", "interaction_required"],
      [7, "UserCanceled", "user_canceled"],
      [8, "ApplicationCanceled", "user_canceled"],
      [3, "NoNetwork", "network"],
      [4, "NetworkTemporarilyUnavailable", "network"],
      [5, "ServerTemporarilyUnavailable", "network"],
      [0, "Unexpected", "broker_error"],
      [6, "ApiContractViolation", "broker_error"],
      [42, "Status42", "broker_error"],
    ];
    for (const [status, name, kind] of cases) {
      const reply = JSON.stringify({
        // 2.0.1 sends these beside the error; they must not turn it into a token.
        brokerTokenResponse: {
          accessTokenType: 0,
          expiresOn: 0,
          error: {
            context: "AADSTS50076 MFA",
            diagnostics: null,
            errorCode: 50076,
            status,
            subStatus: 6,
            tag: 595719680,
          },
          subError: "",
        },
        telemetry: { api_status_code: "StatusInternal::InteractionRequired" },
      });
      const error = decodeToken(reply);
      assert.equal(error.ok, false);
      assert.deepEqual(error, {
        ok: false,
        kind,
        status: name,
        statusCode: status,
        subStatus: 6,
        errorCode: 50076,
        tag: 595719680,
        context: "AADSTS50076 MFA",
      });
    }
  });

  it("a top-level error for any method", () => {
    const reply = JSON.stringify({
      error: { context: "Invalid requestJson", errorCode: 0, status: 0, subStatus: 0, tag: 508371229 },
    });
    for (
      const decode of [
        decodeAccounts,
        decodeToken,
        decodePrtSsoCookie,
        decodeBrokerVersion,
        decodeSignedHttpRequest,
      ]
    ) {
      const error = decode(reply) as { ok: false; tag: number; context: string };
      assert.equal(error.ok, false);
      assert.equal(error.tag, 508371229);
      assert.equal(error.context, "Invalid requestJson");
    }
    assert.equal(decodeRemoveAccount(reply)?.tag, 508371229);
    assert.equal(decodeRemoveAccount(JSON.stringify({ telemetry: {} })), undefined);
  });

  it("accounts: listed, entries without an id skipped, unknown fields kept for sending back", () => {
    const accounts = decodeAccounts(JSON.stringify({
      accounts: [ACCOUNT, { username: "no-id@contoso.com" }, "junk", null],
      telemetry: {},
    }));
    assert.deepEqual(accounts, [ACCOUNT]);
    assert.deepEqual(decodeAccounts('{"accounts":[]}'), []);
  });

  it("the PRT SSO cookie, flat (2.0.1) or in cookieItems (later)", () => {
    const flat = decodePrtSsoCookie(JSON.stringify({
      account: ACCOUNT,
      cookieContent: "eyJjb29raWU",
      cookieName: "x-ms-RefreshTokenCredential",
      telemetry: { broker_version: "2.0.1" },
    }));
    const items = decodePrtSsoCookie(JSON.stringify({
      cookieItems: [{ cookieName: "x-ms-RefreshTokenCredential", cookieContent: "eyJjb29raWU" }],
    }));
    for (const cookie of [flat, items]) {
      assert.deepEqual(cookie, {
        ok: true,
        cookieName: "x-ms-RefreshTokenCredential",
        cookieContent: "eyJjb29raWU",
      });
    }
    assert.equal(decodePrtSsoCookie('{"cookieItems":[]}').ok, false);
  });

  it("version and signed HTTP request", () => {
    assert.deepEqual(decodeBrokerVersion('{"linuxBrokerVersion":"3.0.2","telemetry":{}}'), {
      ok: true,
      version: "3.0.2",
    });
    assert.deepEqual(decodeSignedHttpRequest('{"signedHttpRequest":"eyJzaHI"}'), {
      ok: true,
      signedHttpRequest: "eyJzaHI",
    });
  });

  it("malformed replies are typed broker errors", () => {
    for (
      const reply of [
        "",
        "not json",
        "[]",
        "null",
        "42",
        "{}",
        '{"brokerTokenResponse":{}}',
        '{"brokerTokenResponse":{"accessToken":"","expiresOn":1}}',
        '{"brokerTokenResponse":{"accessToken":"at"}}',
        '{"brokerTokenResponse":{"accessToken":"at","expiresOn":"soon"}}',
        '{"brokerTokenResponse":[]}',
      ]
    ) {
      const error = decodeToken(reply);
      assert.equal(error.ok, false, reply);
      assert.equal(!error.ok && error.status, "MalformedReply", reply);
      assert.equal(!error.ok && error.kind, "broker_error", reply);
    }
    for (const reply of ["{", '{"accounts":{}}', '{"accounts":null}', "[1]"]) {
      const accounts = decodeAccounts(reply);
      assert.ok(!Array.isArray(accounts) && accounts.status === "MalformedReply", reply);
    }
  });
});

describe("Linux broker reply decoder under fuzzing: never throws", () => {
  // Deterministic, so a failure can be replayed.
  let seed = 0x2545f491;
  const random = (): number => {
    seed ^= seed << 13;
    seed ^= seed >>> 17;
    seed ^= seed << 5;
    return (seed >>> 0) / 0x100000000;
  };
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)];
  const KEYS = [
    "brokerTokenResponse",
    "accessToken",
    "expiresOn",
    "grantedScopes",
    "account",
    "error",
    "status",
    "tag",
    "accounts",
    "cookieItems",
    "cookieName",
    "cookieContent",
    "homeAccountId",
    "linuxBrokerVersion",
    "signedHttpRequest",
    "__proto__",
    "constructor",
    "toString",
    "idToken",
    "clientInfo",
    "accessTokenType",
    "subStatus",
    "context",
  ];
  const value = (depth: number): unknown => {
    switch (Math.floor(random() * (depth > 3 ? 6 : 8))) {
      case 0:
        return null;
      case 1:
        return random() < 0.5;
      case 2:
        return pick([0, -1, 2, 7, 13, 1e308, -0, 1.5, EXPIRES_MS, Number.MAX_SAFE_INTEGER + 2]);
      case 3:
        return pick(["", "x", "User.Read openid", "2", "\u0000", "🔑", "-3", " 5 "]);
      case 4:
        return pick(["eyJ0", "not.a.jwt", "{}", "[]"]);
      case 5:
        return undefined;
      case 6:
        return Array.from({ length: Math.floor(random() * 4) }, () => value(depth + 1));
      default: {
        const object: Record<string, unknown> = {};
        for (let i = Math.floor(random() * 5); i > 0; i--) object[pick(KEYS)] = value(depth + 1);
        return object;
      }
    }
  };
  const mutate = (text: string): string => {
    const chars = [...text];
    for (let i = Math.floor(random() * 4) + 1; i > 0; i--) {
      const at = Math.floor(random() * chars.length);
      const op = Math.floor(random() * 3);
      if (op === 0) chars.splice(at, 1);
      else if (op === 1) chars.splice(at, 0, pick(['"', "{", "}", "[", "]", ",", ":", "0", "e", "\\", "n"]));
      else chars.splice(at, Math.floor(random() * 8));
    }
    return chars.join("");
  };
  const seeds = [
    v2Token,
    '{"accounts":[{"homeAccountId":"a.b","username":"u"}]}',
    '{"cookieItems":[{"cookieName":"n","cookieContent":"c"}]}',
    '{"brokerTokenResponse":{"error":{"status":2,"tag":1,"context":"c"}}}',
    '{"linuxBrokerVersion":"3.0.2"}',
  ];
  const decoders: ((reply: unknown) => unknown)[] = [
    decodeAccounts,
    decodeToken,
    decodePrtSsoCookie,
    decodeSignedHttpRequest,
    decodeBrokerVersion,
    decodeRemoveAccount,
  ];

  it("random JSON values, random text and mutated real replies", () => {
    const inputs: unknown[] = [undefined, null, 42, {}, ["x"]];
    for (let i = 0; i < 1500; i++) {
      inputs.push(JSON.stringify(value(0)) ?? "undefined");
      inputs.push(JSON.stringify({ brokerTokenResponse: value(1) }));
      inputs.push(mutate(pick(seeds)));
    }
    for (const input of inputs) {
      for (const decode of decoders) {
        let result: unknown;
        assert.doesNotThrow(() => (result = decode(input)), String(input));
        if (result === undefined) continue; // removeAccount's success
        if (Array.isArray(result)) continue; // accounts
        const outcome = result as { ok: boolean; status?: unknown; context?: unknown };
        assert.equal(typeof outcome.ok, "boolean", String(input));
        if (!outcome.ok) {
          assert.equal(typeof outcome.status, "string", String(input));
          assert.equal(typeof outcome.context, "string", String(input));
        }
      }
    }
  });
});
