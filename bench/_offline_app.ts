/**
 * Our PublicClientApplication wired to a fetch that answers discovery from memory, so app-level
 * benchmarks measure the library and not a network.
 *
 * @module
 */

import { PublicClientApplication, TokenCache } from "../mod.ts";
import { FIXTURE_ENVIRONMENT } from "./_fixtures.ts";

const ORIGIN = `https://${FIXTURE_ENVIRONMENT}`;

function offlineFetch(url: string | URL | Request): Promise<Response> {
  const href = String(url instanceof Request ? url.url : url);
  const body = href.includes("/discovery/instance")
    ? {
      tenant_discovery_endpoint: `${ORIGIN}/common/v2.0/.well-known/openid-configuration`,
      metadata: [{
        preferred_network: FIXTURE_ENVIRONMENT,
        preferred_cache: FIXTURE_ENVIRONMENT,
        aliases: [FIXTURE_ENVIRONMENT],
      }],
    }
    : {
      issuer: `${ORIGIN}/{tenantid}/v2.0`,
      authorization_endpoint: `${ORIGIN}/common/oauth2/v2.0/authorize`,
      token_endpoint: `${ORIGIN}/common/oauth2/v2.0/token`,
      device_authorization_endpoint: `${ORIGIN}/common/oauth2/v2.0/devicecode`,
    };
  return Promise.resolve(Response.json(body));
}

/** An app over `blob` whose authority metadata comes from memory. */
export function createOfflineApp(clientId: string, blob: string): PublicClientApplication {
  const tokenCache = new TokenCache();
  tokenCache.deserialize(blob);
  return offlineAppWithCache(clientId, tokenCache);
}

/** An app over `tokenCache` (e.g. a persisted one) whose authority metadata comes from memory. */
export function offlineAppWithCache(clientId: string, tokenCache: TokenCache): PublicClientApplication {
  return new PublicClientApplication(clientId, {
    authority: `${ORIGIN}/common`,
    fetch: offlineFetch as typeof fetch,
    tokenCache,
  });
}
