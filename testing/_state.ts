// What the fake authority remembers between requests: device codes, authorization codes, refresh
// tokens, browser sessions and half-finished sign-ins. Plain maps; nothing here does I/O.

import { base64UrlEncode } from "./_jwt.ts";

/** A configured user with every default filled in. */
export interface ResolvedUser {
  username: string;
  password: string;
  name: string;
  oid: string;
  tenantId: string;
}

/** A device code handed out by the devicecode endpoint. */
export interface DeviceCodeRecord {
  deviceCode: string;
  userCode: string;
  clientId: string;
  scopes: string[];
  /** Epoch ms. */
  expiresAt: number;
  /** Required seconds between polls. */
  interval: number;
  /** Epoch ms of the previous poll, if any. */
  lastPoll?: number;
  status: "pending" | "approved" | "denied" | "redeemed";
  username?: string;
  /** Epoch seconds of the user's sign-in. */
  authTime?: number;
}

/** An authorization code and everything it is bound to. */
export interface AuthCodeRecord {
  clientId: string;
  redirectUri: string;
  scopes: string[];
  username: string;
  nonce?: string;
  codeChallenge?: string;
  /** Epoch seconds of the user's sign-in. */
  authTime: number;
  /** Epoch ms. */
  expiresAt: number;
  used: boolean;
  /** Whether the redemption gets a refresh token (strict OIDC: offline_access with prompt=consent). */
  offlineAccess: boolean;
}

/** A refresh token; rotated and revoked ones are kept so they can be rejected with the right error. */
export interface RefreshTokenRecord {
  username: string;
  clientId: string;
  familyId?: string;
  scopes: string[];
  /** Epoch seconds of the original sign-in. */
  authTime: number;
  status: "active" | "rotated" | "revoked";
}

/** An account signed in to a browser session. */
export interface SessionAccount {
  username: string;
  /** Epoch ms of the sign-in. */
  authTime: number;
}

/** A browser session, identified by its cookie. */
export interface Session {
  id: string;
  accounts: SessionAccount[];
}

/** The validated parameters of an authorization request. */
export interface AuthorizeParams {
  tenant: string;
  clientId: string;
  redirectUri: string;
  responseMode: "query" | "fragment" | "form_post";
  scopes: string[];
  state?: string;
  nonce?: string;
  codeChallenge?: string;
  prompt?: string;
  loginHint?: string;
  domainHint?: string;
  claims?: string;
  /** Seconds. */
  maxAge?: number;
  /** `client_info=1`: the response carries the user's `client_info`. */
  clientInfo?: boolean;
  /** Strict OIDC: the `iss` every response to this request carries (RFC 9207). */
  iss?: string;
}

/** An authorization request waiting for the user (login form, account picker or consent page). */
export interface PendingAuthorization {
  id: string;
  params: AuthorizeParams;
  /** Set once the user is known and only consent is missing. */
  account?: SessionAccount;
}

/** All mutable state of one fake authority. */
export class AuthorityState {
  /** By device code. */
  readonly deviceCodes: Map<string, DeviceCodeRecord> = new Map();
  /** By authorization code. */
  readonly authCodes: Map<string, AuthCodeRecord> = new Map();
  /** By refresh token. */
  readonly refreshTokens: Map<string, RefreshTokenRecord> = new Map();
  /** By session id. */
  readonly sessions: Map<string, Session> = new Map();
  /** By request id. */
  readonly pending: Map<string, PendingAuthorization> = new Map();
  /** Claims to put into the next ID tokens, first queued first used. */
  readonly idTokenOverrides: { claims: Record<string, unknown>; remaining: number }[] = [];

  /** The claims override for the next ID token, if one is queued. */
  takeIdTokenOverride(): Record<string, unknown> | undefined {
    const head = this.idTokenOverrides[0];
    if (!head) return undefined;
    if (--head.remaining <= 0) this.idTokenOverrides.shift();
    return head.claims;
  }

  /** Finds a device code by the code the user types, ignoring case, spaces and dashes. */
  deviceCodeByUserCode(userCode: string): DeviceCodeRecord | undefined {
    const wanted = normalizeUserCode(userCode);
    for (const record of this.deviceCodes.values()) {
      if (record.userCode === wanted) return record;
    }
    return undefined;
  }
}

/** Uppercases a user code and drops separators. */
function normalizeUserCode(userCode: string): string {
  return userCode.toUpperCase().replace(/[\s-]/g, "");
}

/** A random opaque string of `bytes` random bytes, base64url. */
export function randomToken(bytes = 32): string {
  return base64UrlEncode(crypto.getRandomValues(new Uint8Array(bytes)));
}

// No 0/O, 1/I/L: the code is read off one screen and typed on another.
const USER_CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789";

/** An 8-character code a user can type. */
export function randomUserCode(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(8));
  return Array.from(bytes, (b) => USER_CODE_ALPHABET[b % USER_CODE_ALPHABET.length]).join("");
}
