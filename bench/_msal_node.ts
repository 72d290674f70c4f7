/**
 * An @azure/msal-node `PublicClientApplication` configured to run without any network: authority and
 * cloud-discovery metadata are given inline and the network client throws if it is ever used.
 *
 * @module
 */

import { type AccountInfo, type ICachePlugin, PublicClientApplication } from "@azure/msal-node";
import type { FixtureAccount } from "./_fixtures.ts";

const HOST = "login.microsoftonline.com";

function authorityMetadata(tenant: string): string {
  const base = `https://${HOST}/${tenant}`;
  return JSON.stringify({
    token_endpoint: `${base}/oauth2/v2.0/token`,
    token_endpoint_auth_methods_supported: ["client_secret_post", "private_key_jwt", "client_secret_basic"],
    jwks_uri: `${base}/discovery/v2.0/keys`,
    response_modes_supported: ["query", "fragment", "form_post"],
    subject_types_supported: ["pairwise"],
    id_token_signing_alg_values_supported: ["RS256"],
    response_types_supported: ["code", "id_token", "code id_token", "id_token token"],
    scopes_supported: ["openid", "profile", "email", "offline_access"],
    issuer: `${base}/v2.0`,
    request_uri_parameter_supported: false,
    userinfo_endpoint: "https://graph.microsoft.com/oidc/userinfo",
    authorization_endpoint: `${base}/oauth2/v2.0/authorize`,
    device_authorization_endpoint: `${base}/oauth2/v2.0/devicecode`,
    http_logout_supported: true,
    frontchannel_logout_supported: true,
    end_session_endpoint: `${base}/oauth2/v2.0/logout`,
    claims_supported: ["sub", "iss", "aud", "exp", "iat", "tid", "oid", "preferred_username", "name"],
    kerberos_endpoint: `${base}/kerberos`,
    tenant_region_scope: "NA",
    cloud_instance_name: "microsoftonline.com",
    cloud_graph_host_name: "graph.windows.net",
    msgraph_host: "graph.microsoft.com",
    rbac_url: "https://pas.windows.net",
  });
}

function cloudDiscoveryMetadata(tenant: string): string {
  return JSON.stringify({
    tenant_discovery_endpoint: `https://${HOST}/${tenant}/v2.0/.well-known/openid-configuration`,
    "api-version": "1.1",
    metadata: [{
      preferred_network: HOST,
      preferred_cache: HOST,
      aliases: [HOST, "login.windows.net", "login.microsoft.com", "sts.windows.net"],
    }],
  });
}

/** The metadata a msal-node app needs to run offline at `https://login.microsoftonline.com/<tenant>`. */
export function offlineMetadata(
  tenant: string,
): { authorityMetadata: string; cloudDiscoveryMetadata: string } {
  return {
    authorityMetadata: authorityMetadata(tenant),
    cloudDiscoveryMetadata: cloudDiscoveryMetadata(tenant),
  };
}

const offlineNetwork = {
  sendGetRequestAsync(): Promise<never> {
    return Promise.reject(new Error("benchmark: msal-node tried to use the network"));
  },
  sendPostRequestAsync(): Promise<never> {
    return Promise.reject(new Error("benchmark: msal-node tried to use the network"));
  },
};

/**
 * A msal-node public client for `clientId` at `https://login.microsoftonline.com/<tenant>`, offline,
 * optionally persisting through `cachePlugin`.
 */
export function createOfflineMsalNodeApp(
  clientId: string,
  tenant: string,
  cachePlugin?: ICachePlugin,
): PublicClientApplication {
  return new PublicClientApplication({
    ...(cachePlugin && { cache: { cachePlugin } }),
    auth: {
      clientId,
      authority: `https://${HOST}/${tenant}`,
      authorityMetadata: authorityMetadata(tenant),
      cloudDiscoveryMetadata: cloudDiscoveryMetadata(tenant),
      knownAuthorities: [HOST],
    },
    system: { networkClient: offlineNetwork },
  });
}

/** The `AccountInfo` msal-node expects for a generated account. */
export function msalNodeAccount(account: FixtureAccount): AccountInfo {
  return {
    homeAccountId: account.homeAccountId,
    environment: account.environment,
    tenantId: account.realm,
    username: account.username,
    localAccountId: account.homeAccountId.split(".")[0],
  };
}
