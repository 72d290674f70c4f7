// serve()'s answer to a handler that throws: onError sees the error and the request and answers, as hono's
// app.onError does; without it (or when it answers nothing, or throws) a bare 500. The same in every runtime.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { type FetchHandler, type RunningServer, serve, type ServeOptions } from "../serve.ts";

/** Serves `handler` with `options`, runs `use` against its base URL, and always closes the server. */
async function withServer(
  handler: FetchHandler,
  options: ServeOptions,
  use: (base: string) => Promise<void>,
): Promise<void> {
  const server: RunningServer = await serve(handler, options);
  try {
    await use(`http://127.0.0.1:${server.port}`);
  } finally {
    await server.close();
  }
}

const failing: [string, FetchHandler][] = [
  ["throws", () => {
    throw new Error("the fake API broke");
  }],
  ["rejects", () => Promise.reject(new Error("the fake API broke"))],
];

describe("serve() onError", () => {
  for (const [how, handler] of failing) {
    it(`answers a handler that ${how} with what onError returns, given the error and request`, async () => {
      const seen: { error: unknown; url: string; method: string }[] = [];
      await withServer(handler, {
        onError: (error, request) => {
          seen.push({ error, url: request.url, method: request.method });
          return Response.json({ failed: (error as Error).message }, { status: 503 });
        },
      }, async (base) => {
        const answer = await fetch(`${base}/me?x=1`, { method: "POST", body: "hi" });
        assert.equal(answer.status, 503);
        assert.deepEqual(await answer.json(), { failed: "the fake API broke" });
      });
      assert.equal(seen.length, 1);
      assert.equal((seen[0].error as Error).message, "the fake API broke");
      assert.match(seen[0].url, /\/me\?x=1$/);
      assert.equal(seen[0].method, "POST");
    });
  }

  it("an async onError is awaited", async () => {
    await withServer(failing[0][1], {
      onError: async (error) => {
        await new Promise((resolve) => setTimeout(resolve, 1));
        return new Response(`logged: ${(error as Error).message}`, { status: 500 });
      },
    }, async (base) => {
      const answer = await fetch(base);
      assert.equal(answer.status, 500);
      assert.equal(await answer.text(), "logged: the fake API broke");
    });
  });

  it("an onError that only records gives a bare 500; one that throws too; the server goes on", async () => {
    let calls = 0;
    for (
      const onError of [() => void calls++, () => {
        calls++;
        throw new Error("onError broke as well");
      }]
    ) {
      await withServer(failing[1][1], { onError }, async (base) => {
        for (let i = 0; i < 2; i++) {
          const answer = await fetch(base);
          assert.equal(answer.status, 500);
          assert.equal(await answer.text(), "");
        }
      });
    }
    assert.equal(calls, 4);
  });

  it("is not called for a handler that answers, even with an error status", async () => {
    let called = false;
    await withServer(() => new Response("nope", { status: 500 }), {
      onError: () => {
        called = true;
      },
    }, async (base) => {
      const answer = await fetch(base);
      assert.equal(await answer.text(), "nope");
    });
    assert.equal(called, false);
  });

  it("without onError a handler that throws gets a bare 500, whatever it threw", async () => {
    // Node's own hook would answer an error named TimeoutError with 504.
    const timeout = Object.assign(new Error("slow upstream"), { name: "TimeoutError" });
    for (const handler of [failing[0][1], () => Promise.reject(timeout)]) {
      await withServer(handler, {}, async (base) => {
        const answer = await fetch(base);
        assert.equal(answer.status, 500);
        assert.equal(await answer.text(), "");
      });
    }
  });
});
