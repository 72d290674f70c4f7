/**
 * PKCE (RFC 7636) and random-token helpers on WebCrypto, plus the base64url codec they need.
 *
 * @module
 */

import { InvalidInputError } from "../core/errors.ts";

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
 * Encodes bytes as unpadded base64url (RFC 4648 §5).
 *
 * @example
 * ```ts
 * base64UrlEncode(new Uint8Array([251, 255])); // "-_8"
 * ```
 */
export function base64UrlEncode(bytes: Uint8Array): string {
  let binary = "";
  for (let i = 0; i < bytes.length; i += 0x8000) {
    binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

/**
 * Decodes base64url, with or without `=` padding.
 *
 * @throws {InvalidInputError} when `text` is not base64url.
 * @example
 * ```ts
 * base64UrlDecode("-_8"); // Uint8Array [251, 255]
 * ```
 */
export function base64UrlDecode(text: string): Uint8Array {
  const unpadded = text.replace(/={1,2}$/, "");
  if (!/^[A-Za-z0-9_-]*$/.test(unpadded) || unpadded.length % 4 === 1) {
    throw new InvalidInputError("The value is not valid base64url");
  }
  const base64 = unpadded.replace(/-/g, "+").replace(/_/g, "/");
  const binary = atob(base64 + "=".repeat((4 - (base64.length % 4)) % 4));
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
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
