// Bound tokens in broker mode: proof-of-possession and SSH certificates.
// End to end through PublicClientApplication; the shared setup is in _broker_app.ts.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { ConfigurationError, CONSOLE_WINDOW_HANDLE } from "../mod.ts";
import type { FakeBroker } from "../testing/fake_broker.ts";
import { assertError, assertToken, newApp, signInWithDeviceCode } from "./_helpers.ts";
import {
  ALICE,
  aliceInBroker,
  brokerApp,
  type BrokerSetup,
  cacheContents,
  idp,
  methods,
  SCOPES,
  useFakeAuthority,
} from "./_broker_app.ts";

useFakeAuthority();

describe("proof-of-possession tokens: only from a broker that supports them", () => {
  const pop = { method: "get", url: "https://graph.microsoft.com/v1.0/me", nonce: "nonce-1" };
  const onlyFromBroker =
    "popParameters is currently only available from broker. You can enable broker with " +
    "the enableBrokerOnWindows or enableBrokerOnMac option of PublicClientApplication, on a device whose " +
    "broker supports it.";

  it("through the broker: the request carries the PoP parameters, the token is not cached", async () => {
    const { app, broker } = brokerApp(
      { accounts: [aliceInBroker()], defaultAccountId: "broker-alice", supportsPop: true },
      {},
      "windows",
    );
    assert.equal(await app.isPopSupported(), true);
    const result = assertToken(
      await app.acquireTokenInteractive(SCOPES, {
        parentWindowHandle: CONSOLE_WINDOW_HANDLE,
        popParameters: pop,
      }),
    );
    assert.equal(result.token_type, "pop");
    assert.equal(result.token_source, "broker");
    assert.deepEqual(broker.callsTo("signInSilently")[0].pop, { ...pop, method: "GET" });
    const cache = cacheContents(app);
    assert.deepEqual(cache.AccessToken, {});
    assert.equal(Object.values(cache.Account)[0].account_source, "broker");

    // A bearer token in the cache does not answer a PoP request.
    const [account] = await app.getAccounts();
    assertToken(await app.acquireTokenSilent(SCOPES, { account }));
    broker.calls.length = 0;
    const silent = assertToken(await app.acquireTokenSilent(SCOPES, { account, popParameters: pop }));
    assert.equal(silent.token_source, "broker");
    assert.equal(silent.token_type, "pop");
    assert.deepEqual(methods(broker), ["readAccount", "acquireTokenSilent"]);
    assert.equal(broker.callsTo("acquireTokenSilent")[0].pop?.nonce, "nonce-1");
  });

  it('on Linux and WSL: "POP is not supported on Linux", with or without a broker', async () => {
    for (const platform of ["linux", "wsl"] as const) {
      const { app, broker } = brokerApp({ accounts: [aliceInBroker()] }, {}, platform);
      const [account] = await app.getAccounts();
      assert.equal(await app.isPopSupported(), false);
      for (
        const call of [
          () =>
            app.acquireTokenInteractive(SCOPES, {
              parentWindowHandle: CONSOLE_WINDOW_HANDLE,
              popParameters: pop,
            }),
          () => app.acquireTokenSilent(SCOPES, { account, popParameters: pop }),
          () => newApp(idp, { platform }).acquireTokenInteractive(SCOPES, { popParameters: pop }),
        ]
      ) {
        await assert.rejects(call(), (error: unknown) => {
          assert.ok(error instanceof ConfigurationError);
          assert.equal(error.message, "POP is not supported on Linux");
          return true;
        });
      }
      assert.deepEqual(methods(broker), ["getAccounts"]);
    }
  });

  it("elsewhere, without a broker or with one that does not support it: only available from broker", async () => {
    const withoutSupport = brokerApp({ accounts: [aliceInBroker()] }, {}, "windows");
    const [account] = await withoutSupport.app.getAccounts();
    const apps = [withoutSupport.app, newApp(idp, { platform: "mac" }), newApp(idp, { platform: "windows" })];
    for (const app of apps) {
      await assert.rejects(
        app.acquireTokenInteractive(SCOPES, {
          parentWindowHandle: CONSOLE_WINDOW_HANDLE,
          popParameters: pop,
        }),
        { name: "ConfigurationError", message: onlyFromBroker },
      );
      await assert.rejects(app.acquireTokenSilent(SCOPES, { account, popParameters: pop }), {
        message: onlyFromBroker,
      });
    }
    assert.deepEqual(methods(withoutSupport.broker), ["getAccounts"]);
  });

  it("a device-code account does not get one from the refresh token", async () => {
    const { app, broker } = brokerApp({ supportsPop: true }, {}, "windows");
    const { account } = await signInWithDeviceCode(idp, app, ALICE.username);
    await assert.rejects(app.acquireTokenSilent(SCOPES, { account, popParameters: pop }), {
      message: onlyFromBroker,
    });
    assert.deepEqual(broker.calls, []);
  });

  it("incomplete or malformed parameters are configuration errors", async () => {
    const { app } = brokerApp({ supportsPop: true }, {}, "mac");
    for (
      const [popParameters, message] of [
        [{ ...pop, nonce: "" }, "All method, url and nonce of popParameters are required"],
        [{ ...pop, method: "TRACE" }, "popParameters.method must be one of GET, POST, PUT, DELETE, PATCH"],
        [{ ...pop, url: "not a url" }, "popParameters.url is not a URL: not a url"],
      ] as const
    ) {
      await assert.rejects(
        app.acquireTokenInteractive(SCOPES, { parentWindowHandle: CONSOLE_WINDOW_HANDLE, popParameters }),
        { name: "ConfigurationError", message },
      );
    }
  });
});

describe("SSH certificates: only from a broker that supports them", () => {
  const ssh = { keyId: "key-1", reqCnf: '{"kty":"RSA","n":"0vx7agoebGcQSuu","e":"AQAB"}' };
  const CERT = "AAAAHHNzaC1yc2EtY2VydC12MDFAb3BlbnNzaC5jb20AAAAg";

  /** A broker that answers SSH-certificate requests with a certificate-looking token. */
  function sshBroker(): BrokerSetup {
    const setup = brokerApp(
      { accounts: [aliceInBroker()], defaultAccountId: "broker-alice", supportsSshCert: true },
      {},
      "mac",
    );
    const certify = (request: Parameters<FakeBroker["signInSilently"]>[0]) => ({
      ...setup.broker.issueToken(aliceInBroker(), request),
      accessToken: `${CERT}-${request.keyId}`,
      tokenType: "ssh-cert",
    });
    setup.broker.script("signInSilently", { reply: certify });
    setup.broker.script("acquireTokenSilent", { reply: certify });
    return setup;
  }

  it("through the broker, then from the cache for the same key only", async () => {
    const { app, broker } = sshBroker();
    const result = assertToken(
      await app.acquireTokenInteractive(SCOPES, {
        parentWindowHandle: CONSOLE_WINDOW_HANDLE,
        sshCertificate: ssh,
      }),
    );
    assert.equal(result.token_type, "ssh-cert");
    assert.equal(result.access_token, `${CERT}-key-1`);
    const [request] = broker.callsTo("signInSilently");
    assert.deepEqual([request.tokenType, request.keyId, request.reqCnf], ["ssh-cert", "key-1", ssh.reqCnf]);
    const [at] = Object.values(cacheContents(app).AccessToken);
    assert.equal(at.key_id, "key-1");

    const [account] = await app.getAccounts();
    broker.calls.length = 0;
    const cached = assertToken(await app.acquireTokenSilent(SCOPES, { account, sshCertificate: ssh }));
    assert.equal(cached.token_source, "cache");
    assert.equal(cached.token_type, "ssh-cert");
    assert.equal(cached.access_token, `${CERT}-key-1`);
    assert.deepEqual(broker.calls, []);

    const otherKey = assertToken(
      await app.acquireTokenSilent(SCOPES, { account, sshCertificate: { ...ssh, keyId: "key-2" } }),
    );
    assert.equal(otherKey.token_source, "broker");
    assert.equal(otherKey.access_token, `${CERT}-key-2`);

    // A bearer request is not answered with a certificate.
    broker.calls.length = 0;
    const bearer = assertToken(await app.acquireTokenSilent(SCOPES, { account }));
    assert.equal(bearer.token_type, "Bearer");
    assert.equal(bearer.token_source, "broker");
  });

  it("a broker answer that is not a certificate is an InvalidResponse broker_error, and nothing is cached", async () => {
    const { app } = brokerApp({
      defaultAccountId: "broker-alice",
      accounts: [aliceInBroker()],
      supportsSshCert: true,
    });
    // MSAL Python's TokenTypeError message; as every malformed broker answer, a result, not a throw.
    const notACert = {
      error: "broker_error",
      error_description: "Broker could not get an SSH Cert: fake-bro...",
      broker_status: "InvalidResponse",
    };
    const interactive = assertError(
      await app.acquireTokenInteractive(SCOPES, {
        parentWindowHandle: CONSOLE_WINDOW_HANDLE,
        sshCertificate: ssh,
      }),
    );
    assert.deepEqual({ ...interactive, correlation_id: undefined }, {
      ...notACert,
      correlation_id: undefined,
    });
    assert.deepEqual(cacheContents(app).AccessToken, {});
    assert.deepEqual(cacheContents(app).Account, {});

    // Silently, for an account signed in with a bearer token: the same error, no certificate cached.
    assertToken(await app.acquireTokenInteractive(SCOPES, { parentWindowHandle: CONSOLE_WINDOW_HANDLE }));
    const [account] = await app.getAccounts();
    const cached = cacheContents(app).AccessToken;
    const silent = assertError(
      await app.acquireTokenSilentWithError(SCOPES, { account, sshCertificate: ssh }),
    );
    assert.deepEqual({ ...silent, correlation_id: undefined }, { ...notACert, correlation_id: undefined });
    assert.equal(await app.acquireTokenSilent(SCOPES, { account, sshCertificate: ssh }), null);
    assert.deepEqual(cacheContents(app).AccessToken, cached);
  });

  it("without a broker that supports them: a configuration error; missing parameters: MSAL's messages", async () => {
    const { app } = brokerApp({ accounts: [aliceInBroker()] }, {}, "windows");
    await assert.rejects(
      app.acquireTokenInteractive(SCOPES, { parentWindowHandle: CONSOLE_WINDOW_HANDLE, sshCertificate: ssh }),
      { name: "ConfigurationError", message: /^sshCertificate is currently only available from broker\./ },
    );
    await assert.rejects(
      app.acquireTokenInteractive(SCOPES, { sshCertificate: { ...ssh, reqCnf: "" } }),
      {
        message: "When requesting an SSH certificate, you must include a string parameter named 'reqCnf' " +
          "containing the public key in JWK format (https://tools.ietf.org/html/rfc7517).",
      },
    );
    await assert.rejects(
      app.acquireTokenSilent(SCOPES, { account: null, sshCertificate: { ...ssh, keyId: "" } }),
      {
        message: "When requesting an SSH certificate, you must include a string parameter named 'keyId' " +
          "which identifies the key in the 'reqCnf' argument.",
      },
    );
    await assert.rejects(
      app.acquireTokenInteractive(SCOPES, {
        parentWindowHandle: CONSOLE_WINDOW_HANDLE,
        sshCertificate: ssh,
        popParameters: { method: "GET", url: "https://example.com", nonce: "n" },
      }),
      { message: "popParameters and sshCertificate cannot be used together" },
    );
  });
});
