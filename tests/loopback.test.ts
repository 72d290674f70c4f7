import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { Agent, request as httpRequest } from "node:http";
import { connect } from "node:net";
import { type LoopbackListener, type LoopbackOptions, startLoopbackListener } from "../flows/loopback.ts";
import { AbortError, PortInUseError, TimeoutError } from "../core/errors.ts";
import { LogWriter } from "../core/log.ts";
import { commandFor, portIsClosed, recordingLogger, ROOT, runToEnd } from "./_helpers.ts";

/** Runs `body` with a fresh listener and always closes it. */
async function withListener(
  options: LoopbackOptions,
  body: (listener: LoopbackListener) => Promise<void>,
): Promise<void> {
  const listener = await startLoopbackListener(options);
  try {
    await body(listener);
  } finally {
    await listener.close();
  }
}

function base(listener: LoopbackListener): string {
  return `http://127.0.0.1:${listener.port}`;
}

/** What the browser does in form_post mode. */
function post(listener: LoopbackListener, params: Record<string, string>, path = "/"): Promise<Response> {
  return fetch(base(listener) + path, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams(params).toString(),
  });
}

function get(listener: LoopbackListener, pathAndQuery: string): Promise<Response> {
  return fetch(base(listener) + pathAndQuery);
}

/** Tracks whether a promise has settled, without waiting on it. */
function track<T>(promise: Promise<T>): { readonly settled: boolean } {
  const state = { settled: false };
  promise.then(() => state.settled = true, () => state.settled = true);
  return state;
}

/** A logger whose `holding()` resolves once the listener logs that it holds a response. */
function holdingLogger(): { logger: LogWriter; holding: (count: number) => Promise<void> } {
  let held = 0;
  const waiters: { count: number; resolve: () => void }[] = [];
  const logger = new LogWriter({
    verbose(message: string) {
      if (!message.includes("Holding a redirect")) return;
      held++;
      for (const w of waiters.filter((w) => w.count <= held)) w.resolve();
    },
  });
  const holding = (count: number): Promise<void> =>
    held >= count ? Promise.resolve() : new Promise((resolve) => waiters.push({ count, resolve }));
  return { logger, holding };
}

describe("loopback listener: successful sign-in", () => {
  it("listens on an ephemeral port and reports a localhost redirect URI", async () => {
    await withListener({}, (listener) => {
      assert.ok(listener.port > 0);
      assert.equal(listener.redirectUri, `http://localhost:${listener.port}`);
      assert.equal(listener.responseMode, "form_post");
      return Promise.resolve();
    });
  });

  it("form_post: resolves with every parameter and shows the success page", async () => {
    await withListener({}, async (listener) => {
      const waiting = listener.waitForResponse({ state: "s1" });
      const response = await post(listener, {
        code: "the-code",
        state: "s1",
        client_info: "eyJ1aWQiOiIxIn0",
        session_state: "abc",
      });
      assert.equal(response.status, 200);
      assert.match(response.headers.get("content-type") ?? "", /text\/html/);
      const html = await response.text();
      assert.match(html, /<title>Authentication complete<\/title>/);
      assert.deepEqual(await waiting, {
        code: "the-code",
        state: "s1",
        client_info: "eyJ1aWQiOiIxIn0",
        session_state: "abc",
      });
    });
  });

  it("form_post: also accepts the response in the query string", async () => {
    await withListener({}, async (listener) => {
      const waiting = listener.waitForResponse({ state: "s1" });
      const response = await get(listener, "/?code=c&state=s1&code=injected&__proto__=x");
      assert.equal(response.status, 200);
      await response.text();
      assert.deepEqual(await waiting, { code: "c", state: "s1" });
    });
  });

  it("query mode: resolves from a GET and refuses form posts", async () => {
    await withListener({ responseMode: "query" }, async (listener) => {
      assert.equal(listener.responseMode, "query");
      const waiting = listener.waitForResponse({ state: "q" });
      const progress = track(waiting);
      const refused = await post(listener, { code: "c", state: "q" });
      assert.equal(refused.status, 405);
      await refused.text();
      assert.equal(progress.settled, false);
      const response = await get(listener, "/?code=query-code&state=q");
      assert.match(await response.text(), /Authentication complete/);
      assert.deepEqual(await waiting, { code: "query-code", state: "q" });
    });
  });

  it("shows the app's success template", async () => {
    const successTemplate = "<!DOCTYPE html><title>Done</title><p>Signed in to Contoso</p>";
    await withListener({ successTemplate }, async (listener) => {
      const waiting = listener.waitForResponse({ state: "s" });
      const response = await post(listener, { code: "c", state: "s" });
      assert.equal(await response.text(), successTemplate);
      await waiting;
    });
  });

  it("delivers a large success page in full before shutting down", async () => {
    const successTemplate = "<!DOCTYPE html><p>" + "signed in ".repeat(200_000) + "</p>";
    await withListener({ successTemplate }, async (listener) => {
      const waiting = listener.waitForResponse({ state: "s" });
      const response = await post(listener, { code: "c", state: "s" });
      await waiting;
      // The flow has ended and the listener is shutting down while the body is still being read.
      assert.equal(await response.text(), successTemplate);
    });
  });

  it("holds a redirect that arrives before waitForResponse() and answers it once the wait starts", async () => {
    const { logger, holding } = holdingLogger();
    await withListener({ logger }, async (listener) => {
      const early = post(listener, { code: "early", state: "s" });
      await holding(1);
      const result = await listener.waitForResponse({ state: "s" });
      assert.deepEqual(result, { code: "early", state: "s" });
      assert.match(await (await early).text(), /Authentication complete/);
    });
  });

  it("accepts a response only once", async () => {
    const { logger, holding } = holdingLogger();
    await withListener({ logger }, async (listener) => {
      const first = post(listener, { code: "first", state: "s" });
      await holding(1);
      const second = post(listener, { code: "second", state: "s" });
      await holding(2);
      assert.deepEqual(await listener.waitForResponse({ state: "s" }), { code: "first", state: "s" });
      assert.equal((await first).status, 200);
      await (await first).text();
      const replay = await second;
      assert.equal(replay.status, 410);
      assert.match(await replay.text(), /already completed/);
    });
  });
});

describe("loopback listener: errors from the identity provider", () => {
  it("resolves with error=access_denied and shows the escaped error on the default page", async () => {
    await withListener({}, async (listener) => {
      const waiting = listener.waitForResponse({ state: "s" });
      const response = await post(listener, {
        error: "access_denied",
        error_description: "<img src=x onerror=alert(1)> said no",
        state: "s",
      });
      const html = await response.text();
      assert.match(html, /<title>Authentication failed<\/title>/);
      assert.match(html, /access_denied/);
      assert.match(html, /&lt;img src=x onerror=alert\(1\)&gt; said no/);
      assert.ok(!html.includes("<img"));
      assert.deepEqual(await waiting, {
        error: "access_denied",
        error_description: "<img src=x onerror=alert(1)> said no",
        state: "s",
      });
    });
  });

  it("fills $error and $error_description of the app's error template, escaped and only once", async () => {
    const errorTemplate =
      "<h1 title='$error'>Oops: $error</h1><p data-d=\"$error_description\">$error_description</p>";
    await withListener({ errorTemplate }, async (listener) => {
      const waiting = listener.waitForResponse({ state: "s" });
      const response = await get(
        listener,
        "/?" + new URLSearchParams({ error: "<b>x</b>'", error_description: 'a & $error"', state: "s" }),
      );
      assert.equal(
        await response.text(),
        "<h1 title='&lt;b&gt;x&lt;/b&gt;&#39;'>Oops: &lt;b&gt;x&lt;/b&gt;&#39;</h1>" +
          '<p data-d="a &amp; $error&quot;">a &amp; $error&quot;</p>',
      );
      assert.equal((await waiting).error, "<b>x</b>'");
    });
  });
});

describe("loopback listener: requests that must not end the flow", () => {
  it("state mismatch shows an error page and keeps waiting for the real redirect", async () => {
    const { logger, warnings } = recordingLogger();
    await withListener({ logger: new LogWriter(logger) }, async (listener) => {
      const waiting = listener.waitForResponse({ state: "right" });
      const progress = track(waiting);
      const forged = await post(listener, { code: "forged", state: "wrong" });
      assert.equal(forged.status, 400);
      assert.match(await forged.text(), /state_mismatch/);
      const missing = await get(listener, "/?code=forged");
      assert.match(await missing.text(), /state_mismatch/);
      assert.equal(progress.settled, false);
      assert.ok(warnings().some((w) => /state/.test(w)));
      const real = await post(listener, { code: "real", state: "right" });
      assert.equal(real.status, 200);
      await real.text();
      assert.deepEqual(await waiting, { code: "real", state: "right" });
    });
  });

  it("the error template shows state_mismatch too", async () => {
    await withListener({ errorTemplate: "<p>$error</p>" }, async (listener) => {
      const waiting = listener.waitForResponse({ state: "right" });
      const forged = await post(listener, { code: "x", state: "wrong" });
      assert.equal(await forged.text(), "<p>state_mismatch</p>");
      await (await post(listener, { code: "y", state: "right" })).text();
      await waiting;
    });
  });

  it("ignores favicon requests, other paths and a bare GET /", async () => {
    await withListener({}, async (listener) => {
      const waiting = listener.waitForResponse({ state: "s" });
      const progress = track(waiting);
      for (const path of ["/favicon.ico", "/", "/other?code=c&state=s", "/?foo=bar"]) {
        const response = await get(listener, path);
        assert.equal(response.status, 404, path);
        await response.text();
      }
      const elsewhere = await post(listener, { code: "c", state: "s" }, "/callback");
      assert.equal(elsewhere.status, 404);
      await elsewhere.text();
      const empty = await post(listener, { foo: "bar" });
      assert.equal(empty.status, 400);
      await empty.text();
      assert.equal(progress.settled, false);
      await (await post(listener, { code: "c", state: "s" })).text();
      assert.equal((await waiting).code, "c");
    });
  });

  it("answers an oversized body with 413 and still completes with the real response", async () => {
    await withListener({ maxBodyBytes: 1024 }, async (listener) => {
      const waiting = listener.waitForResponse({ state: "s" });
      const progress = track(waiting);
      const big = await post(listener, { code: "c", state: "s", padding: "x".repeat(5000) });
      assert.equal(big.status, 413);
      await big.text();
      assert.equal(progress.settled, false);
      await (await post(listener, { code: "c", state: "s" })).text();
      assert.equal((await waiting).code, "c");
    });
  });

  it("answers a POST that is not a form with 415 and keeps waiting", async () => {
    await withListener({}, async (listener) => {
      const waiting = listener.waitForResponse({ state: "s" });
      const progress = track(waiting);
      const json = await fetch(base(listener) + "/", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ code: "c", state: "s" }),
      });
      assert.equal(json.status, 415);
      await json.text();
      assert.equal(progress.settled, false);
      await (await post(listener, { code: "c", state: "s" })).text();
      assert.equal((await waiting).code, "c");
    });
  });
});

describe("loopback listener: ports, timeouts and shutdown", () => {
  it("reports a busy port with MSAL's message", async () => {
    await withListener({}, async (busy) => {
      await assert.rejects(startLoopbackListener({ port: busy.port }), (error: unknown) => {
        assert.ok(error instanceof PortInUseError);
        assert.equal(error.message, `Can't listen on port ${busy.port}. You may try port 0.`);
        return true;
      });
    });
  });

  it("listens on a requested free port", async () => {
    const probe = await startLoopbackListener();
    const port = probe.port;
    await probe.close();
    await withListener({ port }, (listener) => {
      assert.equal(listener.port, port);
      assert.equal(listener.redirectUri, `http://localhost:${port}`);
      return Promise.resolve();
    });
  });

  it("times out with TimeoutError and stops listening", async () => {
    const listener = await startLoopbackListener();
    await assert.rejects(listener.waitForResponse({ state: "s", timeoutMs: 20 }), (error: unknown) => {
      assert.ok(error instanceof TimeoutError);
      assert.equal(error.message, "User did not complete the flow in time");
      return true;
    });
    await listener.close();
    assert.equal(await portIsClosed(listener.port), true);
  });

  it("ends with AbortError when the signal aborts, and stops listening", async () => {
    const listener = await startLoopbackListener();
    const controller = new AbortController();
    const waiting = listener.waitForResponse({ state: "s", signal: controller.signal });
    controller.abort(new Error("user pressed Ctrl+C"));
    await assert.rejects(waiting, AbortError);
    await listener.close();
    assert.equal(await portIsClosed(listener.port), true);
  });

  it("rejects at once with AbortError for an already aborted signal", async () => {
    const listener = await startLoopbackListener();
    await assert.rejects(listener.waitForResponse({ state: "s", signal: AbortSignal.abort() }), AbortError);
    await listener.close();
  });

  it("closing while waiting ends the wait with AbortError", async () => {
    const listener = await startLoopbackListener();
    const rejected = assert.rejects(listener.waitForResponse({ state: "s" }), AbortError);
    await listener.close();
    await rejected;
  });

  it("close() is idempotent", async () => {
    const listener = await startLoopbackListener();
    await Promise.all([listener.close(), listener.close()]);
    await listener.close();
    assert.equal(await portIsClosed(listener.port), true);
  });

  it("after sign-in the port is closed, even with the browser's keep-alive connection open", async () => {
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    const send = (method: string, path: string, body?: string): Promise<{ status: number; text: string }> =>
      new Promise((resolve, reject) => {
        const req = httpRequest({
          host: "127.0.0.1",
          port: listener.port,
          method,
          path,
          agent,
          headers: body ? { "content-type": "application/x-www-form-urlencoded" } : {},
        }, (res) => {
          let text = "";
          res.setEncoding("utf8");
          res.on("data", (chunk) => text += chunk);
          res.on("end", () => resolve({ status: res.statusCode ?? 0, text }));
        });
        req.on("error", reject);
        req.end(body);
      });
    const listener = await startLoopbackListener();
    try {
      const waiting = listener.waitForResponse({ state: "s" });
      assert.equal((await send("GET", "/favicon.ico")).status, 404);
      const done = await send("POST", "/", "code=c&state=s");
      assert.equal(done.status, 200);
      assert.match(done.text, /Authentication complete/);
      assert.equal((await waiting).code, "c");
      await listener.close();
      assert.equal(await portIsClosed(listener.port), true);
      // The port is really free again: a new listener can take it.
      const again = await startLoopbackListener({ port: listener.port });
      await again.close();
    } finally {
      agent.destroy();
      await listener.close();
    }
  });

  it("waitForResponse() after the flow ended is refused", async () => {
    const listener = await startLoopbackListener();
    const waiting = listener.waitForResponse({ state: "s" });
    await (await post(listener, { code: "c", state: "s" })).text();
    await waiting;
    await assert.rejects(listener.waitForResponse({ state: "s" }));
    await listener.close();
  });
});

describe("loopback listener: the real redirect wins whatever arrives around it", () => {
  function raw(port: number, text: string): Promise<string> {
    return new Promise((resolve) => {
      // Written without a half-close: some servers drop a request whose client has already ended.
      const socket = connect(port, "127.0.0.1", () => socket.write(text));
      let out = "";
      socket.on("data", (chunk) => out += chunk);
      socket.on("close", () => resolve(out));
      socket.on("error", () => resolve(out));
    });
  }

  it("sixteen and more junk responses before the wait never push out the real one", async () => {
    for (const known of [true, false]) {
      const { logger, holding } = holdingLogger();
      await withListener({ logger, ...(known && { state: "right" }) }, async (listener) => {
        const junk: Promise<Response>[] = [];
        for (let i = 0; i < 20; i++) {
          junk.push(post(listener, { code: "J", state: `W${i}` }));
          if (!known) await holding(i + 1); // one at a time, so the real one arrives last
        }
        if (known) assert.ok((await Promise.all(junk)).every((response) => response.status === 400));
        const real = post(listener, { code: "real", state: "right" });
        await holding(known ? 1 : 21);
        assert.deepEqual(await listener.waitForResponse({ state: "right", timeoutMs: 20_000 }), {
          code: "real",
          state: "right",
        });
        assert.equal((await real).status, 200);
        for (const response of await Promise.all(junk)) {
          assert.ok(response.status >= 400);
          await response.body?.cancel();
        }
      });
    }
  });

  it("junk after the real response does not push it out when the state is known at the start", async () => {
    await withListener({ state: "right" }, async (listener) => {
      const real = post(listener, { code: "real", state: "right" });
      const junk = await Promise.all(
        Array.from({ length: 40 }, (_, i) => post(listener, { code: "J", state: `W${i}` })),
      );
      assert.ok(junk.every((response) => response.status === 400));
      assert.deepEqual(await listener.waitForResponse({ state: "right", timeoutMs: 20_000 }), {
        code: "real",
        state: "right",
      });
      assert.equal((await real).status, 200);
    });
  });

  it("refuses a request for another Host, even with the right state (DNS rebinding)", async () => {
    await withListener({}, async (listener) => {
      const waiting = track(listener.waitForResponse({ state: "right", timeoutMs: 20_000 }));
      const rebound = await raw(
        listener.port,
        "GET /?code=stolen&state=right HTTP/1.1\r\nHost: evil.example\r\nConnection: close\r\n\r\n",
      );
      assert.match(rebound, /^HTTP\/1\.1 421/);
      const noHost = await raw(listener.port, "GET /?code=1&state=right HTTP/1.0\r\n\r\n");
      assert.match(noHost, /^HTTP\/1\.[01] 421/);
      assert.equal(waiting.settled, false, "still waiting for the real redirect");
      const real = await raw(
        listener.port,
        `GET /?code=real&state=right HTTP/1.1\r\nHost: localhost:${listener.port}\r\nConnection: close\r\n\r\n`,
      );
      assert.match(real, /^HTTP\/1\.1 200/);
    });
  });

  for (const runtime of ["node", "deno", "bun"] as const) {
    it(`${runtime}: junk requests never reach the console, and the real redirect wins`, {
      timeout: 90_000,
    }, async () => {
      const [command, args] = commandFor(runtime, "fixtures/loopback_junk.ts");
      const { code, stdout, stderr } = await runToEnd(command, args, { cwd: ROOT });
      assert.equal(stderr, "");
      assert.equal(stdout, "done\n");
      assert.equal(code, 0);
    });
  }
});
