// Public types of the test kit's fakes, kept apart from their implementations so that modules can
// share them without importing each other.

/** The broker generation the fake Linux broker behaves like (linux-broker-dbus spec §0). */
export type FakeLinuxBrokerProfile = "2.0.1" | "3.0.2";

/** The eight methods of `com.microsoft.identity.Broker1`. */
export type FakeLinuxBrokerMethod =
  | "getLinuxBrokerVersion"
  | "getAccounts"
  | "acquireTokenSilently"
  | "acquireTokenInteractively"
  | "acquirePrtSsoCookie"
  | "generateSignedHttpRequest"
  | "removeAccount"
  | "cancelInteractiveFlow";

/** An account the fake Linux broker knows; only `username` is required. */
export interface FakeLinuxBrokerAccountInit {
  /** Sign-in name (UPN), e.g. `alice@contoso.com`. */
  username: string;
  /** Display name; defaults to the part of `username` before `@`. */
  name?: string;
  /** Given name; defaults to `name`'s first word. */
  givenName?: string;
  /** Family name; defaults to `name`'s last word when it has several, else `""`. */
  familyName?: string;
  /** Object id (`oid`); a random UUID by default. */
  oid?: string;
  /** Home tenant id (`realm`); the authority's default tenant, else a fixed GUID. */
  tenantId?: string;
}

/** An account as the broker sends it: all fields of the broker's Account schema (spec §3.1). */
export interface FakeLinuxBrokerAccount {
  /** Empty. */
  alternativeAccountId: string;
  /** base64url `{"uid":oid,"utid":tenant}`. */
  clientInfo: string;
  /** `login.windows.net`, as real 2.0.1 brokers report it, unless configured. */
  environment: string;
  /** Family name. */
  familyName: string;
  /** Given name. */
  givenName: string;
  /** `<oid>.<tenant id>`. */
  homeAccountId: string;
  /** Same as `environment`. */
  homeEnvironment: string;
  /** The object id. */
  localAccountId: string;
  /** Empty. */
  middleName: string;
  /** Display name. */
  name: string;
  /** Empty. */
  passwordChangeUrl: string;
  /** Always 0 (the broker's field; no expiry known). */
  passwordExpiry: number;
  /** Home tenant id. */
  realm: string;
  /** Sign-in name. */
  username: string;
}

/** Options of {@linkcode FakeLinuxBroker.start}. */
export interface FakeLinuxBrokerOptions {
  /** The bus address, e.g. `PrivateBus.address`; defaults to `DBUS_SESSION_BUS_ADDRESS`. */
  address?: string;
  /** Which broker generation to behave like; default `"3.0.2"`. */
  profile?: FakeLinuxBrokerProfile;
  /**
   * Sign tokens with this fake authority's key and issuer, and (when `accounts` is not given) know its
   * users. Without it the broker uses a key of its own and `https://login.microsoftonline.com`.
   */
  authority?: FakeAuthorityHandle;
  /** The accounts signed in on the "device"; default: the authority's users, else `alice@contoso.com`. */
  accounts?: FakeLinuxBrokerAccountInit[];
  /**
   * Who signs in through the broker's "window" when an interactive call names no known account, and
   * who silent sign-in (`isSignIn`) uses: a username of `accounts`; default the first account.
   */
  defaultAccount?: string;
  /** `environment` of the accounts; default `login.windows.net`. */
  environment?: string;
  /**
   * Lifetime of issued access tokens, in seconds, as their `exp` claim counts (the broker's `expiresOn`
   * is this far ahead); default 3600.
   */
  accessTokenLifetime?: number;
  /**
   * The start-up race of real v2 brokers (spec §1): the name is owned at once but the object is
   * exported only this many milliseconds later; calls in between fail with
   * `org.freedesktop.DBus.Error.UnknownObject`. Default 0.
   */
  exportDelayMs?: number;
  /**
   * Called with each call's record once the broker has dealt with it (answered it, failed it, or left it
   * pending), e.g. to log calls of a broker running in another process.
   */
  onRequest?: (request: FakeLinuxBrokerRequest) => void;
}

/** Options of {@linkcode linuxBrokerService}: those of the broker that survive a process boundary. */
export interface LinuxBrokerServiceOptions {
  /** Which broker generation to behave like; default `"3.0.2"`. */
  profile?: FakeLinuxBrokerProfile;
  /** The accounts; default `alice@contoso.com`. */
  accounts?: FakeLinuxBrokerAccountInit[];
  /** As {@linkcode FakeLinuxBrokerOptions.defaultAccount}. */
  defaultAccount?: string;
  /** As {@linkcode FakeLinuxBrokerOptions.environment}. */
  environment?: string;
  /** As {@linkcode FakeLinuxBrokerOptions.accessTokenLifetime}: seconds. */
  accessTokenLifetime?: number;
  /**
   * As {@linkcode FakeLinuxBrokerOptions.exportDelayMs}, in milliseconds: the start-up race right after
   * activation.
   */
  exportDelayMs?: number;
  /**
   * A file the activated broker appends each call to, as one JSON {@linkcode FakeLinuxBrokerRequest}
   * per line.
   */
  requestLog?: string;
}

/** A JSON error the broker puts in its reply (spec §3.6), e.g. status 2 = interaction required. */
export interface FakeLinuxBrokerJsonError {
  /** Sends an in-band error. */
  kind: "error";
  /**
   * MSAL runtime `ResponseStatus`: 0 Unexpected, 2 InteractionRequired, 3 NoNetwork, 6
   * ApiContractViolation, 7 UserCanceled, 13 AccountUnusable, …
   */
  status: number;
  /** Message text; a realistic default per status. */
  context?: string;
  /** Code-path id; a realistic default per status. */
  tag?: number;
  /** System error code; default 0. */
  errorCode?: number;
  /** Default 0. */
  subStatus?: number;
}

/** Something the fake Linux broker does instead of answering a call normally. */
export type FakeLinuxBrokerFault =
  | FakeLinuxBrokerJsonError
  | {
    /** `getAccounts` answers `{"accounts":[]}` (no enrolled account, or a locked keyring). */
    kind: "emptyAccounts";
  }
  | {
    /** Answers this JSON text (a string is sent verbatim, so it can be malformed). */
    kind: "reply";
    /** The reply: a JSON object, or text sent as is. */
    json: string | Record<string, unknown>;
  }
  | {
    /** Answers `org.freedesktop.DBus.Error.UnknownObject`, like a v2 broker still starting. */
    kind: "unknownObject";
  }
  | {
    /**
     * Drops the broker's bus connection without replying (the caller gets
     * `org.freedesktop.DBus.Error.NoReply`), as a crashing broker does; a fresh connection has
     * already queued for the name, so the next call reaches a "restarted" broker.
     */
    kind: "disconnect";
  }
  | {
    /** Never replies: the call stays pending until the client gives up or the broker closes. */
    kind: "noReply";
  }
  | {
    /** Answers normally, `delayMs` milliseconds later. */
    kind: "delay";
    /** How long to hold the answer back, in milliseconds. */
    delayMs: number;
  }
  | {
    /** @deprecated Use `{ kind: "delay", delayMs }` (same unit). */
    kind: "delay";
    /** @deprecated Milliseconds; use `delayMs`. */
    ms: number;
  };

/** A call the fake Linux broker received on `com.microsoft.identity.Broker1`. */
export interface FakeLinuxBrokerRequest {
  /** The method called. */
  method: FakeLinuxBrokerMethod;
  /** First argument, e.g. `"0.0"`. */
  protocolVersion: string;
  /** Second argument. */
  correlationId: string;
  /** Third argument, verbatim. */
  json: string;
  /** Third argument parsed, when it is a JSON object. */
  request?: Record<string, unknown>;
  /** The caller's unique bus name. */
  sender: string;
  /** The JSON the broker answered, when it answered. */
  reply?: Record<string, unknown>;
  /** When it arrived, epoch ms. */
  at: number;
}

/** A D-Bus method call the fake Linux broker's connection received (any interface). */
export interface FakeLinuxBrokerBusCall {
  /** The interface, e.g. `org.freedesktop.DBus.Peer`; empty when the caller gave none. */
  interface: string;
  /** The member, e.g. `Ping`, `Introspect`, `getAccounts`. */
  member: string;
  /** The object path called. */
  path: string;
  /** The caller's unique bus name. */
  sender: string;
  /** When it arrived, epoch ms. */
  at: number;
}

/** A started `FakeAuthority`, as other fakes take it (its type without importing its module). */
export interface FakeAuthorityHandle {
  /**
   * The authority URL for `tenant`.
   *
   * @param tenant a tenant id or domain; default `"common"`.
   * @returns the URL, `${origin}/${tenant}`.
   */
  authority(tenant?: string): string;
}

/** The tenant id the fake authority uses unless told otherwise. */
export const DEFAULT_TENANT_ID = "aaaabbbb-0000-cccc-1111-dddd2222eeee";

/** A user who can sign in. */
export interface FakeUser {
  /** Sign-in name, e.g. `alice@contoso.com`; matched case-insensitively. */
  username: string;
  /** The password the sign-in pages and ROPC accept. */
  password: string;
  /** Display name (`name` claim); defaults to the part of `username` before `@`. */
  name?: string;
  /** Object id (`oid` claim, `uid` of `client_info`); defaults to a random UUID. */
  oid?: string;
  /** Home tenant (`utid` of `client_info`); defaults to the authority's default tenant. */
  tenantId?: string;
}

/** A client application with special treatment. Client ids not listed are accepted too, without a family. */
export interface FakeClient {
  /** The application (client) id. */
  clientId: string;
  /** `"1"` makes it a FOCI client: its responses carry `foci` and its refresh tokens work for the family. */
  familyId?: string;
}

/** An endpoint that can be failed and whose requests are recorded separately. */
export type FakeEndpoint =
  | "instance_discovery"
  | "openid_configuration"
  | "jwks"
  | "token"
  | "devicecode"
  | "authorize"
  | "userinfo";

/** A token endpoint grant type that can be failed on its own. */
export type FakeGrantType = "refresh_token" | "authorization_code" | "device_code" | "password";

/** What a failed request gets instead of its normal answer. */
export type FakeFault =
  | {
    /** A server error. */
    status: 500 | 502 | 503;
    /** The response body, sent as `text/html`; defaults to an HTML error page. */
    body?: string;
  }
  | {
    /** Throttling. */
    status: 429;
    /** Sent as `Retry-After`, in that header's unit: seconds (RFC 9110 §10.2.3); no header when omitted. */
    retryAfter?: number;
  }
  | {
    /** The OAuth error code, e.g. `"invalid_grant"`, `"interaction_required"`. */
    error: string;
    /**
     * First line of `error_description`, e.g. `"AADSTS50076: ..."` (its number becomes `error_codes`);
     * Entra's `Trace ID`/`Correlation ID`/`Timestamp` lines are appended. A default fits `error`.
     */
    errorDescription?: string;
    /** A claims challenge (JSON string), sent as `claims`. */
    claims?: string;
    /** Sent as `suberror`, e.g. `"bad_token"`. */
    suberror?: string;
    /** HTTP status; 400 by default. On the authorize endpoint the error is redirected to the client. */
    status?: number;
  }
  | {
    /** Answer normally, but this many milliseconds later. */
    delayMs: number;
  }
  | {
    /** The exact response body, e.g. malformed JSON. */
    rawBody: string;
    /** HTTP status; 200 by default. */
    status?: number;
    /** Content type; `application/json; charset=utf-8` by default. */
    contentType?: string;
  };

/** A request as the fake authority received it. */
export interface RecordedRequest {
  /** Which endpoint it was for, or `"other"` (pages, logout, unknown paths). */
  endpoint: FakeEndpoint | "other";
  /** HTTP method. */
  method: string;
  /** URL path, e.g. `/common/oauth2/v2.0/token`. */
  path: string;
  /** Query parameters (the last value wins). */
  query: Record<string, string>;
  /** Form fields of an `application/x-www-form-urlencoded` body, else empty. */
  form: Record<string, string>;
  /** Request headers, lower-case names. */
  headers: Record<string, string>;
  /** When it arrived, epoch ms. */
  at: number;
}

/** How to start a {@linkcode FakeAuthority}. */
export interface FakeAuthorityOptions {
  /** Who can sign in, one {@linkcode FakeUser} each; default one user `alice@contoso.com` / `password`. */
  users?: FakeUser[];
  /** Clients with a family, one {@linkcode FakeClient} each; any other client id is accepted too. */
  clients?: FakeClient[];
  /** The default tenant id; {@linkcode DEFAULT_TENANT_ID} unless set. */
  tenantId?: string;
  /**
   * The public origin the authority claims to be, e.g. `https://login.microsoftonline.com`. Every URL it
   * emits uses it; send requests through {@linkcode FakeAuthority.fetch} to reach it. Default: its own URL.
   */
  origin?: string;
  /** Access token lifetime, in seconds: sent as `expires_in` and `ext_expires_in`; default 3600. */
  accessTokenLifetime?: number;
  /** When set, token responses carry it as `refresh_in`, in that field's unit: seconds. */
  refreshIn?: number;
  /**
   * Device code polling interval, in whole seconds: sent as `interval` (RFC 8628 §3.2); default 5; 0
   * allows polling without pause.
   */
  deviceCodeInterval?: number;
  /** Device code lifetime, in seconds: sent as the device authorization's `expires_in`; default 900. */
  deviceCodeLifetime?: number;
  /** Port to listen on; default 0 (an ephemeral port). */
  port?: number;
  /**
   * Plays a spec-strict OpenID Connect provider instead of Entra ID's habits, to test an app (or this
   * library) configured with `oidcAuthority`:
   * - a refresh token only when `offline_access` came with `prompt=consent` (OpenID Connect Core 1.0 §11);
   * - token responses' `scope` without identity scopes (`openid`, `profile`, `email`, ...);
   * - ID tokens without profile claims (no `preferred_username`, `name`, `email`, `tid`, `oid`) and no
   *   `client_info`: those come from the UserInfo endpoint (`userinfo_endpoint` in the metadata);
   * - `iss` in every authorization response, advertised as
   *   `authorization_response_iss_parameter_supported` (RFC 9207);
   * - loopback redirect URIs on `127.0.0.1` or `[::1]` only, never `localhost` (RFC 8252 §8.3).
   */
  strictOidc?: boolean;
}
