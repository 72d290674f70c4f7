/**
 * Exception classes, each with a stable {@linkcode MsalErrorCode} to switch on.
 *
 * What is thrown and what is returned:
 * - Thrown: developer errors (bad configuration or input, a missing broker dependency, an unregistered
 *   redirect URI), the caller's abort or timeout, an unreachable network, and checks that protect the
 *   user from a forged or replayed sign-in ({@linkcode IdTokenError}, {@linkcode IssuerMismatchError}).
 * - Returned as an error result: the identity provider or the broker said no, and **the server sent
 *   something malformed**: an answer that is not JSON, a field out of type or range, an ID token that is
 *   not a JWT come back as `error: "invalid_response"` (from a broker: `error: "broker_error"` with
 *   `broker_status: "InvalidResponse"`, also for an SSH-certificate request answered with another kind
 *   of token, which MSAL Python raises as `TokenTypeError`), and nothing of that answer is cached.
 *   Malformed local data (a corrupt cache file handed to `TokenCache.deserialize`) throws
 *   {@linkcode InvalidInputError}. The one kind of server answer that throws is the authority's metadata
 *   (instance and tenant discovery): without it no request can be made, so it is an
 *   {@linkcode AuthorityError}.
 *
 * @example
 * ```ts
 * import { MsalError, MsalErrorCode, PublicClientApplication } from "@authbroker/msal";
 * declare function tellUser(text: string): void;
 *
 * try {
 *   await PublicClientApplication.create("client-id", { enableBrokerOnLinux: true });
 * } catch (error) {
 *   if (error instanceof MsalError && error.code === MsalErrorCode.BrokerDependencyMissing) {
 *     tellUser(error.message); // "You need to install dependency by: npm install dbus-next"
 *   }
 * }
 * ```
 *
 * @module
 */

/** The `code` of every exception this package throws, by name. */
export const MsalErrorCode = {
  /** {@linkcode ConfigurationError}. */
  InvalidConfig: "invalid_config",
  /** {@linkcode InvalidInputError}. */
  InvalidInput: "invalid_input",
  /** {@linkcode DependencyError}: an optional dependency a feature needs is not installed. */
  DependencyMissing: "dependency_missing",
  /** {@linkcode BrokerDependencyError} (broker rule 2), a {@linkcode DependencyError}. */
  BrokerDependencyMissing: "broker_dependency_missing",
  /** `BrokerUnavailableError` from a plugin (broker rule 3; the app falls back). */
  BrokerUnavailable: "broker_unavailable",
  /** {@linkcode RedirectUriError}. */
  RedirectUriNotRegistered: "redirect_uri_not_registered",
  /** {@linkcode TimeoutError}. */
  Timeout: "timeout",
  /** {@linkcode AbortError}. */
  Aborted: "aborted",
  /** {@linkcode PortInUseError}. */
  PortInUse: "port_in_use",
  /** {@linkcode BrowserLaunchError}. */
  BrowserUnavailable: "browser_unavailable",
  /** {@linkcode IdTokenError}. */
  InvalidIdToken: "invalid_id_token",
  /** {@linkcode IssuerMismatchError}. */
  IssuerMismatch: "issuer_mismatch",
  /** {@linkcode AuthorityError}. */
  AuthorityDiscoveryFailed: "authority_discovery_failed",
  /** {@linkcode NetworkError}. */
  NetworkError: "network_error",
  /** A `TokenCache.access` with `readOnly: true` whose function changed the cache. */
  ReadOnlyAccess: "read_only_access",
  /** `CacheLockError`: another process held the cache file's lock too long (`./persistence`). */
  CacheLockTimeout: "cache_lock_timeout",
  /** `CacheLockError`: the cache file's lock was taken away while held (`./persistence`). */
  CacheLockLost: "cache_lock_lost",
  /** `CacheCorruptError`: the cache file was set aside as corrupt (`./persistence`). */
  CacheCorrupt: "cache_corrupt",
  /** `CacheFileError`: a cache, lock or version file (or its folder) could not be used (`./persistence`). */
  CacheFileError: "cache_file_error",
  /** `SecretServiceUnavailableError`: no Secret Service on the session bus (`./persistence`). */
  SecretServiceUnavailable: "secret_service_unavailable",
  /** `KeyringLockedError`: the keyring is locked (`./persistence`). */
  KeyringLocked: "keyring_locked",
} as const;

/** One of the {@linkcode MsalErrorCode} values: what `MsalError.code` can be. */
export type MsalErrorCode = (typeof MsalErrorCode)[keyof typeof MsalErrorCode];

/** Base class of every exception this library throws; `code` is stable and machine-readable. */
export class MsalError extends Error {
  /** A stable, machine-readable code, e.g. `"invalid_config"`; one of {@linkcode MsalErrorCode}. */
  readonly code: MsalErrorCode;

  /**
   * Creates an error with a stable `code` and a human-readable message.
   *
   * @param code the stable code, one of {@linkcode MsalErrorCode}
   * @param message what went wrong, for people
   * @param options `cause`: the underlying error, if any
   */
  constructor(code: MsalErrorCode, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

/** The app was configured or called in a way MSAL does not allow (MSAL Python raises `ValueError`). */
export class ConfigurationError extends MsalError {
  /**
   * Creates a configuration error with MSAL Python's wording where it has one.
   *
   * @param message which option or call is wrong, and why
   * @param options `cause`: the underlying error, if any
   */
  constructor(message: string, options?: ErrorOptions) {
    super("invalid_config", message, options);
  }
}

/**
 * Local data that should be well-formed was not: a corrupt serialized cache (`TokenCache.deserialize`),
 * a malformed ID token handed to `TokenCache.addTokenResponse`. A malformed answer from a server or a
 * broker is never thrown as this: it comes back as an error result (see the module's rule).
 */
export class InvalidInputError extends MsalError {
  /**
   * Creates an error describing what was malformed and where it came from.
   *
   * @param message what was malformed, and where it came from
   * @param options `cause`: the underlying error, e.g. a `SyntaxError` from `JSON.parse`
   */
  constructor(message: string, options?: ErrorOptions) {
    super("invalid_input", message, options);
  }
}

/**
 * An optional npm dependency that the called feature needs is not installed (e.g. `dbus-next` for the
 * Secret Service token cache). `instanceof DependencyError` also catches {@linkcode BrokerDependencyError}.
 */
export class DependencyError extends MsalError {
  /** The exact command that installs the missing dependency, e.g. `npm install dbus-next`. */
  readonly installCommand: string;

  /**
   * Creates the error.
   *
   * @param message what needs the dependency, and the command that installs it
   * @param installCommand the command that installs the dependency, e.g. `npm install dbus-next`
   * @param options `cause`: the import's error, if any
   */
  constructor(message: string, installCommand: string, options?: ErrorOptions) {
    super("dependency_missing", message, options);
    this.installCommand = installCommand;
  }
}

/**
 * The app opted into a broker on this platform, but the broker plugin's dependency is not installed
 * (broker rule 2). Its `code` is `broker_dependency_missing`, its message MSAL Python's.
 */
export class BrokerDependencyError extends DependencyError {
  /** Always `broker_dependency_missing` ({@linkcode MsalErrorCode.BrokerDependencyMissing}). */
  override readonly code: MsalErrorCode = "broker_dependency_missing";

  /**
   * Creates the error; its message is `You need to install dependency by: <installCommand>`.
   *
   * @param installCommand the command that installs the dependency, e.g. `npm install dbus-next`
   * @param options `cause`: the import's error, if any
   */
  constructor(installCommand: string, options?: ErrorOptions) {
    super(`You need to install dependency by: ${installCommand}`, installCommand, options);
  }
}

/** The broker refused the request because the app has not registered the broker's redirect URI. */
export class RedirectUriError extends MsalError {
  /** The redirect URI to register for this app. */
  readonly redirectUri: string;

  /**
   * Creates the error naming the exact URI to register.
   *
   * @param redirectUri the redirect URI the app must register
   * @param detail the broker's own message, appended on a new line; none by default
   * @param options `cause`: the underlying error, if any
   */
  constructor(redirectUri: string, detail?: string, options?: ErrorOptions) {
    super(
      "redirect_uri_not_registered",
      `The broker needs the current app to register this redirect_uri: ${redirectUri}` +
        (detail ? `\n${detail}` : ""),
      options,
    );
    this.redirectUri = redirectUri;
  }
}

/** The user did not complete an interactive flow within the allowed time. */
export class TimeoutError extends MsalError {
  /**
   * Creates a timeout error.
   *
   * @param message what timed out, e.g. "User did not complete the flow in time"
   * @param options `cause`: the underlying error, if any
   */
  constructor(message: string, options?: ErrorOptions) {
    super("timeout", message, options);
  }
}

/** The caller's `AbortSignal` ended the operation. */
export class AbortError extends MsalError {
  /**
   * Creates an abort error.
   *
   * @param message what was aborted; "The operation was aborted" by default
   * @param options `cause`: the signal's `reason`
   */
  constructor(message = "The operation was aborted", options?: ErrorOptions) {
    super("aborted", message, options);
  }
}

/** The loopback listener could not listen on the requested port. */
export class PortInUseError extends MsalError {
  /** The port that was requested. */
  readonly port: number;

  /**
   * Creates the error with MSAL Python's wording.
   *
   * @param port the port (1-65535) that could not be listened on
   * @param options `cause`: the runtime's listen error
   */
  constructor(port: number, options?: ErrorOptions) {
    super("port_in_use", `Can't listen on port ${port}. You may try port 0.`, options);
    this.port = port;
  }
}

/** The system browser could not be opened; the message includes the URL to open by hand. */
export class BrowserLaunchError extends MsalError {
  /** The sign-in URL that could not be opened; usable only while the flow still listens. */
  readonly url: string;

  /**
   * Creates the error naming the URL to open by hand; with `listening: false` (the flow has ended, so
   * the URL leads nowhere) the message says how to keep the flow waiting instead. The message leads with
   * what failed: the `launcher` (e.g. `"openBrowser"`, the app's callback) and the `cause`'s message.
   *
   * @param url the sign-in URL that could not be opened
   * @param options `cause`: the launcher's error; `listening`: whether the flow still waits for the
   *   redirect (`true` by default); `launcher`: what failed to open the URL, when not the system browser
   */
  constructor(url: string, options?: ErrorOptions & { listening?: boolean; launcher?: string }) {
    const reason = options?.cause === undefined ? "" : `: ${messageOf(options.cause).replace(/\.$/, "")}`;
    const failed = options?.launcher
      ? `${options.launcher} failed${reason}`
      : `Could not open a browser${reason}`;
    super(
      "browser_unavailable",
      options?.listening === false
        ? `${failed}. The sign-in ended: pass onBrowserUnavailable (or onBeforeLaunchingUi) to show the ` +
          "sign-in URL to the user while the flow keeps waiting, or use the device-code flow"
        : `${failed}. Open this URL to sign in: ${url}`,
      options,
    );
    this.url = url;
  }
}

/**
 * A returned ID token failed validation (OpenID Connect Core 1.0 §3.1.3.7, as MSAL Python checks it):
 * wrong `aud` or `iss`, expired (`exp`), issued in the future (`iat`, `nbf`), another `nonce`, or an
 * `auth_time` older than `maxAge`. Nothing from that response is cached.
 */
export class IdTokenError extends MsalError {
  /** The claim that failed its check, e.g. `"aud"`, `"iss"`, `"exp"`, `"nonce"`, `"auth_time"`. */
  readonly claim: string;

  /**
   * Creates the error naming the claim and describing the check that failed.
   *
   * @param claim the claim that failed, e.g. `"aud"`
   * @param message the check that failed, with the values compared
   * @param options `cause`: the underlying error, if any
   */
  constructor(claim: string, message: string, options?: ErrorOptions) {
    super("invalid_id_token", message, options);
    this.claim = claim;
  }
}

/**
 * An authorization response names another issuer than the authority the request went to, or names
 * none although the authority promised to (RFC 9207 `authorization_response_iss_parameter_supported`):
 * a mix-up attack, or a misconfigured provider. Nothing is redeemed.
 */
export class IssuerMismatchError extends MsalError {
  /** The authority's issuer. */
  readonly expected: string;
  /** The `iss` the response carried, `undefined` when it had none. */
  readonly received: string | undefined;

  /**
   * Creates the error naming both issuers.
   *
   * @param expected the authority's issuer
   * @param received the response's `iss`, or `undefined` when it had none
   */
  constructor(expected: string, received: string | undefined) {
    super(
      "issuer_mismatch",
      received === undefined
        ? `The authorization response has no iss parameter, which ${expected} promises (RFC 9207)`
        : `The authorization response comes from issuer ${received}, not ${expected} (RFC 9207): refused`,
    );
    this.expected = expected;
    this.received = received;
  }
}

/** The authority's metadata could not be fetched or made no sense (instance or tenant discovery). */
export class AuthorityError extends MsalError {
  /**
   * Creates the error.
   *
   * @param message which metadata could not be fetched or used, and why
   * @param options `cause`: the underlying failure
   */
  constructor(message: string, options?: ErrorOptions) {
    super("authority_discovery_failed", message, options);
  }
}

/** The network failed: no answer, a reset connection, or a timeout on a request to the identity provider. */
export class NetworkError extends MsalError {
  /**
   * Creates the error.
   *
   * @param message which request failed
   * @param options `cause`: the transport failure
   */
  constructor(message: string, options?: ErrorOptions) {
    super("network_error", message, options);
  }
}

/**
 * The message of any thrown value, for a log line or an error's text: an `Error`'s (or any object's)
 * `message`, else the value as a string.
 *
 * @param error what was thrown or rejected with
 * @returns its message, e.g. `"connect ECONNREFUSED 127.0.0.1:8400"`
 */
export function messageOf(error: unknown): string {
  if (typeof error === "object" && error !== null && "message" in error) return String(error.message);
  return String(error);
}
