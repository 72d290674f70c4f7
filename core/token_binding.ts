/**
 * Tokens bound to something other than the bearer: proof-of-possession (Signed HTTP Request) tokens and
 * SSH certificates. Like MSAL Python, this library gets them only from an OS broker that supports them;
 * this module validates the app's parameters and words the errors for when no such broker is in use.
 *
 * @example
 * ```ts
 * import { tokenBindingOf } from "./token_binding.ts";
 *
 * const binding = tokenBindingOf({
 *   popParameters: { method: "get", url: "https://graph.microsoft.com/v1.0/me", nonce: "n-1" },
 * });
 * binding?.type; // "pop" (method normalised to "GET")
 * ```
 *
 * @module
 */

import { ConfigurationError } from "./errors.ts";
import type { Platform } from "./platform.ts";

/** Binds the token to one HTTP request of the resource (MSAL Python's `PopAuthScheme`). */
export interface PopParameters {
  /** The HTTP method of the resource request: GET, POST, PUT, DELETE or PATCH. */
  method: string;
  /** The URL of the resource request. */
  url: string;
  /** The nonce the resource server handed out. */
  nonce: string;
}

/** Asks for an SSH certificate for a public key instead of an access token. */
export interface SshCertificateParameters {
  /** Identifies the key in `reqCnf`; certificates are cached per key. */
  keyId: string;
  /** The public key, as a JWK (JSON string). */
  reqCnf: string;
}

/** What a request binds its token to, after validation. */
export type TokenBinding =
  | { type: "pop"; pop: PopParameters }
  | { type: "ssh-cert"; keyId: string; reqCnf: string };

/** The options that ask for a bound token. */
export interface TokenBindingOptions {
  /** Asks for a proof-of-possession token. */
  popParameters?: PopParameters;
  /** Asks for an SSH certificate. */
  sshCertificate?: SshCertificateParameters;
}

/** What a broker advertises: its `supportsPop` and `supportsSshCert` flags. */
export interface BindingCapabilities {
  /** Whether proof-of-possession tokens are supported. */
  readonly supportsPop?: boolean;
  /** Whether SSH certificates are supported. */
  readonly supportsSshCert?: boolean;
}

const POP_METHODS = new Set(["GET", "POST", "PUT", "DELETE", "PATCH"]);

/**
 * Validates the binding options of a token request; `undefined` for a plain bearer request.
 *
 * @throws {ConfigurationError} for incomplete or malformed parameters (MSAL Python's wording where it
 * has one), or when both kinds are asked for.
 * @example
 * ```ts
 * tokenBindingOf({ sshCertificate: { keyId: "key-1", reqCnf: '{"kty":"RSA","n":"...","e":"AQAB"}' } });
 * ```
 */
export function tokenBindingOf(options: TokenBindingOptions): TokenBinding | undefined {
  const { popParameters: pop, sshCertificate: ssh } = options;
  if (pop && ssh) throw new ConfigurationError("popParameters and sshCertificate cannot be used together");
  if (pop) {
    if (!pop.method || !pop.url || !pop.nonce) {
      throw new ConfigurationError("All method, url and nonce of popParameters are required");
    }
    const method = pop.method.toUpperCase();
    if (!POP_METHODS.has(method)) {
      throw new ConfigurationError(`popParameters.method must be one of ${[...POP_METHODS].join(", ")}`);
    }
    if (!URL.canParse(pop.url)) throw new ConfigurationError(`popParameters.url is not a URL: ${pop.url}`);
    return { type: "pop", pop: { method, url: pop.url, nonce: pop.nonce } };
  }
  if (ssh) {
    if (typeof ssh.reqCnf !== "string" || !ssh.reqCnf) {
      throw new ConfigurationError(
        "When requesting an SSH certificate, you must include a string parameter named 'reqCnf' " +
          "containing the public key in JWK format (https://tools.ietf.org/html/rfc7517).",
      );
    }
    if (typeof ssh.keyId !== "string" || !ssh.keyId) {
      throw new ConfigurationError(
        "When requesting an SSH certificate, you must include a string parameter named 'keyId' " +
          "which identifies the key in the 'reqCnf' argument.",
      );
    }
    return { type: "ssh-cert", keyId: ssh.keyId, reqCnf: ssh.reqCnf };
  }
  return undefined;
}

/**
 * Whether a broker with these capabilities can answer the request: always for bearer requests, and for
 * bound ones only when it advertises support.
 */
export function brokerCanBind(broker: BindingCapabilities, binding: TokenBinding | undefined): boolean {
  if (!binding) return true;
  return binding.type === "pop" ? broker.supportsPop === true : broker.supportsSshCert === true;
}

/**
 * The error for a bound-token request that no broker can answer, in MSAL Python's words: on Linux and
 * WSL `POP is not supported on Linux`, else that the feature is only available from a broker.
 */
export function bindingUnavailableError(binding: TokenBinding, platform: Platform): ConfigurationError {
  if (binding.type === "pop" && (platform === "linux" || platform === "wsl")) {
    return new ConfigurationError("POP is not supported on Linux");
  }
  const option = binding.type === "pop" ? "popParameters" : "sshCertificate";
  return new ConfigurationError(
    `${option} is currently only available from broker. You can enable broker with the ` +
      "enableBrokerOnWindows or enableBrokerOnMac option of PublicClientApplication, on a device whose " +
      "broker supports it.",
  );
}
