/**
 * Parses and classifies authorities the way MSAL Python does (Entra ID, ADFS, B2C, CIAM, generic
 * OIDC, dSTS), and resolves their metadata through instance and tenant discovery, each fetched once.
 *
 * @module
 */

import { AuthorityError, ConfigurationError } from "./errors.ts";
import { isJsonObject } from "./_json.ts";

/** The kind of authority; everything but `"AAD"` bypasses the broker. */
export type AuthorityType = "AAD" | "ADFS" | "B2C" | "CIAM" | "OIDC" | "DSTS";

/** An authority URL taken apart. */
export interface ParsedAuthority {
  /** The authority as configured, without a trailing slash, e.g. `https://login.microsoftonline.com/common`. */
  readonly url: string;
  /** `protocol//host[:port]`. */
  readonly origin: string;
  /** `host[:port]`, lower-case: the cache's `environment` unless discovery prefers another alias. */
  readonly host: string;
  /** The tenant path segment (`common`, a GUID, a domain, `adfs`), or `""` for OIDC authorities. */
  readonly tenant: string;
  /** The classification that drives the broker bypass. */
  readonly type: AuthorityType;
}

/** Hosts of Microsoft's public and sovereign clouds; MSAL trusts them without instance discovery. */
const WELL_KNOWN_AUTHORITY_HOSTS: ReadonlySet<string> = new Set([
  "login.microsoftonline.com",
  "login.windows.net",
  "login.microsoft.com",
  "sts.windows.net",
  "login.chinacloudapi.cn",
  "login.partner.microsoftonline.cn",
  "login.microsoftonline.de",
  "login.microsoftonline.us",
  "login.usgovcloudapi.net",
  "login-us.microsoftonline.com",
]);

/**
 * Entra ID's clouds as its instance discovery describes them (`aliases`, `preferred_cache`): the cache
 * environments of a well-known host are known without asking, as in every MSAL's built-in metadata.
 */
const KNOWN_CLOUDS: readonly { preferredCache: string; aliases: readonly string[] }[] = [
  {
    preferredCache: "login.windows.net",
    aliases: ["login.microsoftonline.com", "login.windows.net", "login.microsoft.com", "sts.windows.net"],
  },
  {
    preferredCache: "login.partner.microsoftonline.cn",
    aliases: ["login.partner.microsoftonline.cn", "login.chinacloudapi.cn"],
  },
  { preferredCache: "login.microsoftonline.de", aliases: ["login.microsoftonline.de"] },
  {
    preferredCache: "login.microsoftonline.us",
    aliases: ["login.microsoftonline.us", "login.usgovcloudapi.net"],
  },
  { preferredCache: "login-us.microsoftonline.com", aliases: ["login-us.microsoftonline.com"] },
];

const B2C_HOST_SUFFIXES = [".b2clogin.com", ".b2clogin.cn", ".b2clogin.us", ".b2clogin.de"];
const LOOPBACK_HOSTNAMES = new Set(["127.0.0.1", "localhost", "[::1]"]);

/** Whether `hostname` is a loopback host, where plain `http` is allowed. */
function isLoopbackHostname(hostname: string): boolean {
  return LOOPBACK_HOSTNAMES.has(hostname.toLowerCase());
}

/**
 * Parses a URL that must be https, or plain http on a loopback host.
 *
 * @param value the URL
 * @param what what the URL is, for the message, e.g. `"authority"`
 * @returns the parsed URL
 * @throws {ConfigurationError} for a value that is not a URL or not such a URL.
 */
export function parseHttpsUrl(value: string, what: string): URL {
  let url: URL;
  try {
    url = new URL(value);
  } catch (cause) {
    throw new ConfigurationError(`${what} is not a valid URL: ${value}`, { cause });
  }
  const secure = url.protocol === "https:" || (url.protocol === "http:" && isLoopbackHostname(url.hostname));
  if (!secure) {
    throw new ConfigurationError(
      `${what} must use https (plain http is allowed only for 127.0.0.1, localhost and [::1]): ${value}`,
    );
  }
  return url;
}

/**
 * Parses and classifies an authority URL.
 *
 * @param authority e.g. `https://login.microsoftonline.com/contoso.onmicrosoft.com`
 * @param options.oidc true when the URL came from the `oidcAuthority` option
 * @throws {ConfigurationError} for a non-URL, a non-https non-loopback URL, or a missing tenant.
 * @example
 * ```ts
 * parseAuthority("https://contoso.b2clogin.com/contoso.onmicrosoft.com/B2C_1_signin").type; // "B2C"
 * ```
 */
export function parseAuthority(authority: string, options: { oidc?: boolean } = {}): ParsedAuthority {
  const url = parseHttpsUrl(authority, options.oidc ? "oidcAuthority" : "authority");
  const segments = url.pathname.split("/").filter(Boolean);
  const host = url.host.toLowerCase();
  const base = `${url.protocol}//${host}`;
  const withPath = segments.length ? `${base}/${segments.join("/")}` : base;

  if (options.oidc) return { url: withPath, origin: base, host, tenant: "", type: "OIDC" };
  if (segments[0]?.toLowerCase() === "dstsv2") {
    return { url: withPath, origin: base, host, tenant: segments[1] ?? "", type: "DSTS" };
  }
  if (host.endsWith(".ciamlogin.com")) {
    // MSAL Python: "https://contoso.ciamlogin.com/" means tenant "contoso.onmicrosoft.com".
    const tenant = segments[0] ?? `${url.hostname.split(".")[0]}.onmicrosoft.com`;
    return { url: `${base}/${tenant}`, origin: base, host, tenant, type: "CIAM" };
  }
  if (B2C_HOST_SUFFIXES.some((suffix) => url.hostname.toLowerCase().endsWith(suffix))) {
    const tenant = segments[0]?.toLowerCase() === "tfp" ? segments[1] : segments[0];
    if (!tenant) throw new ConfigurationError(`The B2C authority has no tenant: ${authority}`);
    return { url: withPath, origin: base, host, tenant, type: "B2C" };
  }
  if (!segments[0]) {
    throw new ConfigurationError(
      `The authority has no tenant: ${authority}. Use e.g. ${base}/common or ${base}/<tenant id>.`,
    );
  }
  if (segments.length === 2 && segments[1].toLowerCase().startsWith("b2c_")) {
    return { url: withPath, origin: base, host, tenant: segments[0], type: "B2C" };
  }
  if (segments[0].toLowerCase() === "adfs") {
    return { url: `${base}/adfs`, origin: base, host, tenant: "adfs", type: "ADFS" };
  }
  return { url: `${base}/${segments[0]}`, origin: base, host, tenant: segments[0], type: "AAD" };
}

/** The endpoints an app needs, from the authority's OpenID configuration. */
export interface AuthorityEndpoints {
  /** The OIDC issuer from the metadata, which ID tokens' `iss` must match; `undefined` when it names none. */
  readonly issuer?: string;
  /** Where the browser goes to sign in. */
  readonly authorizationEndpoint: string;
  /** Where codes, refresh tokens and device codes are redeemed. */
  readonly tokenEndpoint: string;
  /** Where device codes are requested, when the authority supports the device flow. */
  readonly deviceAuthorizationEndpoint?: string;
  /** Where the browser signs out, when known. */
  readonly endSessionEndpoint?: string;
  /** The OpenID Connect UserInfo endpoint, when the metadata names one. */
  readonly userinfoEndpoint?: string;
  /**
   * RFC 9207: the authority puts `iss` in every authorization response
   * (`authorization_response_iss_parameter_supported: true`), so a response without it is refused.
   */
  readonly issParameterSupported: boolean;
}

/** A parsed authority plus its discovered metadata: what every token request needs. */
export interface ResolvedAuthority extends ParsedAuthority, AuthorityEndpoints {
  /** The `environment` written into the cache (instance discovery's `preferred_cache`, else the host). */
  readonly environment: string;
  /** Every alias of the host, the environment first: cache entries under any of them belong to this app. */
  readonly environments: readonly string[];
  /**
   * The cache `realm`, as MSAL Python derives it: the token endpoint's first path segment. Entries of
   * Entra ID tenants are written under the ID token's `tid` instead when it has one
   * ({@linkcode realmFollowsIdToken}).
   */
  readonly realm: string;
  /** True when the developer vouched for the authority (`validateAuthority: false` or no instance discovery). */
  readonly knownToDeveloper: boolean;
}

/**
 * What the token cache needs of an authority: where its entries live (`environment`, `environments`)
 * and under which `realm`. A {@linkcode ResolvedAuthority} is one; {@linkcode cacheViewOf} builds one
 * without the network when it can.
 */
export type CacheView = Pick<
  ResolvedAuthority,
  | "url"
  | "origin"
  | "host"
  | "tenant"
  | "type"
  | "environment"
  | "environments"
  | "realm"
  | "knownToDeveloper"
>;

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * The authority's {@linkcode CacheView} without any request, or `undefined` when only discovery can
 * tell: listing accounts and serving a cached access token then need no network.
 * - environments: the host alone for B2C, CIAM, ADFS, OIDC, dSTS and when instance discovery is off;
 *   a well-known Entra host's cloud (its aliases, `preferred_cache` first); other Entra hosts need
 *   instance discovery.
 * - realm: B2C, ADFS and OIDC are searched under any realm ({@linkcode cacheRealms}); an Entra or CIAM
 *   tenant given as `common`, `organizations`, `consumers` or a tenant id is the token endpoint's own
 *   segment; a tenant given by domain name needs tenant discovery to learn its id.
 */
export function cacheViewOf(
  parsed: ParsedAuthority,
  options: Omit<DiscoveryOptions, "getJson">,
): CacheView | undefined {
  const knownToDeveloper = options.instanceDiscovery === false || options.validateAuthority === false;
  let environments: string[] = [parsed.host];
  if (parsed.type === "AAD" && !knownToDeveloper) {
    const cloud = typeof options.instanceDiscovery === "string" ? undefined : knownCloudOf(parsed.host);
    if (!cloud) return undefined;
    environments = [...new Set([cloud.preferredCache, parsed.host, ...cloud.aliases])];
  }
  let realm = parsed.tenant;
  if (realmFollowsIdToken(parsed)) {
    const tenant = parsed.tenant.toLowerCase();
    if (parsed.type === "DSTS" || !(MULTI_TENANT_REALMS.has(tenant) || GUID.test(tenant))) return undefined;
    realm = tenant;
  }
  return { ...parsed, environment: environments[0], environments, realm, knownToDeveloper };
}

function knownCloudOf(host: string): (typeof KNOWN_CLOUDS)[number] | undefined {
  return KNOWN_CLOUDS.find((cloud) => cloud.aliases.includes(host));
}

/** How to discover an authority's metadata. */
export interface DiscoveryOptions {
  /** `false` skips instance discovery; a string is a custom instance-discovery endpoint. Default `true`. */
  instanceDiscovery?: boolean | string;
  /** `false` trusts an unknown host without asking instance discovery. Default `true`. */
  validateAuthority?: boolean;
  /** Fetches JSON; throws on transport failure. */
  getJson: (url: string) => Promise<{ status: number; body: unknown }>;
}

interface InstanceMetadata {
  preferred_cache?: string;
  preferred_network?: string;
  aliases?: string[];
}

function instanceDiscoveryUrl(parsed: ParsedAuthority, custom: string | undefined): string {
  const origin =
    WELL_KNOWN_AUTHORITY_HOSTS.has(parsed.host) || isLoopbackHostname(new URL(parsed.origin).hostname)
      ? parsed.origin
      : "https://login.microsoftonline.com";
  const url = custom
    ? parseHttpsUrl(custom, "instanceDiscovery")
    : new URL(`${origin}/common/discovery/instance`);
  url.searchParams.set("api-version", "1.1");
  // As MSAL Python: the authority's own tenant, so the tenant_discovery_endpoint it answers keeps it.
  url.searchParams.set("authorization_endpoint", `${parsed.url}/oauth2/v2.0/authorize`);
  return url.href;
}

function asObject(body: unknown, what: string): Record<string, unknown> {
  if (!isJsonObject(body)) throw new AuthorityError(`${what} did not answer with a JSON object`);
  return body;
}

function optionalString(body: Record<string, unknown>, field: string, what: string): string | undefined {
  const value = body[field];
  if (value === undefined) return undefined;
  if (typeof value !== "string") throw new AuthorityError(`${what} has a non-string "${field}"`);
  return value;
}

/**
 * An endpoint the server named: an https URL (plain http only on loopback hosts), else the server is at
 * fault and discovery fails with an {@linkcode AuthorityError}.
 */
function optionalEndpoint(body: Record<string, unknown>, field: string, what: string): string | undefined {
  const value = optionalString(body, field, what);
  if (value === undefined) return undefined;
  try {
    parseHttpsUrl(value, `${what}'s "${field}"`);
  } catch (cause) {
    throw new AuthorityError((cause as Error).message, { cause });
  }
  return value;
}

function requiredEndpoint(body: Record<string, unknown>, field: string, what: string): string {
  const value = optionalEndpoint(body, field, what);
  if (!value) throw new AuthorityError(`${what} has no "${field}"`);
  return value;
}

async function discoverInstance(
  parsed: ParsedAuthority,
  options: DiscoveryOptions,
): Promise<{ metadata?: InstanceMetadata; tenantDiscoveryEndpoint?: string }> {
  const custom = typeof options.instanceDiscovery === "string" ? options.instanceDiscovery : undefined;
  const url = instanceDiscoveryUrl(parsed, custom);
  const { status, body } = await options.getJson(url);
  const json = asObject(body, "Instance discovery");
  if (json.error === "invalid_instance") {
    throw new AuthorityError(
      `invalid_instance: The authority you provided, ${parsed.url}, is not whitelisted. ` +
        "If it is indeed your legit customized domain name, you can turn off this check by passing in " +
        "instanceDiscovery: false",
    );
  }
  if (status >= 400) throw new AuthorityError(`Instance discovery failed with HTTP ${status}`);
  const entries = Array.isArray(json.metadata) ? json.metadata as InstanceMetadata[] : [];
  const metadata = entries.find((entry) =>
    Array.isArray(entry?.aliases) && entry.aliases.some((alias) => alias.toLowerCase() === parsed.host)
  );
  return {
    metadata,
    tenantDiscoveryEndpoint: optionalEndpoint(json, "tenant_discovery_endpoint", "Instance discovery"),
  };
}

function openIdConfigurationUrl(parsed: ParsedAuthority): string {
  return parsed.type === "ADFS" || parsed.type === "OIDC" || parsed.type === "DSTS"
    ? `${parsed.url}/.well-known/openid-configuration`
    : `${parsed.url}/v2.0/.well-known/openid-configuration`;
}

/**
 * The cache `realm` of an authority: MSAL Python's `canonicalize(token_endpoint)`, i.e. the first path
 * segment of the token endpoint (`common`, a tenant id, `adfs`, or a B2C tenant's domain such as
 * `fabrikamb2c.onmicrosoft.com`, never its policy). dSTS keeps the tenant after `/dstsv2`.
 */
function realmOf(tokenEndpoint: string, parsed: ParsedAuthority): string {
  const segments = new URL(tokenEndpoint).pathname.split("/").filter(Boolean);
  if (parsed.type === "DSTS") {
    const index = segments.findIndex((segment) => segment.toLowerCase() === "oauth2");
    return index > 0 ? segments[index - 1] : parsed.tenant;
  }
  return segments[0] ?? parsed.tenant;
}

const MULTI_TENANT_REALMS = new Set(["common", "organizations", "consumers"]);

/**
 * Whether cache entries of this authority are written under the ID token's `tid` (Entra ID, CIAM and
 * dSTS tenants, as msal-node and brokers write them) rather than under the authority's
 * {@linkcode ResolvedAuthority.realm} (B2C, ADFS and generic OIDC, as MSAL Python writes them: a B2C
 * `tid` names the directory, not the tenant segment every lookup uses).
 */
export function realmFollowsIdToken(authority: ParsedAuthority): boolean {
  return authority.type === "AAD" || authority.type === "CIAM" || authority.type === "DSTS";
}

/**
 * The cache realms to search for an account's access tokens, in order; `[undefined]` means any realm.
 * - A single Entra ID (or CIAM, dSTS) tenant: its realm only, never a token of another tenant (guests).
 * - `common`, `organizations`, `consumers`: the authority's realm (MSAL Python writes it), then the
 *   account's tenant (what msal-node and this library write: the ID token's `tid`).
 * - B2C, ADFS, generic OIDC: one realm per authority, spelled differently by each library (MSAL Python
 *   the token endpoint's first segment, msal-node the ID token's `tid`, else B2C's `tfp` or `acr`), so
 *   any realm: the home account, app, environment and scopes still have to match.
 */
export function cacheRealms(authority: CacheView, accountRealm: string): (string | undefined)[] {
  if (!realmFollowsIdToken(authority)) return [undefined];
  return MULTI_TENANT_REALMS.has(authority.realm.toLowerCase())
    ? [...new Set([authority.realm, accountRealm])]
    : [authority.realm];
}

/**
 * Whether `actual` is the issuer `expected`, where Entra's multi-tenant template
 * (`https://login.microsoftonline.com/{tenantid}/v2.0`) takes `tenantId`, or any one path segment
 * when no tenant is known.
 */
export function issuerMatches(expected: string, actual: string | undefined, tenantId?: string): boolean {
  if (actual === undefined) return false;
  if (!expected.includes("{tenantid}")) return actual === expected;
  if (tenantId) return actual === expected.replaceAll("{tenantid}", tenantId);
  const [before, after] = expected.split("{tenantid}");
  if (actual.length <= before.length + after.length) return false;
  const middle = actual.slice(before.length, actual.length - after.length);
  return actual.startsWith(before) && actual.endsWith(after) && /^[^/]+$/.test(middle);
}

/**
 * Resolves an authority's metadata: instance discovery (Entra ID only, unless turned off; the clouds of
 * well-known hosts are built in), then the OpenID configuration.
 *
 * @param parsed the authority, as {@linkcode parseAuthority} took it apart
 * @param options whether and where to run instance discovery, and how to fetch JSON
 * @returns the authority with its endpoints, cache environments and realm
 * @throws {AuthorityError} when discovery answers with an error, or its answers are malformed (not a
 * JSON object, a missing or mistyped field, an endpoint that is not https).
 * @throws {ConfigurationError} when the custom `instanceDiscovery` endpoint is not an https URL.
 * @throws {NetworkError} passed on from `options.getJson` (the app's HTTP client: the server cannot be
 * reached, answers with something that is not JSON, or redirects discovery elsewhere).
 */
export async function resolveAuthority(
  parsed: ParsedAuthority,
  options: DiscoveryOptions,
): Promise<ResolvedAuthority> {
  const knownToDeveloper = options.instanceDiscovery === false || options.validateAuthority === false;
  let instance: Awaited<ReturnType<typeof discoverInstance>> = {};
  // A well-known host's cloud is known (KNOWN_CLOUDS): no instance discovery round trip, as MSAL Python.
  const cloud = typeof options.instanceDiscovery === "string" ? undefined : knownCloudOf(parsed.host);
  if (cloud && parsed.type === "AAD" && !knownToDeveloper) {
    instance = { metadata: { preferred_cache: cloud.preferredCache, aliases: [...cloud.aliases] } };
  } else if (parsed.type === "AAD" && !knownToDeveloper) {
    instance = await discoverInstance(parsed, options);
  }

  const configUrl = instance.tenantDiscoveryEndpoint && !WELL_KNOWN_AUTHORITY_HOSTS.has(parsed.host)
    ? instance.tenantDiscoveryEndpoint
    : openIdConfigurationUrl(parsed);
  const { status, body } = await options.getJson(configUrl);
  if (status >= 400) {
    throw new AuthorityError(`Tenant discovery at ${configUrl} failed with HTTP ${status}`);
  }
  const what = "The OpenID configuration";
  const config = asObject(body, what);
  const tokenEndpoint = requiredEndpoint(config, "token_endpoint", what);
  const authorizationEndpoint = requiredEndpoint(config, "authorization_endpoint", what);

  const aliases = (instance.metadata?.aliases ?? []).map((alias) => alias.toLowerCase());
  const environment = instance.metadata?.preferred_cache?.toLowerCase() ?? parsed.host;
  const environments = [...new Set([environment, parsed.host, ...aliases])];
  return {
    ...parsed,
    issuer: optionalString(config, "issuer", what),
    authorizationEndpoint,
    tokenEndpoint,
    deviceAuthorizationEndpoint: optionalEndpoint(config, "device_authorization_endpoint", what),
    endSessionEndpoint: optionalEndpoint(config, "end_session_endpoint", what),
    userinfoEndpoint: optionalEndpoint(config, "userinfo_endpoint", what),
    issParameterSupported: config.authorization_response_iss_parameter_supported === true,
    environment,
    environments,
    realm: realmOf(tokenEndpoint, parsed),
    knownToDeveloper,
  };
}
