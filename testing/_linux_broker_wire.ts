// The fake Linux broker's JSON: what a request must contain, and the shapes of its replies, per broker
// generation (linux-broker-dbus spec §3, §4; §11 for the requests of Microsoft's runtime).

import { isJsonObject, type Json } from "./_json.ts";
import type { FakeLinuxBrokerProfile } from "./_types.ts";

/** An in-band error (spec §3.6). */
export interface WireError {
  status: number;
  context: string;
  tag: number;
  errorCode: number;
  subStatus: number;
}

/** A request the broker refuses, with the error it answers. */
export class RejectedRequest extends Error {
  /** The error to send back. */
  readonly error: WireError;
  /** Creates the rejection. */
  constructor(error: WireError) {
    super(error.context);
    this.error = error;
  }
}

/** Status values of the spec's `ResponseStatus` enum that the fake uses. */
export const Status = {
  Unexpected: 0,
  InteractionRequired: 2,
  NoNetwork: 3,
  ApiContractViolation: 6,
  UserCanceled: 7,
} as const;

// Contexts and tags seen from real brokers (spec §3.6, §4.3, §4.4, §6.2).
const DEFAULT_ERRORS: Record<number, { context: string; tag: number }> = {
  0: { context: "Invalid requestJson", tag: 508371229 },
  2: {
    context:
      "Recieved an error from AAD. Code: 'invalid_grant' Description: 'AADSTS50078: Presented multi-factor " +
      "authentication has expired due to policies configured by your administrator.' suberror: 'token_expired'",
    tag: 595719680,
  },
  3: { context: "The device is offline: no network connection", tag: 537006656 },
  6: { context: "The request is invalid", tag: 508371230 },
  7: { context: "The InteractiveRequest was canceled by the user", tag: 557155398 },
};

/** An error with the broker's usual context and tag for `status`, unless given. */
export function wireError(status: number, overrides: Partial<WireError> = {}): WireError {
  const known = DEFAULT_ERRORS[status] ?? { context: `Broker error (status ${status})`, tag: 508371231 };
  return {
    status,
    context: overrides.context ?? known.context,
    tag: overrides.tag ?? known.tag,
    errorCode: overrides.errorCode ?? 0,
    subStatus: overrides.subStatus ?? 0,
  };
}

function reject(status: number, context: string): never {
  throw new RejectedRequest(wireError(status, { context }));
}

/** Parses the request JSON; anything but an object is `Invalid requestJson` (status 0). */
export function parseRequest(json: string): Json {
  let parsed: unknown;
  try {
    parsed = JSON.parse(json);
  } catch {
    throw new RejectedRequest(wireError(Status.Unexpected));
  }
  if (!isJsonObject(parsed)) throw new RejectedRequest(wireError(Status.Unexpected));
  return parsed;
}

/** A required non-empty string field. */
export function requireString(object: Json, field: string, where = ""): string {
  const value = object[field];
  if (typeof value !== "string" || value === "") {
    reject(Status.Unexpected, `Invalid requestJson: ${where}${field} is missing or not a non-empty string`);
  }
  return value;
}

/** An optional string field (absent, null or a string). */
function optionalString(object: Json, field: string, where: string): string | undefined {
  const value = object[field];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== "string") {
    reject(Status.Unexpected, `Invalid requestJson: ${where}${field} is not a string`);
  }
  return value;
}

/** What the broker reads from `authParameters`. */
export interface AuthParameters {
  clientId: string;
  authority: URL;
  redirectUri: string;
  scopes: string[];
  authorizationType?: number;
  account?: Json;
  username?: string;
  isSignIn: boolean;
  claims?: string;
  popParams?: Json;
  ssoUrl?: string;
  raw: Json;
}

/**
 * Validates `authParameters` as the broker's JSON binding does: an object with `clientId`,
 * `authority` (an http(s) URL), `redirectUri` and a non-empty array `requestedScopes` of strings.
 */
export function readAuthParameters(request: Json): AuthParameters {
  const raw = request.authParameters;
  if (!isJsonObject(raw)) reject(Status.Unexpected, "Invalid requestJson: authParameters is missing");
  const where = "authParameters.";
  const clientId = requireString(raw, "clientId", where);
  const authorityText = requireString(raw, "authority", where);
  let authority: URL;
  try {
    authority = new URL(authorityText);
  } catch {
    reject(Status.Unexpected, `Invalid requestJson: ${where}authority is not a URL: ${authorityText}`);
  }
  if (authority.protocol !== "https:" && authority.protocol !== "http:") {
    reject(Status.Unexpected, `Invalid requestJson: ${where}authority is not an https URL: ${authorityText}`);
  }
  const redirectUri = requireString(raw, "redirectUri", where);
  const scopes = raw.requestedScopes;
  if (
    !Array.isArray(scopes) || scopes.length === 0 ||
    !scopes.every((scope) => typeof scope === "string" && scope !== "")
  ) {
    reject(
      Status.Unexpected,
      `Invalid requestJson: ${where}requestedScopes must be a non-empty array of strings`,
    );
  }
  const type = raw.authorizationType;
  if (type !== undefined && !Number.isInteger(type)) {
    reject(Status.Unexpected, `Invalid requestJson: ${where}authorizationType is not an integer`);
  }
  const account = raw.account ?? request.account;
  if (account !== undefined && account !== null && !isJsonObject(account)) {
    reject(Status.Unexpected, `Invalid requestJson: ${where}account is not an object`);
  }
  const isSignIn = raw.isSignIn;
  if (isSignIn !== undefined && typeof isSignIn !== "boolean") {
    reject(Status.Unexpected, `Invalid requestJson: ${where}isSignIn is not a boolean`);
  }
  const popParams = raw.popParams;
  if (popParams !== undefined && popParams !== null && !isJsonObject(popParams)) {
    reject(Status.Unexpected, `Invalid requestJson: ${where}popParams is not an object`);
  }
  return {
    clientId,
    authority,
    redirectUri,
    scopes: scopes as string[],
    authorizationType: type as number | undefined,
    account: isJsonObject(account) ? account : undefined,
    username: optionalString(raw, "username", where) || undefined,
    isSignIn: isSignIn === true,
    claims: optionalString(raw, "decodedClaims", where) || undefined,
    popParams: isJsonObject(popParams) ? popParams : undefined,
    ssoUrl: optionalString(raw, "ssoUrl", where) || undefined,
    raw,
  };
}

// Which authorizationType a > 2.0.1 broker accepts per method (spec §3.3; the interactive set is the
// spec's fake-broker rule: 1, 6 or absent).
const ALLOWED_TYPES: Record<string, { values: (number | undefined)[]; message: string }> = {
  acquireTokenSilently: { values: [1], message: "Called AcquireTokenSilently with authorization type: %d" },
  acquireTokenInteractively: {
    values: [1, 6, undefined],
    message: "Called AcquireTokenInteractively with non-interactive authorization type: %d",
  },
  acquirePrtSsoCookie: { values: [8], message: "Called AcquirePrtSsoCookie with authorization type: %d" },
};

/** On 3.x, refuses an `authorizationType` the method does not allow (status 6). */
export function checkAuthorizationType(
  profile: FakeLinuxBrokerProfile,
  method: string,
  type: number | undefined,
): void {
  const rule = ALLOWED_TYPES[method];
  if (profile === "2.0.1" || !rule || rule.values.includes(type)) return;
  reject(Status.ApiContractViolation, rule.message.replace("%d", String(type ?? "(none)")));
}

/** The telemetry object real brokers send beside every reply. */
export function telemetry(profile: FakeLinuxBrokerProfile, method: string, status: string): Json {
  return { api_name: method, api_status_code: status, broker_version: profile, dbus_method_name: method };
}

/** The error reply: `brokerTokenResponse.error` for token calls, a top-level `error` otherwise. */
export function errorReply(profile: FakeLinuxBrokerProfile, method: string, error: WireError): Json {
  const body: Json = {
    context: error.context,
    diagnostics: profile === "2.0.1"
      ? { raw_error_code: "", exception_type: "", oauth2_sub_error_code: "" }
      : null,
    errorCode: error.errorCode,
    status: error.status,
    subStatus: error.subStatus,
    tag: error.tag,
  };
  const info = telemetry(profile, method, `StatusInternal::${error.status}`);
  if (method !== "acquireTokenSilently" && method !== "acquireTokenInteractively") {
    return { error: body, telemetry: info };
  }
  const response: Json = profile === "2.0.1"
    ? { accessTokenType: 0, error: body, expiresOn: 0, extendedExpiresOn: 0, subError: "" }
    : { error: body, subError: "" };
  return { brokerTokenResponse: response, telemetry: info };
}

/** The `sso_nonce` query parameter of an SSO URL, if any. */
export function ssoNonce(ssoUrl: string): string | undefined {
  try {
    return new URL(ssoUrl).searchParams.get("sso_nonce") ?? undefined;
  } catch {
    return undefined;
  }
}
