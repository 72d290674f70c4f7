/**
 * The Secret Service's encrypted transfer, `dh-ietf1024-sha256-aes128-cbc-pkcs7` (Secret Service API
 * 0.2, "Transfer of Secrets"), as libsecret and gnome-keyring implement it: Diffie-Hellman over the
 * 1024-bit MODP group of RFC 2409 §6.2 (generator 2), the shared value left-padded to 128 bytes, HKDF-
 * SHA256 (RFC 5869) with no salt and no info to a 16-byte AES key, and AES-128-CBC with PKCS#7 padding
 * and a fresh 16-byte IV per secret. WebCrypto and BigInt only.
 *
 * @module
 */

/** RFC 2409 §6.2, the Second Oakley Group. */
const PRIME = BigInt(
  "0xFFFFFFFFFFFFFFFFC90FDAA22168C234C4C6628B80DC1CD129024E088A67CC74020BBEA63B139B22514A08798E3404DD" +
    "EF9519B3CD3A431B302B0A6DF25F14374FE1356D6D51C245E485B576625E7EC6F44C42E9A637ED6B0BFF5CB6F406B7ED" +
    "EE386BFB5A899FA5AE9F24117C4B1FE649286651ECE65381FFFFFFFFFFFFFFFF",
);
const PRIME_BYTES = 128;

function modPow(base: bigint, exponent: bigint, modulus: bigint): bigint {
  let result = 1n;
  base %= modulus;
  while (exponent > 0n) {
    if (exponent & 1n) result = (result * base) % modulus;
    base = (base * base) % modulus;
    exponent >>= 1n;
  }
  return result;
}

function toBigInt(bytes: Uint8Array): bigint {
  let value = 0n;
  for (const byte of bytes) value = (value << 8n) | BigInt(byte);
  return value;
}

/** Big-endian bytes of `value`, left-padded with zeros to `length` (minimal length without it). */
function toBytes(value: bigint, length = 0): Uint8Array<ArrayBuffer> {
  const hex = value.toString(16);
  const digits = hex.length % 2 ? `0${hex}` : hex;
  const size = Math.max(length, digits.length / 2);
  const out = new Uint8Array(size);
  for (let i = 0, offset = size - digits.length / 2; i < digits.length / 2; i++) {
    out[offset + i] = parseInt(digits.slice(2 * i, 2 * i + 2), 16);
  }
  return out;
}

/** An encrypted secret as the Secret Service carries it: `parameters` is the IV. */
export interface SealedSecret {
  /** The AES-CBC IV (16 bytes). */
  parameters: Uint8Array;
  /** The ciphertext. */
  value: Uint8Array;
}

/** One side of a negotiated session: our public key to send, then the AES key from the service's. */
export class DhSession {
  readonly #private: bigint;
  /** Our public key, big-endian, to send as `OpenSession`'s input. */
  readonly publicKey: Uint8Array;
  #key: CryptoKey | undefined;

  /** Generates a key pair (a random 1024-bit private exponent, as libsecret's). */
  constructor() {
    this.#private = toBigInt(crypto.getRandomValues(new Uint8Array(PRIME_BYTES))) % (PRIME - 2n) + 1n;
    this.publicKey = toBytes(modPow(2n, this.#private, PRIME));
  }

  /**
   * Derives the AES key from the service's public key (`OpenSession`'s output).
   *
   * @throws {RangeError} if the service's key is not in the group (1 < key < p - 1).
   */
  async complete(servicePublicKey: Uint8Array): Promise<void> {
    const peer = toBigInt(servicePublicKey);
    if (peer <= 1n || peer >= PRIME - 1n) {
      throw new RangeError("The Secret Service sent an invalid DH public key");
    }
    const shared = toBytes(modPow(peer, this.#private, PRIME), PRIME_BYTES);
    const ikm = await crypto.subtle.importKey("raw", shared, "HKDF", false, ["deriveKey"]);
    this.#key = await crypto.subtle.deriveKey(
      { name: "HKDF", hash: "SHA-256", salt: new Uint8Array(0), info: new Uint8Array(0) },
      ikm,
      { name: "AES-CBC", length: 128 },
      false,
      ["encrypt", "decrypt"],
    );
  }

  /** Encrypts `plaintext` with a fresh IV. */
  async seal(plaintext: Uint8Array<ArrayBuffer>): Promise<SealedSecret> {
    const iv = crypto.getRandomValues(new Uint8Array(16));
    const value = await crypto.subtle.encrypt({ name: "AES-CBC", iv }, this.#requireKey(), plaintext);
    return { parameters: iv, value: new Uint8Array(value) };
  }

  /** Decrypts a secret the service sent. */
  async open(secret: SealedSecret): Promise<Uint8Array> {
    const iv = new Uint8Array(secret.parameters);
    const plain = await crypto.subtle.decrypt(
      { name: "AES-CBC", iv },
      this.#requireKey(),
      new Uint8Array(secret.value),
    );
    return new Uint8Array(plain);
  }

  #requireKey(): CryptoKey {
    if (!this.#key) throw new Error("DhSession used before complete()");
    return this.#key;
  }
}
