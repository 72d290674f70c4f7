import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { AbortError, NetworkError } from "../core/errors.ts";
import { HttpClient } from "../core/http.ts";
import type { ErrorResult } from "../core/results.ts";
import { FakeAuthority } from "../testing/mod.ts";
import { serve } from "../flows/serve.ts";

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
