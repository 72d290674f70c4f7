// The shared context every route module of the fake authority works against: configuration, users,
// clients, the signing key and the mutable state.

import type { Context } from "hono";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import type { FakeClient, RecordedRequest } from "./_types.ts";
import type { SigningKey } from "./_jwt.ts";
import { AuthorityState, type ResolvedUser } from "./_state.ts";

/** The hono environment of the fake authority's app. */
export type HonoEnv = {
  Variables: {
    /** The request as recorded (form already parsed). */
    recorded: RecordedRequest;
    /** This request's trace id (sent as `x-ms-request-id`). */
    traceId: string;
    /** The `client-request-id` header, or a fresh id. */
    correlationId: string;
  };
};

/** A hono context of the fake authority. */
export type Ctx = Context<HonoEnv>;

/** Settings fixed at start-up. */
export interface AuthorityConfig {
  /** Public origin, no trailing slash. */
  origin: string;
  /** Where the server really listens. */
  url: string;
  /** Tenant id for tenant-less or domain authorities. */
  defaultTenant: string;
  /** Seconds. */
  accessTokenLifetime: number;
  /** Seconds; undefined when not configured. */
  refreshIn?: number;
  /** Seconds. */
  deviceCodeInterval: number;
  /** Seconds. */
  deviceCodeLifetime: number;
  /** Plays a spec-strict OpenID Connect provider (see `FakeAuthorityOptions.strictOidc`). */
  strictOidc: boolean;
}

const META_TENANTS = new Set(["common", "organizations", "consumers"]);

/** Configuration, directory and state shared by the routes. */
export class AuthorityContext {
  /** Mutable state: codes, tokens, sessions. */
  readonly state: AuthorityState = new AuthorityState();

  /** Start-up settings. */
  readonly config: AuthorityConfig;
  /** The directory. */
  readonly users: ResolvedUser[];
  /** Clients with a family; any other client id is accepted too. */
  readonly clients: FakeClient[];
  /** The token signing key. */
  readonly key: SigningKey;

  /** Creates the context. */
  constructor(config: AuthorityConfig, users: ResolvedUser[], clients: FakeClient[], key: SigningKey) {
    this.config = config;
    this.users = users;
    this.clients = clients;
    this.key = key;
  }

  /** The public origin, e.g. `https://login.microsoftonline.com`. */
  get origin(): string {
    return this.config.origin;
  }

  /** Looks a user up by sign-in name, ignoring case. */
  findUser(username: string | undefined): ResolvedUser | undefined {
    if (!username) return undefined;
    const wanted = username.toLowerCase();
    return this.users.find((u) => u.username.toLowerCase() === wanted);
  }

  /** The family id of a client, when it is configured as a FOCI client. */
  familyOf(clientId: string): string | undefined {
    return this.clients.find((c) => c.clientId === clientId)?.familyId;
  }

  /** Whether a tenant path segment names a tenant this authority serves. */
  isKnownTenant(segment: string): boolean {
    const lower = segment.toLowerCase();
    return META_TENANTS.has(lower) || lower.includes(".") || lower === this.config.defaultTenant ||
      this.users.some((u) => u.tenantId.toLowerCase() === lower);
  }

  /** The tenant id a token for `user` carries when requested at the `segment` authority. */
  tenantFor(segment: string, user: ResolvedUser): string {
    const lower = segment.toLowerCase();
    if (lower === "common" || lower === "organizations") return user.tenantId;
    if (this.users.some((u) => u.tenantId.toLowerCase() === lower)) return lower;
    return this.config.defaultTenant;
  }

  /** The issuer of tokens for tenant `tid`. */
  issuer(tid: string): string {
    return `${this.origin}/${tid}/v2.0`;
  }
}

/**
 * The context of each running fake authority, for other fakes of the kit that sign tokens with its key
 * (the fake Linux broker). Keyed by the `FakeAuthority` object; never exported from `mod.ts`.
 */
export const authorityContexts: WeakMap<object, AuthorityContext> = new WeakMap();

/** Casts a numeric status for hono's typed responders. */
export function status(code: number): ContentfulStatusCode {
  return code as ContentfulStatusCode;
}
