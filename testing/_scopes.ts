// Scope arithmetic: which resource a request is for, what the access token's `scp` says, and what
// the token response reports as granted.

/** Scopes that ask for OpenID Connect artefacts rather than an API permission. */
export const OIDC_SCOPES: ReadonlySet<string> = new Set(["openid", "profile", "offline_access", "email"]);

/** Microsoft Graph's application id: the audience of tokens for bare scopes like `User.Read`. */
const GRAPH_APP_ID = "00000003-0000-0000-c000-000000000000";

/** Splits a space-separated scope parameter, dropping duplicates and keeping order. */
export function parseScopes(value: string | undefined): string[] {
  return [...new Set((value ?? "").split(/\s+/).filter(Boolean))];
}

/** The resource a scope belongs to: the part before the last `/`, or Graph for bare names. */
function resourceOf(scope: string): string {
  const slash = scope.lastIndexOf("/");
  return slash > 0 ? scope.slice(0, slash) : GRAPH_APP_ID;
}

function sameResource(resource: string): string {
  return resource.toLowerCase().replace(/\/+$/, "") === "https://graph.microsoft.com"
    ? GRAPH_APP_ID
    : resource;
}

/** The API scopes of a request (everything but the OIDC ones). */
function apiScopes(scopes: string[]): string[] {
  return scopes.filter((s) => !OIDC_SCOPES.has(s));
}

/** Whether the API scopes span more than one resource, which Entra refuses (AADSTS28000). */
export function spansResources(scopes: string[]): boolean {
  return new Set(apiScopes(scopes).map((s) => sameResource(resourceOf(s)))).size > 1;
}

/** The access token's audience: the first API scope's resource, else Graph. */
export function audienceOf(scopes: string[]): string {
  const first = apiScopes(scopes)[0];
  return first === undefined ? GRAPH_APP_ID : resourceOf(first);
}

/** The access token's `scp` claim: permission names without their resource prefix. */
export function scpOf(scopes: string[]): string {
  const names = apiScopes(scopes).map((s) => s.slice(s.lastIndexOf("/") + 1));
  const oidc = scopes.filter((s) => s !== "offline_access" && OIDC_SCOPES.has(s));
  return [...names, ...oidc].join(" ");
}

/** The `scope` of a token response: what was asked for, minus `offline_access`. */
export function grantedScope(scopes: string[]): string {
  return scopes.filter((s) => s !== "offline_access").join(" ");
}
