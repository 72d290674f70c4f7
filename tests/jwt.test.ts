import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { base64UrlDecodeToString, decodeClientInfo, decodeIdToken, decodeJwtPayload } from "../core/jwt.ts";
import { InvalidInputError } from "../core/errors.ts";

function b64url(text: string): string {
  const bytes = new TextEncoder().encode(text);
  let binary = "";
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

function jwt(claims: Record<string, unknown>): string {
  return `${b64url(JSON.stringify({ alg: "none" }))}.${b64url(JSON.stringify(claims))}.sig`;
}

describe("decodeIdToken", () => {
  it("returns the claims MSAL relies on", () => {
    const claims = decodeIdToken(jwt({ oid: "oid-1", tid: "tid-1", preferred_username: "ana@contoso.com" }));
    assert.equal(claims.oid, "oid-1");
    assert.equal(claims.tid, "tid-1");
    assert.equal(claims.preferred_username, "ana@contoso.com");
  });

  it("decodes non-ASCII names (UTF-8) and base64url characters", () => {
    // "ü?>" makes base64 produce '-' and '_' in the url-safe alphabet.
    const claims = decodeIdToken(jwt({ name: "Jürgen Ölçer ü?>ü?>", emoji: "🔐" }));
    assert.equal(claims.name, "Jürgen Ölçer ü?>ü?>");
    assert.equal(claims.emoji, "🔐");
  });

  it("accepts standard padded base64 payloads, as MSAL Python's test tokens use", () => {
    const payload = btoa(JSON.stringify({ sub: "subject", upn: "JaneDoe@example.com" }));
    assert.equal(decodeIdToken(`header.${payload}.signature`).upn, "JaneDoe@example.com");
  });
});

describe("decodeJwtPayload", () => {
  const secretLooking = "eyJhbGciOiJub25lIn0.c2VjcmV0LXZhbHVl.sig"; // payload is "secret-value", not JSON

  for (
    const [what, token] of [
      ["one part", "abc"],
      ["two parts", "abc.def"],
      ["an empty payload", "a..c"],
      ["a payload that is not base64", "a.!!!*.c"],
      ["a payload that is not JSON", secretLooking],
      ["a JSON array payload", `a.${b64url("[1,2]")}.c`],
      ["a JSON null payload", `a.${b64url("null")}.c`],
    ]
  ) {
    it(`rejects ${what} with InvalidInputError that does not echo the token`, () => {
      assert.throws(() => decodeJwtPayload(token), (error: unknown) => {
        assert.ok(error instanceof InvalidInputError);
        assert.equal(error.code, "invalid_input");
        assert.ok(!error.message.includes(token), "message must not contain the token");
        assert.ok(!error.message.includes("secret-value"));
        return true;
      });
    });
  }
});

describe("decodeClientInfo", () => {
  it("returns uid and utid", () => {
    assert.deepEqual(decodeClientInfo(b64url(JSON.stringify({ uid: "u1", utid: "t1", extra: 1 }))), {
      uid: "u1",
      utid: "t1",
    });
  });

  it("rejects client_info without uid/utid, non-JSON and non-base64 input", () => {
    for (const bad of [b64url(JSON.stringify({ uid: "u1" })), b64url("nope"), "%%%", b64url("[]")]) {
      assert.throws(() => decodeClientInfo(bad), InvalidInputError);
    }
  });
});

describe("base64UrlDecodeToString", () => {
  it("decodes with or without padding", () => {
    assert.equal(base64UrlDecodeToString("YQ"), "a");
    assert.equal(base64UrlDecodeToString("YQ=="), "a");
    assert.equal(base64UrlDecodeToString(b64url("héllo wörld")), "héllo wörld");
  });

  it("rejects invalid UTF-8 and impossible lengths", () => {
    assert.throws(() => base64UrlDecodeToString("_w"), InvalidInputError); // 0xFF
    assert.throws(() => base64UrlDecodeToString("abcde"), InvalidInputError);
  });
});
