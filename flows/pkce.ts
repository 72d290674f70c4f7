/**
 * PKCE (RFC 7636) and random-token helpers on WebCrypto.
 *
 * @module
 */

import { base64UrlEncode } from "../core/_base64url.ts";

/** A PKCE verifier and its S256 challenge. */
export interface Pkce {
  /** The secret sent with the code redemption (43 characters of base64url). */
  verifier: string;
  /** `base64url(sha256(verifier))`, sent in the authorization request. */
  challenge: string;
  /** The challenge method; always `"S256"`. */
  method: "S256";
}

/**
 * Returns `bytes` (default 32) cryptographically random bytes as base64url, for `state` and `nonce`.
 *
 * @example
 * ```ts
 * const state = randomToken(); // 43 characters
 * ```
 */
export function randomToken(bytes = 32): string {
  return base64UrlEncode(crypto.getRandomValues(new Uint8Array(bytes)));
}

/**
 * Computes the S256 code challenge of a verifier: `base64url(sha256(verifier))`.
 *
 * @example
 * ```ts
 * await challengeFor("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk");
 * // "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
 * ```
 */
export async function challengeFor(verifier: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier));
  return base64UrlEncode(new Uint8Array(digest));
}

/**
 * Creates a fresh PKCE pair: a 43-character verifier from 32 random bytes and its S256 challenge.
 *
 * @example
 * ```ts
 * const { verifier, challenge, method } = await createPkce();
 * ```
 */
export async function createPkce(): Promise<Pkce> {
  const verifier = randomToken(32);
  return { verifier, challenge: await challengeFor(verifier), method: "S256" };
}
