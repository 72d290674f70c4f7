import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { cacheViewOf, parseAuthority, resolveAuthority } from "../core/authority.ts";
import { AuthorityError, ConfigurationError } from "../core/errors.ts";

describe("parseAuthority classifies like MSAL Python", () => {
  const cases: [string, string, string][] = [
    ["https://login.microsoftonline.com/common", "AAD", "common"],
    ["https://login.microsoftonline.com/contoso.onmicrosoft.com/", "AAD", "contoso.onmicrosoft.com"],
    ["https://login.microsoftonline.us/organizations", "AAD", "organizations"],
    ["https://login.chinacloudapi.cn/consumers", "AAD", "consumers"],
    ["https://contoso.com/adfs", "ADFS", "adfs"],
    ["https://fs.contoso.com/ADFS/", "ADFS", "adfs"],
    ["https://contoso.b2clogin.com/contoso.onmicrosoft.com/B2C_1_signin", "B2C", "contoso.onmicrosoft.com"],
    [
      "https://contoso.b2clogin.cn/tfp/contoso.onmicrosoft.com/B2C_1_signin",
      "B2C",
      "contoso.onmicrosoft.com",
    ],
    [
      "https://login.microsoftonline.com/contoso.onmicrosoft.com/b2c_1_policy",
      "B2C",
      "contoso.onmicrosoft.com",
    ],
    ["https://contoso.ciamlogin.com/", "CIAM", "contoso.onmicrosoft.com"],
    ["https://contoso.ciamlogin.com/contoso.onmicrosoft.com", "CIAM", "contoso.onmicrosoft.com"],
    [
      "https://dsts.example.com/dstsv2/7a433bfc-2514-4697-b467-e0933190487f",
      "DSTS",
      "7a433bfc-2514-4697-b467-e0933190487f",
    ],
    ["http://127.0.0.1:8080/common", "AAD", "common"],
    ["http://localhost:3000/tenant", "AAD", "tenant"],
    ["http://[::1]:3000/tenant", "AAD", "tenant"],
  ];
  for (const [url, type, tenant] of cases) {
    it(`${url} is ${type} with tenant ${tenant}`, () => {
      const parsed = parseAuthority(url);
      assert.equal(parsed.type, type);
      assert.equal(parsed.tenant, tenant);
    });
  }

  it("treats oidcAuthority as generic OIDC", () => {
    const parsed = parseAuthority("https://accounts.example.com/realms/demo", { oidc: true });
    assert.equal(parsed.type, "OIDC");
    assert.equal(parsed.url, "https://accounts.example.com/realms/demo");
  });

  it("refuses plain http except on loopback hosts", () => {
    assert.throws(() => parseAuthority("http://login.example.com/common"), ConfigurationError);
    assert.throws(() => parseAuthority("ftp://login.example.com/common"), ConfigurationError);
    assert.throws(() => parseAuthority("not a url"), ConfigurationError);
  });

  it("requires a tenant for Entra authorities", () => {
    assert.throws(() => parseAuthority("https://login.microsoftonline.com/"), /has no tenant/);
  });
});

describe("resolveAuthority", () => {
  const config = (origin: string, tenant: string) => ({
    issuer: `${origin}/${tenant}/v2.0`,
    authorization_endpoint: `${origin}/${tenant}/oauth2/v2.0/authorize`,
    token_endpoint: `${origin}/${tenant}/oauth2/v2.0/token`,
    device_authorization_endpoint: `${origin}/${tenant}/oauth2/v2.0/devicecode`,
  });

  it("knows a well-known host's cloud without instance discovery (preferred_cache first)", async () => {
    const asked: string[] = [];
    const resolved = await resolveAuthority(parseAuthority("https://login.microsoftonline.com/common"), {
      getJson: (url) => {
        asked.push(url);
        return Promise.resolve({ status: 200, body: config("https://login.microsoftonline.com", "common") });
      },
    });
    assert.equal(resolved.environment, "login.windows.net");
    assert.deepEqual(resolved.environments, [
      "login.windows.net",
      "login.microsoftonline.com",
      "login.microsoft.com",
      "sts.windows.net",
    ]);
    assert.equal(resolved.realm, "common");
    assert.equal(resolved.tokenEndpoint, "https://login.microsoftonline.com/common/oauth2/v2.0/token");
    assert.deepEqual(asked, [
      "https://login.microsoftonline.com/common/v2.0/.well-known/openid-configuration",
    ]);
  });

  it("uses instance discovery's preferred_cache and aliases for other hosts", async () => {
    const asked: string[] = [];
    const resolved = await resolveAuthority(parseAuthority("https://login.contoso.net/common"), {
      getJson: (url) => {
        asked.push(url);
        if (url.includes("/discovery/instance")) {
          return Promise.resolve({
            status: 200,
            body: {
              tenant_discovery_endpoint:
                "https://login.contoso.net/common/v2.0/.well-known/openid-configuration",
              metadata: [{
                preferred_network: "login.contoso.net",
                preferred_cache: "cache.contoso.net",
                aliases: ["login.contoso.net", "cache.contoso.net"],
              }],
            },
          });
        }
        return Promise.resolve({ status: 200, body: config("https://login.contoso.net", "common") });
      },
    });
    assert.equal(resolved.environment, "cache.contoso.net");
    assert.deepEqual(resolved.environments, ["cache.contoso.net", "login.contoso.net"]);
    assert.equal(asked.length, 2);
    assert.match(asked[0], /api-version=1\.1&authorization_endpoint=/);
  });

  it("skips instance discovery when turned off, and for ADFS", async () => {
    for (
      const [url, options] of [
        ["https://login.contoso.com/tenant", { instanceDiscovery: false }],
        ["https://login.contoso.com/tenant", { validateAuthority: false }],
        ["https://fs.contoso.com/adfs", {}],
      ] as const
    ) {
      const asked: string[] = [];
      const resolved = await resolveAuthority(parseAuthority(url), {
        ...options,
        getJson: (u) => {
          asked.push(u);
          return Promise.resolve({
            status: 200,
            body: config(new URL(url).origin, new URL(url).pathname.slice(1)),
          });
        },
      });
      assert.equal(asked.length, 1, url);
      assert.ok(!asked[0].includes("discovery/instance"));
      assert.equal(resolved.environment, new URL(url).host);
    }
  });

  it("reports an unknown instance clearly", async () => {
    await assert.rejects(
      resolveAuthority(parseAuthority("https://login.contoso.com/tenant"), {
        getJson: () => Promise.resolve({ status: 400, body: { error: "invalid_instance" } }),
      }),
      (error: unknown) =>
        error instanceof AuthorityError && /invalid_instance.*instanceDiscovery: false/s.test(error.message),
    );
  });

  it("rejects malformed metadata with a typed error", async () => {
    for (const body of [[], "html", { token_endpoint: 42 }, { authorization_endpoint: "https://x/a" }]) {
      await assert.rejects(
        resolveAuthority(parseAuthority("https://login.contoso.com/t"), {
          instanceDiscovery: false,
          getJson: () => Promise.resolve({ status: 200, body }),
        }),
        AuthorityError,
      );
    }
  });

  it("refuses metadata naming an endpoint that is not https: the server's fault, an AuthorityError", async () => {
    const https = config("https://login.contoso.com", "t");
    const answers: [string, Record<string, unknown>][] = [
      ["token_endpoint", config("http://evil.example.com", "t")],
      ["authorization_endpoint", { ...https, authorization_endpoint: "http://evil.example.com/t/authorize" }],
      ["device_authorization_endpoint", { ...https, device_authorization_endpoint: "ftp://x/devicecode" }],
      ["userinfo_endpoint", { ...https, userinfo_endpoint: "http://evil.example.com/userinfo" }],
      ["end_session_endpoint", { ...https, end_session_endpoint: "not a url" }],
    ];
    for (const [field, body] of answers) {
      await assert.rejects(
        resolveAuthority(parseAuthority("https://login.contoso.com/t"), {
          instanceDiscovery: false,
          getJson: () => Promise.resolve({ status: 200, body }),
        }),
        (error: unknown) => {
          assert.ok(error instanceof AuthorityError, `${field}: ${error}`);
          assert.match(
            error.message,
            new RegExp(`^The OpenID configuration's "${field}" (must use https|is not)`),
          );
          assert.ok(error.cause instanceof ConfigurationError);
          return true;
        },
      );
    }
  });

  it("refuses an instance discovery answer naming a tenant discovery endpoint that is not https", async () => {
    const asked: string[] = [];
    await assert.rejects(
      resolveAuthority(parseAuthority("https://login.contoso.net/common"), {
        getJson: (url) => {
          asked.push(url);
          return Promise.resolve({
            status: 200,
            body: {
              tenant_discovery_endpoint:
                "http://login.contoso.net/common/v2.0/.well-known/openid-configuration",
            },
          });
        },
      }),
      { name: "AuthorityError", message: /^Instance discovery's "tenant_discovery_endpoint" must use https/ },
    );
    assert.equal(asked.length, 1);
  });

  it("a custom instanceDiscovery endpoint that is no https URL is a configuration error", async () => {
    for (const instanceDiscovery of ["not a url", "http://discovery.contoso.com/instance"]) {
      await assert.rejects(
        resolveAuthority(parseAuthority("https://login.contoso.net/common"), {
          instanceDiscovery,
          getJson: () => Promise.reject(new Error("must not be asked")),
        }),
        { name: "ConfigurationError", message: /^instanceDiscovery (is not a valid URL|must use https)/ },
      );
    }
  });
});

describe("cacheViewOf: the cache's view of an authority without the network", () => {
  const TID = "72f988bf-86f1-41af-91ab-2d7cd011db47";
  it("knows well-known Entra hosts, tenant ids and the meta tenants", () => {
    for (const tenant of ["organizations", "common", "consumers", TID]) {
      const view = cacheViewOf(parseAuthority(`https://login.microsoftonline.com/${tenant}`), {});
      assert.equal(view?.environment, "login.windows.net", tenant);
      assert.ok(view?.environments.includes("login.microsoftonline.com"));
      assert.equal(view?.realm, tenant);
    }
  });

  it("takes the host alone when instance discovery is off, and for B2C, ADFS and OIDC", () => {
    const cases: [string, Parameters<typeof cacheViewOf>[1], boolean?][] = [
      [`https://login.contoso.com/${TID}`, { instanceDiscovery: false }],
      [`https://login.contoso.com/${TID}`, { validateAuthority: false }],
      ["https://fabrikamb2c.b2clogin.com/fabrikamb2c.onmicrosoft.com/B2C_1_SignIn", {}],
      ["https://fs.contoso.com/adfs", {}],
      ["https://idp.example.com/realms/demo", {}, true],
    ];
    for (const [url, options, oidc] of cases) {
      const view = cacheViewOf(parseAuthority(url, { oidc }), options);
      assert.deepEqual(view?.environments, [new URL(url).host], url);
    }
  });

  it("needs discovery for a tenant named by domain and for unknown Entra hosts", () => {
    assert.equal(
      cacheViewOf(parseAuthority("https://login.microsoftonline.com/contoso.onmicrosoft.com"), {}),
      undefined,
    );
    assert.equal(cacheViewOf(parseAuthority(`https://login.contoso.com/${TID}`), {}), undefined);
    assert.equal(
      cacheViewOf(parseAuthority("https://login.microsoftonline.com/common"), {
        instanceDiscovery: "https://x/d",
      }),
      undefined,
    );
  });
});
