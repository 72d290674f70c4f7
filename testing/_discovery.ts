// Discovery endpoints: instance discovery, OpenID Connect metadata and the JWKS.

import type { Hono } from "hono";
import type { AuthorityContext, Ctx, HonoEnv } from "./_context.ts";
import { entraError } from "./_errors.ts";

const META_TENANTS = new Set(["common", "organizations", "consumers"]);

/** `invalid_tenant` (AADSTS90002) when the tenant path segment is unknown, else undefined. */
export function unknownTenant(c: Ctx, ctx: AuthorityContext, tenant: string): Response | undefined {
  if (ctx.isKnownTenant(tenant)) return undefined;
  return entraError(c, {
    error: "invalid_tenant",
    description:
      `AADSTS90002: Tenant '${tenant}' not found. Check to make sure you have the correct tenant ID.`,
  });
}

/** One cloud's entry in instance discovery metadata. */
interface CloudMetadata {
  preferred_network: string;
  preferred_cache: string;
  aliases: string[];
}

// What Entra's instance discovery answers for the public, China, Germany and US government clouds.
const KNOWN_CLOUDS: CloudMetadata[] = [
  {
    preferred_network: "login.microsoftonline.com",
    preferred_cache: "login.windows.net",
    aliases: ["login.microsoftonline.com", "login.windows.net", "login.microsoft.com", "sts.windows.net"],
  },
  {
    preferred_network: "login.partner.microsoftonline.cn",
    preferred_cache: "login.partner.microsoftonline.cn",
    aliases: ["login.partner.microsoftonline.cn", "login.chinacloudapi.cn"],
  },
  {
    preferred_network: "login.microsoftonline.de",
    preferred_cache: "login.microsoftonline.de",
    aliases: ["login.microsoftonline.de"],
  },
  {
    preferred_network: "login.microsoftonline.us",
    preferred_cache: "login.microsoftonline.us",
    aliases: ["login.microsoftonline.us", "login.usgovcloudapi.net"],
  },
  {
    preferred_network: "login-us.microsoftonline.com",
    preferred_cache: "login-us.microsoftonline.com",
    aliases: ["login-us.microsoftonline.com"],
  },
];

/**
 * The instance discovery metadata: Entra's real cloud list when the origin is an Entra host, else one
 * entry for the origin (plus `localhost`/`127.0.0.1` twins for a loopback origin).
 */
function instanceMetadata(origin: string): CloudMetadata[] {
  const url = new URL(origin);
  const host = url.host.toLowerCase();
  if (KNOWN_CLOUDS.some((cloud) => cloud.aliases.includes(host))) return KNOWN_CLOUDS;
  const aliases = [host];
  if (url.hostname === "127.0.0.1" || url.hostname === "localhost") {
    const port = url.port ? `:${url.port}` : "";
    for (const name of ["127.0.0.1", "localhost"]) {
      if (!aliases.includes(name + port)) aliases.push(name + port);
    }
  }
  return [{ preferred_network: host, preferred_cache: host, aliases }];
}

/** The hosts this authority answers to: the aliases of the origin's cloud, the origin's host first. */
export function aliasesOf(origin: string): string[] {
  const host = new URL(origin).host.toLowerCase();
  const cloud = instanceMetadata(origin).find((c) => c.aliases.includes(host));
  return [host, ...(cloud?.aliases ?? []).filter((h) => h !== host)];
}

// Entra publishes endpoints under the tenant id for domain authorities, and keeps the meta tenants.
function endpointTenant(ctx: AuthorityContext, tenant: string): string {
  const lower = tenant.toLowerCase();
  if (META_TENANTS.has(lower)) return lower;
  return ctx.users.some((u) => u.tenantId.toLowerCase() === lower) ? lower : ctx.config.defaultTenant;
}

/** The `issuer` of the metadata at the `tenant` path: Entra's `{tenantid}` template for multi-tenant paths. */
export function issuerOf(ctx: AuthorityContext, tenant: string): string {
  const lower = tenant.toLowerCase();
  const issuerTenant = lower === "common" || lower === "organizations"
    ? "{tenantid}"
    : lower === "consumers"
    ? ctx.config.defaultTenant
    : endpointTenant(ctx, tenant);
  return `${ctx.origin}/${issuerTenant}/v2.0`;
}

/** Registers the discovery routes on `app`. */
export function registerDiscovery(app: Hono<HonoEnv>, ctx: AuthorityContext): void {
  app.get("/:tenant/discovery/instance", (c) => {
    const endpoint = c.req.query("authorization_endpoint");
    let tenant = "common";
    if (endpoint !== undefined) {
      let url: URL;
      try {
        url = new URL(endpoint);
      } catch {
        return entraError(c, {
          error: "invalid_request",
          description: "AADSTS50049: Unknown or invalid instance.",
        });
      }
      if (!aliasesOf(ctx.origin).includes(url.host.toLowerCase())) {
        return entraError(c, {
          error: "invalid_instance",
          description: "AADSTS50049: Unknown or invalid instance.",
        });
      }
      tenant = url.pathname.split("/").filter(Boolean)[0] ?? "common";
    }
    return c.json({
      tenant_discovery_endpoint: `${ctx.origin}/${tenant}/v2.0/.well-known/openid-configuration`,
      "api-version": "1.1",
      metadata: instanceMetadata(ctx.origin),
    });
  });

  app.get("/:tenant/v2.0/.well-known/openid-configuration", (c) => {
    const tenant = c.req.param("tenant");
    const unknown = unknownTenant(c, ctx, tenant);
    if (unknown) return unknown;
    const segment = endpointTenant(ctx, tenant);
    const base = `${ctx.origin}/${segment}`;
    const strict = ctx.config.strictOidc
      ? {
        userinfo_endpoint: `${base}/openid/userinfo`,
        authorization_response_iss_parameter_supported: true,
      }
      : {};
    return c.json({
      ...strict,
      token_endpoint: `${base}/oauth2/v2.0/token`,
      token_endpoint_auth_methods_supported: ["client_secret_post", "private_key_jwt", "client_secret_basic"],
      jwks_uri: `${base}/discovery/v2.0/keys`,
      response_modes_supported: ["query", "fragment", "form_post"],
      subject_types_supported: ["pairwise"],
      id_token_signing_alg_values_supported: ["RS256"],
      response_types_supported: ["code", "id_token", "code id_token", "id_token token"],
      scopes_supported: ["openid", "profile", "email", "offline_access"],
      issuer: issuerOf(ctx, tenant),
      request_uri_parameter_supported: false,
      authorization_endpoint: `${base}/oauth2/v2.0/authorize`,
      device_authorization_endpoint: `${base}/oauth2/v2.0/devicecode`,
      end_session_endpoint: `${base}/oauth2/v2.0/logout`,
      http_logout_supported: true,
      frontchannel_logout_supported: true,
      grant_types_supported: [
        "authorization_code",
        "refresh_token",
        "password",
        "urn:ietf:params:oauth:grant-type:device_code",
      ],
      code_challenge_methods_supported: ["S256"],
      claims_supported: [
        "sub",
        "iss",
        "aud",
        "exp",
        "iat",
        "auth_time",
        "nonce",
        "preferred_username",
        "name",
        "tid",
        "ver",
        "oid",
      ],
      tenant_region_scope: null,
      cloud_instance_name: "microsoftonline.com",
      cloud_graph_host_name: "graph.windows.net",
      msgraph_host: "graph.microsoft.com",
    });
  });

  const keys = (c: Ctx) => {
    const unknown = unknownTenant(c, ctx, c.req.param("tenant") ?? "");
    return unknown ?? c.json({ keys: [ctx.key.jwk] });
  };
  app.get("/:tenant/discovery/v2.0/keys", keys);
  app.get("/:tenant/discovery/keys", keys);
}
