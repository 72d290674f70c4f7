import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { base64UrlDecode, base64UrlEncode } from "../core/_base64url.ts";
import { challengeFor, createPkce, randomToken } from "../flows/pkce.ts";
import { InvalidInputError } from "../core/errors.ts";

describe("PKCE", () => {
  it("computes the RFC 7636 Appendix B challenge", async () => {
    assert.equal(
      await challengeFor("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
      "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
    );
  });

  it("creates a verifier the server will accept and its matching S256 challenge", async () => {
    const pkce = await createPkce();
    assert.equal(pkce.method, "S256");
    assert.match(pkce.verifier, /^[A-Za-z0-9_-]{43,128}$/);
    assert.equal(pkce.challenge, await challengeFor(pkce.verifier));
  });

  it("creates a different verifier every time", async () => {
    const [a, b] = await Promise.all([createPkce(), createPkce()]);
    assert.notEqual(a.verifier, b.verifier);
  });
});

describe("randomToken", () => {
  it("returns URL-safe, unique tokens of the requested entropy", () => {
    const token = randomToken();
    assert.match(token, /^[A-Za-z0-9_-]{43}$/);
    assert.notEqual(token, randomToken());
    assert.equal(base64UrlDecode(randomToken(16)).length, 16);
  });
});

describe("base64url", () => {
  it("uses the URL-safe alphabet without padding", () => {
    assert.equal(base64UrlEncode(new Uint8Array([251, 255])), "-_8");
    assert.equal(base64UrlEncode(new Uint8Array([])), "");
    assert.equal(base64UrlEncode(new TextEncoder().encode("a")), "YQ");
  });

  it("round-trips every byte value and large inputs", () => {
    const bytes = new Uint8Array(100_000).map((_, i) => i % 256);
    assert.deepEqual(base64UrlDecode(base64UrlEncode(bytes)), bytes);
  });

  it("decodes with or without padding", () => {
    assert.deepEqual(base64UrlDecode("YQ"), new Uint8Array([97]));
    assert.deepEqual(base64UrlDecode("YQ=="), new Uint8Array([97]));
    assert.deepEqual(base64UrlDecode("-_8"), new Uint8Array([251, 255]));
  });

  it("rejects text that is not base64url", () => {
    for (const bad of ["a+b/", "YQ=x", "abcde", "a b", "!!"]) {
      assert.throws(() => base64UrlDecode(bad), InvalidInputError, bad);
    }
  });
});
