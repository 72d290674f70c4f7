import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { ConfigurationError } from "../core/errors.ts";
import { decorateScopes, mergeClaims, validateScopes } from "../core/scopes.ts";

describe("scopes", () => {
  it("adds the OIDC scopes on the wire, once", () => {
    assert.equal(decorateScopes(["User.Read", "profile"]), "User.Read profile openid offline_access");
  });

  it("refuses a string where an array belongs", () => {
    assert.throws(() => validateScopes("User.Read"), ConfigurationError);
    assert.throws(() => validateScopes([42]), ConfigurationError);
  });

  it("drops duplicates", () => {
    assert.deepEqual(validateScopes(["a", "b", "a"]), ["a", "b"]);
  });
});

describe("mergeClaims (MSAL Python's _merge_claims_challenge_and_capabilities)", () => {
  it("returns the challenge alone without capabilities, and nothing for nothing", () => {
    assert.equal(mergeClaims(undefined, '{"id_token":{}}'), '{"id_token":{}}');
    assert.equal(mergeClaims([], undefined), undefined);
  });

  it("puts capabilities under access_token.xms_cc", () => {
    assert.deepEqual(JSON.parse(mergeClaims(["CP1"])!), { access_token: { xms_cc: { values: ["CP1"] } } });
  });

  it("keeps the challenge's own access_token claims beside the capabilities", () => {
    const merged = mergeClaims(
      ["CP1", "CP2"],
      '{"access_token":{"acrs":{"essential":true,"value":"c1"}},"x":1}',
    );
    assert.deepEqual(JSON.parse(merged!), {
      access_token: { acrs: { essential: true, value: "c1" }, xms_cc: { values: ["CP1", "CP2"] } },
      x: 1,
    });
  });

  it("refuses a challenge that is not a JSON object", () => {
    assert.throws(() => mergeClaims(["CP1"], "not json"), ConfigurationError);
    assert.throws(() => mergeClaims(["CP1"], "[1]"), ConfigurationError);
  });
});
