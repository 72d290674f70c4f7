/**
 * Run-time checks of the options of `PublicClientApplication` and of the per-call durations, for the
 * callers TypeScript does not check (plain JavaScript, options read from JSON): each option by type and,
 * where it matters, range. A bad value is a {@linkcode ConfigurationError} naming the option and what it
 * expects, at construction, instead of a `TypeError` or `RangeError` from deep inside a later call. An
 * unknown option name is refused too: MSAL Python's constructor raises `TypeError` for an unexpected
 * keyword, and a misspelt broker flag would otherwise turn the broker off without a word.
 *
 * @module
 */

import { ConfigurationError } from "../core/errors.ts";
import { isJsonObject as isObject } from "../core/_json.ts";
import type { PublicClientApplicationOptions } from "./options.ts";

/** What one option expects, in words ("a boolean"), and its check: the problem, or `undefined`. */
interface Rule {
  readonly expected: string;
  readonly check: (value: unknown, name: string) => string | undefined;
  /** Set by {@linkcode shape}: this rule is the form an object value takes. */
  readonly shaped?: boolean;
}

/** The largest delay a timer honours (2^31 - 1 ms, about 24.8 days); a larger one fires at once. */
const MAX_TIMER_MS = 2 ** 31 - 1;

function rule(expected: string, test: (value: unknown) => boolean): Rule {
  return { expected, check: (value, name) => test(value) ? undefined : invalid(name, expected, value) };
}

function invalid(name: string, expected: string, value: unknown): string {
  return `Invalid option ${name}: expected ${expected}, got ${describe(value)}`;
}

const boolean = rule("a boolean", (v) => typeof v === "boolean");
const string = rule("a non-empty string", (v) => typeof v === "string" && v !== "");
const func = rule("a function", (v) => typeof v === "function");
const object = rule("an object", isObject);
const strings = rule("an array of strings", (v) => Array.isArray(v) && v.every((s) => typeof s === "string"));
/** A timer's delay: setTimeout and AbortSignal.timeout take nothing else. */
const timerMs = rule(
  `a number of milliseconds > 0 and at most ${MAX_TIMER_MS}`,
  (v) => typeof v === "number" && v > 0 && v <= MAX_TIMER_MS,
);
/** A wait that may be endless: `Infinity` waits until the call's signal aborts. */
const waitMs = rule(
  "a number of milliseconds > 0 (Infinity waits until the signal aborts)",
  (v) => typeof v === "number" && v > 0,
);
const waitSeconds = rule("a number of seconds > 0", (v) => typeof v === "number" && v > 0);
const port = rule(
  "an integer port from 0 (any free port) to 65535",
  (v) => Number.isInteger(v) && (v as number) >= 0 && (v as number) <= 65_535,
);

function oneOf(...values: string[]): Rule {
  return rule(`one of ${values.map(quote).join(", ")}`, (v) => values.includes(v as string));
}

/** An object whose listed fields follow their rules; `closed` refuses the fields not listed. */
function shape(fields: Record<string, Rule>, closed = true): Rule {
  const expected = `an object with ${Object.keys(fields).join(", ")}`;
  return {
    expected,
    shaped: true,
    check: (value, name) =>
      isObject(value) ? checkFields(value, fields, closed, `${name}.`) : invalid(name, expected, value),
  };
}

/** A value of several forms; an object is checked against the {@linkcode shape} form, if one is listed. */
function either(...rules: Rule[]): Rule {
  const expected = rules.map((r) => r.expected).join(", or ");
  const objectForm = rules.find((r) => r.shaped);
  return {
    expected,
    check: (value, name) => {
      if (objectForm && isObject(value)) return objectForm.check(value, name);
      return rules.some((r) => r.check(value, name) === undefined)
        ? undefined
        : invalid(name, expected, value);
    },
  };
}

const PLATFORMS = ["windows", "mac", "linux", "wsl"];

const BROKER_TIMEOUTS: Record<string, Rule> = {
  silentMs: timerMs,
  interactiveMs: timerMs,
  silent: timerMs,
  interactive: timerMs,
};

const LOGGER: Record<string, Rule> = {
  error: func,
  warning: func,
  info: func,
  verbose: func,
  piiLoggingEnabled: boolean,
};

/** A rule for each option of `PublicClientApplicationOptions`: a new option without one does not compile. */
const APP_OPTIONS: Record<keyof PublicClientApplicationOptions, Rule> = {
  authority: string,
  oidcAuthority: string,
  validateAuthority: boolean,
  instanceDiscovery: either(boolean, string),
  enableBrokerOnWindows: boolean,
  enableBrokerOnWsl: boolean,
  enableBrokerOnMac: boolean,
  enableBrokerOnLinux: boolean,
  tokenCache: object,
  fetch: func,
  logger: shape(LOGGER, false),
  clientCapabilities: strings,
  brokers: shape(Object.fromEntries(PLATFORMS.map((name) => [name, either(object, func)]))),
  linuxBroker: oneOf("dbus", "msalruntime"),
  brokerRedirectUri: string,
  brokerNativeLogging: boolean,
  platform: oneOf(...PLATFORMS),
  brokerTimeoutMs: either(timerMs, shape(BROKER_TIMEOUTS)),
  httpTimeoutMs: timerMs,
};

/** What shapes an authorization request (`getAuthorizationRequestUrl`, `initiateAuthCodeFlow`). */
const AUTHORIZATION_URL_OPTIONS: Record<string, Rule> = {
  // OpenID Connect Core 1.0 §3.1.2.1: max_age is a number of seconds, a non-negative integer.
  maxAge: rule("an integer number of seconds >= 0", (v) => Number.isInteger(v) && (v as number) >= 0),
  responseMode: oneOf("form_post", "query"),
};

/** The interactive sign-in's own options: its durations, loopback redirect and callbacks. */
const INTERACTIVE_OPTIONS: Record<string, Rule> = {
  ...AUTHORIZATION_URL_OPTIONS,
  timeoutMs: waitMs,
  timeout: waitSeconds,
  port,
  redirectHost: oneOf("localhost", "127.0.0.1"),
  openBrowser: func,
  onBeforeLaunchingUi: func,
  onBrowserUnavailable: func,
};

/**
 * Checks the options of `PublicClientApplication`: each known option by type and range, and no unknown
 * name. An option set to `undefined` counts as not set.
 *
 * @param options the options as the caller passed them
 * @throws {ConfigurationError} naming the first bad option and what it expects, or an unknown option
 * (with the known name it most resembles).
 */
export function checkAppOptions(options: unknown): void {
  if (!isObject(options)) throw new ConfigurationError(`options must be an object, got ${describe(options)}`);
  check(options, APP_OPTIONS, true);
}

/**
 * Checks the interactive sign-in's options by type and range: its durations (`timeoutMs`, the deprecated
 * `timeout`), `port`, `redirectHost`, callbacks, `maxAge` and `responseMode`; other fields are left to
 * the flow.
 *
 * @param options the call's options
 * @throws {ConfigurationError} naming the first bad option and what it expects.
 */
export function checkInteractiveOptions(options: object): void {
  check(options, INTERACTIVE_OPTIONS);
}

/**
 * Checks the options of an authorization request built for the app (`maxAge`, `responseMode`); other
 * fields are left to the flow.
 *
 * @param options the call's options
 * @throws {ConfigurationError} naming the first bad option and what it expects.
 */
export function checkAuthorizationUrlOptions(options: object): void {
  check(options, AUTHORIZATION_URL_OPTIONS);
}

function check(options: object, fields: Record<string, Rule>, closed = false): void {
  const problem = checkFields(options as Record<string, unknown>, fields, closed, "");
  if (problem) throw new ConfigurationError(problem);
}

/** The first problem of `value`'s fields, in words; `undefined` when there is none. */
function checkFields(
  value: Record<string, unknown>,
  fields: Record<string, Rule>,
  closed: boolean,
  prefix: string,
): string | undefined {
  for (const [name, field] of Object.entries(value)) {
    const fieldRule = Object.hasOwn(fields, name) ? fields[name] : undefined;
    if (!fieldRule) {
      if (!closed || field === undefined) continue;
      const guess = closest(name, Object.keys(fields));
      return `Unknown option ${prefix}${name}${guess ? `; did you mean ${prefix}${guess}?` : "."} ` +
        `Known options: ${Object.keys(fields).map((known) => prefix + known).join(", ")}.`;
    }
    const problem = field === undefined ? undefined : fieldRule.check(field, prefix + name);
    if (problem) return problem;
  }
  return undefined;
}

/** The known name within edit distance 2 of `name` (ignoring case), if any. */
function closest(name: string, known: string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = 3;
  for (const candidate of known) {
    const d = distance(name.toLowerCase(), candidate.toLowerCase());
    if (d < bestDistance) [best, bestDistance] = [candidate, d];
  }
  return best;
}

/** Levenshtein distance. */
function distance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min(
        previous[j] + 1,
        current[j - 1] + 1,
        previous[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1),
      );
    }
    previous = current;
  }
  return previous[b.length];
}

/** A value as a message shows it: strings quoted, objects by kind. */
function describe(value: unknown): string {
  if (typeof value === "string") return quote(value);
  if (typeof value === "function") return "a function";
  if (Array.isArray(value)) return "an array";
  if (value === null) return "null";
  if (typeof value === "object") return "an object";
  return String(value);
}

function quote(text: string): string {
  return JSON.stringify(text);
}
