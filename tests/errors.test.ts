// Error codes a caller can switch on: every exception class of every public entry carries one of the
// exported MsalErrorCode values, and each value names one kind of failure.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import * as app from "../mod.ts";
import * as broker from "../broker.ts";
import * as persistence from "../persistence/mod.ts";

type ErrorClass = new (...args: never[]) => app.MsalError;

function errorClasses(entry: Record<string, unknown>): [string, ErrorClass][] {
  return Object.entries(entry).filter((pair): pair is [string, ErrorClass] =>
    typeof pair[1] === "function" && pair[1].prototype instanceof app.MsalError
  );
}

/** One instance of each class, built with placeholder arguments of the types its constructor takes. */
function instance(Class: ErrorClass): app.MsalError {
  const make = Class as unknown as new (...args: unknown[]) => app.MsalError;
  // CacheLockError takes its code first; the others take a message, a URL, a port or a claim.
  for (const args of [["cache_lock_timeout", "/tmp/lock"], ["x"], ["x", "y"], [1]]) {
    try {
      const error = new make(...args);
      if (error.code) return error;
    } catch {
      // another shape of constructor
    }
  }
  throw new Error(`cannot build ${Class.name}`);
}

describe("error codes", () => {
  const codes = new Set<string>(Object.values(app.MsalErrorCode));

  it("every exception class of every entry has a code from MsalErrorCode", () => {
    const classes = [...errorClasses(app), ...errorClasses(broker), ...errorClasses(persistence)];
    assert.ok(classes.length >= 14, classes.map(([name]) => name).join());
    for (const [name, Class] of classes) {
      const error = instance(Class);
      assert.ok(codes.has(error.code), `${name}: ${error.code}`);
      assert.equal(error.name, name);
    }
  });

  it("codes are distinct and snake_case", () => {
    const values = Object.values(app.MsalErrorCode);
    assert.equal(new Set(values).size, values.length);
    for (const code of values) assert.match(code, /^[a-z]+(_[a-z]+)*$/);
  });

  it("a caller switches on the constant", () => {
    const error = new app.ConfigurationError("clientId is required");
    assert.equal(error.code, app.MsalErrorCode.InvalidConfig);
    assert.equal(new broker.BrokerUnavailableError("no bus").code, app.MsalErrorCode.BrokerUnavailable);
  });
});
