/**
 * The base64url codec (RFC 4648 §5) for PKCE, `state`, `nonce`, JWT parts and `client_info`.
 *
 * @module
 */

import { InvalidInputError } from "./errors.ts";

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
