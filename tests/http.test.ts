import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { AbortError, NetworkError } from "../core/errors.ts";
import { HttpClient } from "../core/http.ts";
import type { ErrorResult } from "../core/results.ts";
import { FakeAuthority } from "../testing/mod.ts";
import { serve } from "../serve.ts";

let idp: FakeAuthority;
before(async () => {
  idp = await FakeAuthority.start({ users: [{ username: "ada@contoso.com", password: "pw" }] });
});
after(() => idp.close());

const tokenUrl = () => `${idp.url}/organizations/oauth2/v2.0/token`;
const passwordGrant = (scope = "User.Read openid profile offline_access") => ({
  client_id: "c1",
  grant_type: "password",
  username: "ada@contoso.com",
  password: "pw",
  scope,
});

describe("HttpClient.postForm", () => {
  it("posts a form with MSAL's headers and client_info=1, and returns the JSON with the correlation id", async () => {
    idp.clearRequests();
    const answer = await new HttpClient().postForm(tokenUrl(), passwordGrant(), { correlationId: "corr-1" });
    assert.ok("body" in answer);
    assert.equal(answer.correlationId, "corr-1");
    assert.equal(typeof answer.body.access_token, "string");
    const [request] = idp.requestsTo("token");
    assert.equal(request.form.client_info, "1");
    assert.equal(request.headers["client-request-id"], "corr-1");
    assert.equal(request.headers["x-ms-lib-capability"], "retry-after, h429");
    assert.match(request.headers["content-type"], /^application\/x-www-form-urlencoded/);
  });

  it("returns an OAuth error with every field the server sent", async () => {
    idp.failGrant("password", { error: "invalid_grant", suberror: "bad_token", claims: "{}" });
    const answer = await new HttpClient().postForm(tokenUrl(), passwordGrant());
    const error = answer as ErrorResult;
    assert.equal(error.error, "invalid_grant");
    assert.equal(error.suberror, "bad_token");
    assert.equal(error.claims, "{}");
    assert.ok(Array.isArray(error.error_codes) && error.error_codes.length > 0);
    assert.ok(error.trace_id && error.timestamp && error.correlation_id);
    assert.equal(error.http_status, 400);
  });

  it("does not wait for a Retry-After longer than it allows, and throttles the request for that long", async () => {
    let now = 1_000_000;
    const client = new HttpClient({ maxRetryAfterSeconds: 5, now: () => now });
    idp.fail("token", { status: 429, retryAfter: 120 });
    const sent = idp.requestsTo("token").length;
    const first = await client.postForm(tokenUrl(), passwordGrant("A openid"));
    assert.equal((first as ErrorResult).http_status, 429);
    assert.equal(idp.requestsTo("token").length, sent + 1, "no retry");
    const throttled = await client.postForm(tokenUrl(), passwordGrant("A openid"));
    assert.equal((throttled as ErrorResult).http_status, 429);
    assert.equal(idp.requestsTo("token").length, sent + 1, "throttled: not sent");
    const otherScope = await client.postForm(tokenUrl(), passwordGrant("B openid"));
    assert.ok("body" in otherScope, "another request is not throttled");
    now += 121_000;
    const later = await client.postForm(tokenUrl(), passwordGrant("A openid"));
    assert.ok("body" in later, "the throttle ends with Retry-After");
  });

  it("caps an absurd Retry-After at an hour, as MSAL Python does", async () => {
    let now = 5_000_000;
    const client = new HttpClient({ now: () => now });
    idp.fail("token", { status: 429, retryAfter: 999_999 });
    await client.postForm(tokenUrl(), passwordGrant("D openid"));
    const sent = idp.requestsTo("token").length;
    now += 3_599_000;
    await client.postForm(tokenUrl(), passwordGrant("D openid"));
    assert.equal(idp.requestsTo("token").length, sent, "still throttled within the hour");
    now += 2_000;
    const later = await client.postForm(tokenUrl(), passwordGrant("D openid"));
    assert.ok("body" in later, "free again after an hour");
  });

  it("retries a 5xx once at once, then reports it with its status", async () => {
    idp.fail("token", { status: 502 }, 2);
    const sent = idp.requestsTo("token").length;
    const answer = await new HttpClient().postForm(tokenUrl(), passwordGrant());
    assert.equal((answer as ErrorResult).error, "http_error");
    assert.equal((answer as ErrorResult).http_status, 502);
    assert.equal(idp.requestsTo("token").length, sent + 2);
  });

  it("recovers when the retry of a 5xx succeeds", async () => {
    idp.fail("token", { status: 503 }, 1);
    const answer = await new HttpClient().postForm(tokenUrl(), passwordGrant("C openid"));
    assert.ok("body" in answer);
  });

  it("turns a body that is not JSON into an error result", async () => {
    idp.fail("token", { rawBody: "<html>proxy login</html>", status: 200, contentType: "text/html" });
    const answer = await new HttpClient().postForm(tokenUrl(), passwordGrant());
    assert.equal((answer as ErrorResult).error, "invalid_response");
  });

  it("throws NetworkError when the server does not answer in time", async () => {
    idp.fail("token", { delayMs: 2_000 });
    await assert.rejects(
      new HttpClient({ timeoutMs: 100 }).postForm(tokenUrl(), passwordGrant()),
      (error: unknown) => error instanceof NetworkError && /did not answer within 100 ms/.test(error.message),
    );
  });

  it("throws NetworkError when nothing listens", async () => {
    const server = await serve(() => new Response("bye"));
    const url = `http://127.0.0.1:${server.port}/token`;
    await server.close();
    await assert.rejects(new HttpClient().postForm(url, passwordGrant()), NetworkError);
  });

  it("throws AbortError when the caller aborts", async () => {
    idp.fail("token", { delayMs: 2_000 });
    const controller = new AbortController();
    const pending = new HttpClient().postForm(tokenUrl(), passwordGrant(), { signal: controller.signal });
    setTimeout(() => controller.abort(), 20);
    await assert.rejects(pending, AbortError);
  });
});

describe("HttpClient with a server that stalls in the middle of its answer", () => {
  let stalling: Awaited<ReturnType<typeof serve>>;
  const pending: ReadableStreamDefaultController[] = [];
  before(async () => {
    stalling = await serve(() =>
      new Response(
        new ReadableStream({
          start(controller) {
            controller.enqueue(new TextEncoder().encode('{"access_token":'));
            pending.push(controller); // never closed: the body stalls after the headers
          },
        }),
        { headers: { "content-type": "application/json" } },
      )
    );
  });
  after(async () => {
    for (const controller of pending) {
      try {
        controller.close();
      } catch {
        // already closed: the client went away and the server cancelled the stream
      }
    }
    await stalling.close();
  });

  it("times out with NetworkError", async () => {
    await assert.rejects(
      new HttpClient({ timeoutMs: 200 }).postForm(`http://127.0.0.1:${stalling.port}/token`, passwordGrant()),
      NetworkError,
    );
  });

  it("aborts with AbortError", async () => {
    const controller = new AbortController();
    const answer = new HttpClient().postForm(`http://127.0.0.1:${stalling.port}/token`, passwordGrant(), {
      signal: controller.signal,
    });
    setTimeout(() => controller.abort(), 50);
    await assert.rejects(answer, AbortError);
  });
});

describe("HttpClient.getJson", () => {
  it("parses JSON and reports a page that is not JSON as a NetworkError", async () => {
    const client = new HttpClient();
    const { status, body } = await client.getJson(`${idp.url}/common/v2.0/.well-known/openid-configuration`);
    assert.equal(status, 200);
    assert.equal(typeof (body as { token_endpoint?: string }).token_endpoint, "string");
    idp.fail("openid_configuration", { status: 500 });
    await assert.rejects(
      client.getJson(`${idp.url}/common/v2.0/.well-known/openid-configuration`),
      NetworkError,
    );
  });
});

describe("Requests carrying a credential never leave the endpoint they were sent to", () => {
  // The "authority" redirects; the "thief" on another port records whatever reaches it and answers
  // with a token, as an attacker would.
  let authority: Awaited<ReturnType<typeof serve>>;
  let thief: Awaited<ReturnType<typeof serve>>;
  let redirectStatus = 307;
  let hopsLeft = 0;
  const stolen: { method: string; path: string; body: string }[] = [];
  before(async () => {
    thief = await serve(async (request) => {
      stolen.push({
        method: request.method,
        path: new URL(request.url).pathname,
        body: await request.text(),
      });
      return Response.json({
        access_token: "stolen-at",
        token_type: "Bearer",
        expires_in: 3600,
        issuer: "x",
      });
    });
    authority = await serve((request) => {
      const url = new URL(request.url);
      if (url.pathname === "/same-origin") {
        return hopsLeft-- > 0
          ? new Response(null, { status: 302, headers: { location: "/same-origin" } })
          : Response.json({ token_endpoint: "https://example.test/token" });
      }
      return new Response(null, {
        status: redirectStatus,
        headers: { location: `http://127.0.0.1:${thief.port}/steal?from=${url.pathname}` },
      });
    });
  });
  after(async () => {
    await authority.close();
    await thief.close();
  });

  for (const status of [307, 308, 301, 302, 303]) {
    it(`a token request answered ${status} is an http_error naming the status; the other server is never hit`, async () => {
      redirectStatus = status;
      stolen.length = 0;
      const answer = await new HttpClient().postForm(`http://127.0.0.1:${authority.port}/token`, {
        client_id: "c1",
        grant_type: "refresh_token",
        refresh_token: "secret-rt",
      });
      assert.ok("error" in answer, "no token from a redirect");
      assert.equal(answer.error, "http_error");
      assert.equal(answer.http_status, status);
      assert.match(answer.error_description ?? "", new RegExp(`HTTP ${status} with a redirect`));
      assert.doesNotMatch(answer.error_description ?? "", /steal|from=/, "only the origin is named");
      assert.deepEqual(stolen, [], "nothing was sent to the other origin");
    });
  }

  it("code redemption (code, verifier) is not re-posted by a 307", async () => {
    redirectStatus = 307;
    stolen.length = 0;
    const answer = await new HttpClient().postForm(`http://127.0.0.1:${authority.port}/token`, {
      client_id: "c1",
      grant_type: "authorization_code",
      code: "the-code",
      code_verifier: "the-verifier",
      redirect_uri: "http://localhost:1234",
    });
    assert.equal((answer as ErrorResult).http_status, 307);
    assert.deepEqual(stolen, []);
  });

  it("discovery follows a few redirects within its own origin", async () => {
    hopsLeft = 2;
    const { body } = await new HttpClient().getJson(`http://127.0.0.1:${authority.port}/same-origin`);
    assert.deepEqual(body, { token_endpoint: "https://example.test/token" });
  });

  it("discovery gives up after too many redirects within its origin", async () => {
    hopsLeft = 100;
    await assert.rejects(
      new HttpClient().getJson(`http://127.0.0.1:${authority.port}/same-origin`),
      (error: unknown) => error instanceof NetworkError && /more than 3 times/.test(error.message),
    );
  });

  for (const status of [301, 302, 307]) {
    it(`discovery refuses a ${status} to another origin, which is never hit`, async () => {
      redirectStatus = status;
      stolen.length = 0;
      await assert.rejects(
        new HttpClient().getJson(`http://127.0.0.1:${authority.port}/v2.0/.well-known/openid-configuration`),
        (error: unknown) =>
          error instanceof NetworkError && /within its own origin only/.test(error.message) &&
          error.message.includes(`http://127.0.0.1:${thief.port}`),
      );
      assert.deepEqual(stolen, []);
    });
  }
});

describe("HttpClient bounds the body it reads", () => {
  const CHUNK = new Uint8Array(64 * 1024).fill(0x20);
  const TOTAL_CHUNKS = 800; // 50 MiB
  let pulled = 0;
  let server: Awaited<ReturnType<typeof serve>>;
  before(async () => {
    server = await serve((request) => {
      const declared = new URL(request.url).pathname === "/declared";
      if (declared) {
        return new Response(new Uint8Array(2 * 1024 * 1024).fill(0x20), {
          headers: { "content-type": "application/json" },
        });
      }
      let sent = 0;
      return new Response(
        new ReadableStream<Uint8Array>({
          pull(controller) {
            pulled++;
            if (sent === 0) controller.enqueue(new TextEncoder().encode('{"access_token":"'));
            if (++sent >= TOTAL_CHUNKS) return controller.close();
            controller.enqueue(CHUNK);
          },
        }),
        { headers: { "content-type": "application/json" } },
      );
    });
  });
  after(() => server.close());

  it("a 50 MB token response is an invalid_response, without reading it all", async () => {
    const answer = await new HttpClient().postForm(`http://127.0.0.1:${server.port}/token`, passwordGrant());
    assert.equal((answer as ErrorResult).error, "invalid_response");
    assert.match((answer as ErrorResult).error_description ?? "", /larger than 1048576 bytes/);
    assert.ok(pulled < TOTAL_CHUNKS, `read ${pulled} of ${TOTAL_CHUNKS} chunks`);
  });

  it("a body whose Content-Length is over the limit is refused before it is read", async () => {
    const answer = await new HttpClient().postForm(
      `http://127.0.0.1:${server.port}/declared`,
      passwordGrant(),
    );
    assert.equal((answer as ErrorResult).error, "invalid_response");
    await assert.rejects(
      new HttpClient().getJson(`http://127.0.0.1:${server.port}/declared`),
      (error: unknown) => error instanceof NetworkError && /larger than/.test(error.message),
    );
  });
});

describe("NetworkError names the root cause and keeps the original as cause", () => {
  async function failure(url: string, options: ConstructorParameters<typeof HttpClient>[0] = {}) {
    const error = await new HttpClient(options).postForm(url, passwordGrant()).then(
      () => assert.fail("expected a NetworkError"),
      (error: unknown) => error,
    );
    assert.ok(error instanceof NetworkError, String(error));
    assert.ok(error.cause !== undefined, "the original failure is the cause");
    return error;
  }

  it("connection refused", async () => {
    const closed = await serve(() => new Response("bye"));
    const url = `http://127.0.0.1:${closed.port}/token`;
    await closed.close();
    assert.match((await failure(url)).message, /connection refused/);
  });

  it("a host name that does not resolve", async () => {
    assert.match((await failure("http://nonexistent.invalid/token")).message, /DNS lookup failed/);
  });

  it("TLS against a port that speaks plain HTTP", async () => {
    const plain = await serve(() => new Response("plain"));
    try {
      assert.match((await failure(`https://127.0.0.1:${plain.port}/token`)).message, /TLS failed/);
    } finally {
      await plain.close();
    }
  });

  it("a port fetch refuses to use", async () => {
    // Node and Deno block port 1 as a "bad port"; Bun tries it and finds nothing listening.
    assert.match((await failure("http://127.0.0.1:1/token")).message, /port not allowed|connection refused/);
  });

  it("a server that does not answer in time", async () => {
    idp.fail("token", { delayMs: 2_000 });
    assert.match((await failure(tokenUrl(), { timeoutMs: 100 })).message, /did not answer within 100 ms/);
  });
});
