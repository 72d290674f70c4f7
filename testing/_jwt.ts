// RS256 signing for the fake authority: one RSA key pair per instance, published as a JWKS; and the
// testing kit's one base64url codec.

import { isJsonObject, type Json } from "./_json.ts";

const encoder = new TextEncoder();

/** Encodes bytes (or a string's UTF-8 bytes) as unpadded base64url. */
export function base64UrlEncode(data: Uint8Array | string): string {
  const bytes = typeof data === "string" ? encoder.encode(data) : data;
  let binary = "";
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

/** Decodes base64url (padded or not); throws on characters outside the alphabet, as core's decoder. */
function base64UrlDecode(text: string): Uint8Array {
  const unpadded = text.replace(/={1,2}$/, "");
  if (!/^[A-Za-z0-9_-]*$/.test(unpadded) || unpadded.length % 4 === 1) {
    throw new SyntaxError("The value is not valid base64url");
  }
  const binary = atob(unpadded.replace(/-/g, "+").replace(/_/g, "/"));
  return Uint8Array.from(binary, (ch) => ch.charCodeAt(0));
}

/** The payload of a compact JWT, or `undefined` when it is not one with a JSON object payload. */
export function payloadOf(token: string): Json | undefined {
  try {
    const value = JSON.parse(new TextDecoder().decode(base64UrlDecode(token.split(".")[1] ?? "")));
    return isJsonObject(value) ? value : undefined;
  } catch {
    return undefined;
  }
}

/** The SHA-256 digest of a string's UTF-8 bytes, as base64url. */
export async function sha256Base64Url(text: string): Promise<string> {
  return base64UrlEncode(new Uint8Array(await crypto.subtle.digest("SHA-256", encoder.encode(text))));
}

/** The public half of the signing key as a JWKS entry. */
export interface PublicJwk {
  /** Key id: the RFC 7638 thumbprint. */
  kid: string;
  /** Always `"RSA"`. */
  kty: string;
  /** Always `"sig"`. */
  use: string;
  /** Always `"RS256"`. */
  alg: string;
  /** Modulus, base64url. */
  n: string;
  /** Exponent, base64url. */
  e: string;
}

/** An RSA key pair that signs RS256 JWTs. */
export class SigningKey {
  readonly #privateKey: CryptoKey;
  /** The public key as published in the JWKS. */
  readonly jwk: PublicJwk;

  private constructor(privateKey: CryptoKey, jwk: PublicJwk) {
    this.#privateKey = privateKey;
    this.jwk = jwk;
  }

  /** Generates a fresh RSASSA-PKCS1-v1_5 2048-bit SHA-256 key pair. */
  static async generate(): Promise<SigningKey> {
    const pair = await crypto.subtle.generateKey(
      {
        name: "RSASSA-PKCS1-v1_5",
        modulusLength: 2048,
        publicExponent: new Uint8Array([1, 0, 1]),
        hash: "SHA-256",
      },
      true,
      ["sign", "verify"],
    ) as CryptoKeyPair;
    const exported = await crypto.subtle.exportKey("jwk", pair.publicKey);
    const n = exported.n!;
    const e = exported.e!;
    const kid = await sha256Base64Url(JSON.stringify({ e, kty: "RSA", n }));
    return new SigningKey(pair.privateKey, { kid, kty: "RSA", use: "sig", alg: "RS256", n, e });
  }

  /** Signs `claims` as a compact JWS with header `{typ: "JWT", alg: "RS256", kid}`. */
  async sign(claims: Record<string, unknown>): Promise<string> {
    const header = base64UrlEncode(JSON.stringify({ typ: "JWT", alg: "RS256", kid: this.jwk.kid }));
    const input = `${header}.${base64UrlEncode(JSON.stringify(claims))}`;
    const signature = await crypto.subtle.sign("RSASSA-PKCS1-v1_5", this.#privateKey, encoder.encode(input));
    return `${input}.${base64UrlEncode(new Uint8Array(signature))}`;
  }
}
