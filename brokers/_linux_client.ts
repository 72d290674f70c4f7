/**
 * {@linkcode LinuxBrokerClient}: typed calls to Microsoft's Linux identity broker over the D-Bus session
 * bus, with `dbus-next` loaded on demand. Every call has a deadline, transport failures come back as
 * {@linkcode LinuxBrokerError} values, and the broker is never introspected (brokers after 2.0.1 expose
 * no interface): each call is a direct `sss -> s` method call.
 *
 * @module
 */

import { AbortError, messageOf } from "../core/errors.ts";
import { abortable, DEFAULT_INTERACTIVE_TIMEOUT_MS, sleep } from "../core/abort.ts";
import { denoAllows, detectRuntime, type Runtime, systemProbe } from "../core/platform.ts";
import { BrokerUnavailableError, importDependency } from "./broker.ts";
import {
  type AuthParametersInit,
  BROKER_BUS_NAME,
  BROKER_INTERFACE,
  BROKER_OBJECT_PATH,
  brokerVersionRequest,
  decodeAccounts,
  decodeBrokerVersion,
  decodePrtSsoCookie,
  decodeRemoveAccount,
  decodeSignedHttpRequest,
  decodeToken,
  DEFAULT_SSO_URL,
  getAccountsRequest,
  interactiveTokenRequest,
  type LinuxBrokerAccount,
  type LinuxBrokerError,
  type LinuxBrokerMethod,
  type LinuxBrokerToken,
  type LinuxPopParameters,
  type LinuxPrtSsoCookie,
  localError,
  PROTOCOL_VERSION,
  prtSsoCookieRequest,
  removeAccountRequest,
  signedHttpRequestRequest,
  silentTokenRequest,
} from "./_linux_wire.ts";

/** Default deadline of calls without UI, in milliseconds. */
export const DEFAULT_TIMEOUT_MS = 30_000;
// The interactive deadline is the library-wide default (10 minutes), defined once in core.
export { DEFAULT_INTERACTIVE_TIMEOUT_MS };
/** How long `UnknownObject` (the broker owns its name but has not exported its object yet) is retried. */
const STARTUP_RETRY_MS = 5_000;
const STARTUP_POLL_MS = 100;
/** `parentWindowHandle` of a console app, which has no window: the value Microsoft's runtime was recorded sending. */
export const CONSOLE_WINDOW = 1;

/** Options of {@linkcode LinuxBrokerClient.connect}. */
export interface LinuxBrokerClientOptions {
  /**
   * The D-Bus address of the session bus, e.g. `unix:path=/run/user/1000/bus`. Default:
   * `DBUS_SESSION_BUS_ADDRESS`, else `unix:path=$XDG_RUNTIME_DIR/bus`.
   */
  address?: string;
  /** Deadline of calls without UI, in ms. Default 30 s. */
  timeoutMs?: number;
  /** Deadline of interactive calls, in ms. Default 10 minutes. */
  interactiveTimeoutMs?: number;
  /** Whose install command a missing `dbus-next` names; the current runtime by default. */
  runtime?: Runtime;
  /** Cancels connecting. */
  signal?: AbortSignal;
}

/** What every call takes. */
export interface LinuxCallOptions {
  /** Sent to the broker and logged by it; a random UUID by default. */
  correlationId?: string;
  /** Cancels the call: the promise rejects with `AbortError`. */
  signal?: AbortSignal;
  /** This call's deadline in ms, instead of the client's default. */
  timeoutMs?: number;
}

/** A token request. */
export interface LinuxTokenRequest extends LinuxCallOptions {
  /** The app's client id. */
  clientId: string;
  /** The scopes, sent exactly as given (nothing is added). */
  scopes: readonly string[];
  /** `https://<host>/<tenant>`; default `https://login.microsoftonline.com/common`. */
  authority?: string;
  /** Default `https://login.microsoftonline.com/common/oauth2/nativeclient`, which the app must register. */
  redirectUri?: string;
  /** A claims request or challenge, as JSON (sent as `decodedClaims`). */
  claims?: string;
  /** Extra query parameters of the authorization request, e.g. `{max_age: "3600"}`. */
  extraQueryParameters?: Record<string, string>;
  /** Asks for a proof-of-possession token bound to this request. */
  pop?: LinuxPopParameters;
}

/** A silent token request; without `account`, for the OS's default account (a silent sign-in). */
export interface LinuxSilentTokenRequest extends LinuxTokenRequest {
  /** An account from {@linkcode LinuxBrokerClient.getAccounts}, sent back unchanged. */
  account?: LinuxBrokerAccount;
}

/** An interactive token request: the broker may show its sign-in window. */
export interface LinuxInteractiveTokenRequest extends LinuxSilentTokenRequest {
  /** The X11 window id to parent the broker's window to; console apps pass {@linkcode CONSOLE_WINDOW}. */
  parentWindowHandle?: number;
  /** Pre-fills the sign-in name when there is no `account`. */
  loginHint?: string;
}

/** A PRT SSO cookie request. */
export interface LinuxPrtSsoCookieRequest extends LinuxCallOptions {
  /** The app's client id. */
  clientId: string;
  /** An account from {@linkcode LinuxBrokerClient.getAccounts}. */
  account: LinuxBrokerAccount;
  /** The sign-in URL the cookie is for; default `https://login.microsoftonline.com/`. */
  ssoUrl?: string;
  /** The authority, `https://<host>/<tenant>`; default `https://login.microsoftonline.com/common`. */
  authority?: string;
  /** The scopes, sent as given; default `["https://graph.microsoft.com/.default"]`. */
  scopes?: readonly string[];
  /** The redirect URI; default `https://login.microsoftonline.com/common/oauth2/nativeclient`. */
  redirectUri?: string;
}

/** A Signed HTTP Request (proof of possession) for a resource request. */
export interface LinuxSignedHttpRequestRequest extends LinuxCallOptions {
  /** The app's client id. */
  clientId: string;
  /** The account whose PoP key signs. */
  account: LinuxBrokerAccount;
  /** The resource request to sign. */
  pop: LinuxPopParameters;
}

// The parts of dbus-next this client uses.
interface DBusMessage {
  body: unknown[];
}
interface DBusConnection {
  on(event: "end" | "error", listener: () => void): void;
  stream?: { unref?(): void };
}
interface MessageBus {
  call(message: DBusMessage): Promise<DBusMessage>;
  disconnect(): void;
  on(event: "connect" | "error", listener: (error?: unknown) => void): void;
  removeAllListeners(event?: string): void;
  _connection?: DBusConnection;
}
interface DBusNext {
  sessionBus(options: { busAddress: string }): MessageBus;
  Message: new (init: {
    destination: string;
    path: string;
    interface: string;
    member: string;
    signature?: string;
    body?: unknown[];
  }) => DBusMessage;
}

/** A live connection, and who to tell when it closes. */
interface Connection {
  bus: MessageBus;
  /** Calls `listener` once when the connection closes; returns a function that unsubscribes. */
  onClose(listener: () => void): () => void;
  isClosed(): boolean;
}

/**
 * A client for Microsoft's Linux identity broker (`microsoft-identity-broker`, D-Bus name
 * `com.microsoft.identity.broker1`), usable without `PublicClientApplication`: list accounts, get
 * tokens silently or interactively, get the PRT SSO cookie for a web view, sign HTTP requests, sign
 * out. Requests have the shape Microsoft's own MSAL runtime sends; replies of both broker generations
 * (≤ 2.0.1 and ≥ 3.0) are understood.
 *
 * Failures are returned, not thrown, as {@linkcode LinuxBrokerError} (`ok: false`): the broker's own
 * errors (with its `status`, `errorCode`, `tag`, `context`), deadlines, a broker that disconnects
 * mid-call and replies that make no sense. Only a caller's abort (`AbortError`) is thrown.
 *
 * @example Get the PRT SSO cookie for a web view
 * ```ts
 * import { LinuxBrokerClient } from "@authbroker/msal/linux-broker";
 *
 * declare const webView: { setCookie(url: string, name: string, value: string): void }; // your embedded browser
 * const broker = await LinuxBrokerClient.connect();
 * try {
 *   const clientId = "d7b530a4-7680-4c23-a8bf-c52c121d2e87";
 *   const accounts = await broker.getAccounts({ clientId });
 *   if (!Array.isArray(accounts)) throw new Error(accounts.context);
 *   const cookie = await broker.acquirePrtSsoCookie({ clientId, account: accounts[0] });
 *   if (cookie.ok) webView.setCookie("https://login.microsoftonline.com", cookie.cookieName, cookie.cookieContent);
 *   const token = await broker.acquireTokenSilently({ clientId, account: accounts[0], scopes: ["User.Read"] });
 *   if (token.ok) await fetch("https://graph.microsoft.com/v1.0/me", { headers: { authorization: `Bearer ${token.accessToken}` } });
 * } finally {
 *   await broker.close();
 * }
 * ```
 */
export class LinuxBrokerClient {
  readonly #dbus: DBusNext;
  readonly #address: string;
  readonly #timeoutMs: number;
  readonly #interactiveTimeoutMs: number;
  #connection: Promise<Connection> | undefined;

  private constructor(dbus: DBusNext, address: string, options: LinuxBrokerClientOptions) {
    this.#dbus = dbus;
    this.#address = address;
    this.#timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.#interactiveTimeoutMs = options.interactiveTimeoutMs ?? DEFAULT_INTERACTIVE_TIMEOUT_MS;
  }

  /**
   * Connects to the session bus and checks that the broker is there: its name is owned, or D-Bus can
   * start it (activatable). Does not start the broker: the first call does.
   *
   * @param options the bus `address`, the calls' default deadlines (`timeoutMs`, 30 s, and
   *   `interactiveTimeoutMs`, 10 minutes; both in ms), the `runtime` a missing `dbus-next` is named for,
   *   and a `signal` cancelling the connection
   * @returns a client connected to the bus; `close()` it when done
   * @throws {BrokerDependencyError} when `dbus-next` is not installed; the message names the install
   *   command of the runtime (`npm install dbus-next`, `bun add dbus-next`, `deno add npm:dbus-next`).
   * @throws {BrokerUnavailableError} when there is no session bus, it cannot be opened, or the broker is
   *   neither running nor installed.
   * @throws {AbortError} when `options.signal` aborts.
   */
  static async connect(options: LinuxBrokerClientOptions = {}): Promise<LinuxBrokerClient> {
    const dbus = await loadDbusNext(options.runtime ?? detectRuntime());
    const address = options.address ?? sessionBusAddress();
    if (!address) {
      throw new BrokerUnavailableError(
        denoAllows({ name: "env", variable: "DBUS_SESSION_BUS_ADDRESS" })
          ? "no D-Bus session bus (DBUS_SESSION_BUS_ADDRESS and XDG_RUNTIME_DIR are not set)"
          : "Deno needs --allow-env=DBUS_SESSION_BUS_ADDRESS to find the D-Bus session bus",
      );
    }
    const client = new LinuxBrokerClient(dbus, address, options);
    try {
      await client.#checkInstalled(options.signal);
    } catch (error) {
      await client.close();
      throw error;
    }
    return client;
  }

  /** The session bus address in use. */
  get address(): string {
    return this.#address;
  }

  /**
   * The accounts the broker knows (for this app), or why it could not list them.
   *
   * @param request the app's `clientId`, optionally its `redirectUri`, and the call options
   *   (`correlationId`, `signal`, `timeoutMs` in ms)
   * @returns the accounts (possibly none), or a {@linkcode LinuxBrokerError}
   * @throws {AbortError} when `request.signal` aborts; every other failure is the returned error.
   */
  async getAccounts(
    request: LinuxCallOptions & { clientId: string; redirectUri?: string },
  ): Promise<LinuxBrokerAccount[] | LinuxBrokerError> {
    const reply = await this.#call(
      "getAccounts",
      getAccountsRequest(request.clientId, request.redirectUri),
      request,
    );
    return typeof reply === "string" ? decodeAccounts(reply) : reply;
  }

  /**
   * A token without UI: for `account`, or without one for the OS's default account (`isSignIn`).
   *
   * @param request the app, scopes, optional account, authority, redirect URI, claims and PoP
   *   parameters, and the call options (`timeoutMs` in ms)
   * @returns the token (`ok: true`; `expiresOn` in epoch ms), or a {@linkcode LinuxBrokerError}
   * @throws {AbortError} when `request.signal` aborts; every other failure is the returned error.
   */
  async acquireTokenSilently(request: LinuxSilentTokenRequest): Promise<LinuxBrokerToken | LinuxBrokerError> {
    const reply = await this.#call("acquireTokenSilently", silentTokenRequest(authInit(request)), request);
    return typeof reply === "string" ? decodeToken(reply, "acquireTokenSilently") : reply;
  }

  /**
   * A token after the broker's UI (often without a window when the device already has a PRT). Never
   * retried: a second attempt could show a second window. Default deadline 10 minutes.
   *
   * @param request as {@linkcode LinuxBrokerClient.acquireTokenSilently}'s, plus the X11
   *   `parentWindowHandle` ({@linkcode CONSOLE_WINDOW} by default) and a `loginHint`
   * @returns the token (`ok: true`; `expiresOn` in epoch ms), or a {@linkcode LinuxBrokerError}
   * @throws {AbortError} when `request.signal` aborts; every other failure is the returned error.
   */
  async acquireTokenInteractively(
    request: LinuxInteractiveTokenRequest,
  ): Promise<LinuxBrokerToken | LinuxBrokerError> {
    const init = { ...authInit(request), ...(request.loginHint ? { username: request.loginHint } : {}) };
    const body = interactiveTokenRequest(init, request.parentWindowHandle ?? CONSOLE_WINDOW);
    const reply = await this.#call("acquireTokenInteractively", body, request, true);
    return typeof reply === "string" ? decodeToken(reply, "acquireTokenInteractively") : reply;
  }

  /**
   * Signs `account` out of this app in the broker; `undefined` on success.
   *
   * @param request the app's `clientId`, the `account` (from `getAccounts`) and the call options
   * @returns `undefined` once signed out, or a {@linkcode LinuxBrokerError}
   * @throws {AbortError} when `request.signal` aborts; every other failure is the returned error.
   */
  async removeAccount(
    request: LinuxCallOptions & { clientId: string; account: LinuxBrokerAccount },
  ): Promise<LinuxBrokerError | undefined> {
    const reply = await this.#call(
      "removeAccount",
      removeAccountRequest(request.clientId, request.account),
      request,
    );
    return typeof reply === "string" ? decodeRemoveAccount(reply) : reply;
  }

  /**
   * The Primary Refresh Token SSO cookie (`x-ms-RefreshTokenCredential`) for a web view: set it as a
   * cookie on the sign-in host, or send it as the `X-Ms-RefreshTokenCredential` header.
   *
   * @param request the app's `clientId`, the `account`, and optionally the `ssoUrl`, authority, scopes
   *   and redirect URI, and the call options
   * @returns the cookie's name and value (`ok: true`), or a {@linkcode LinuxBrokerError}
   * @throws {AbortError} when `request.signal` aborts; every other failure is the returned error.
   */
  async acquirePrtSsoCookie(
    request: LinuxPrtSsoCookieRequest,
  ): Promise<LinuxPrtSsoCookie | LinuxBrokerError> {
    const body = prtSsoCookieRequest(
      {
        clientId: request.clientId,
        account: request.account,
        scopes: request.scopes ?? ["https://graph.microsoft.com/.default"],
        ...(request.authority ? { authority: request.authority } : {}),
        ...(request.redirectUri ? { redirectUri: request.redirectUri } : {}),
      },
      request.ssoUrl ?? DEFAULT_SSO_URL,
    );
    const reply = await this.#call("acquirePrtSsoCookie", body, request);
    return typeof reply === "string" ? decodePrtSsoCookie(reply) : reply;
  }

  /**
   * A Signed HTTP Request (the PoP authorization for one resource request), signed with the account's key.
   *
   * @param request the app's `clientId`, the `account`, the resource request to sign (`pop`) and the
   *   call options
   * @returns the signed request (`ok: true`, `signedHttpRequest`), or a {@linkcode LinuxBrokerError}
   * @throws {AbortError} when `request.signal` aborts; every other failure is the returned error.
   */
  async generateSignedHttpRequest(
    request: LinuxSignedHttpRequestRequest,
  ): Promise<{ ok: true; signedHttpRequest: string } | LinuxBrokerError> {
    const body = signedHttpRequestRequest(request.clientId, request.account, request.pop);
    const reply = await this.#call("generateSignedHttpRequest", body, request);
    return typeof reply === "string" ? decodeSignedHttpRequest(reply) : reply;
  }

  /**
   * The broker's version, e.g. `"3.0.2"`: cheap and without side effects, a good health probe.
   *
   * @param options the call options (`correlationId`, `signal`, `timeoutMs` in ms)
   * @returns the version (`ok: true`, `version`), or a {@linkcode LinuxBrokerError}
   * @throws {AbortError} when `options.signal` aborts; every other failure is the returned error.
   */
  async getLinuxBrokerVersion(
    options: LinuxCallOptions = {},
  ): Promise<{ ok: true; version: string } | LinuxBrokerError> {
    const reply = await this.#call("getLinuxBrokerVersion", brokerVersionRequest(), options);
    return typeof reply === "string" ? decodeBrokerVersion(reply) : reply;
  }

  /** Disconnects from the bus. Calls made afterwards reconnect. */
  async close(): Promise<void> {
    const connection = this.#connection;
    this.#connection = undefined;
    if (!connection) return;
    try {
      (await connection).bus.disconnect();
    } catch {
      // Never connected, or already gone.
    }
  }

  /** Whether the broker's name is owned or activatable; throws {@linkcode BrokerUnavailableError} if neither. */
  async #checkInstalled(signal: AbortSignal | undefined): Promise<void> {
    await this.#connected(signal);
    const ask = async (member: string, body?: unknown[]): Promise<unknown> => {
      const reply = await this.#busCall(member, body, signal);
      if ("ok" in reply) {
        throw new BrokerUnavailableError(`the session bus did not answer ${member}: ${reply.context}`);
      }
      return reply.body[0];
    };
    if (await ask("NameHasOwner", [BROKER_BUS_NAME]) === true) return;
    const activatable = await ask("ListActivatableNames");
    if (Array.isArray(activatable) && activatable.includes(BROKER_BUS_NAME)) return;
    throw new BrokerUnavailableError(
      `the Linux identity broker is not installed: ${BROKER_BUS_NAME} is neither running nor activatable on the session bus`,
    );
  }

  /** A call to the bus daemon itself, under the non-UI deadline. */
  async #busCall(member: string, body: unknown[] | undefined, signal: AbortSignal | undefined) {
    const message = new this.#dbus.Message({
      destination: "org.freedesktop.DBus",
      path: "/org/freedesktop/DBus",
      interface: "org.freedesktop.DBus",
      member,
      ...(body ? { signature: "s", body } : {}),
    });
    return await this.#send(message, this.#timeoutMs, signal);
  }

  /** One broker method call: the reply JSON, or why there is none. */
  async #call(
    method: LinuxBrokerMethod,
    request: Record<string, unknown>,
    options: LinuxCallOptions,
    interactive = false,
  ): Promise<string | LinuxBrokerError> {
    const timeoutMs = options.timeoutMs ?? (interactive ? this.#interactiveTimeoutMs : this.#timeoutMs);
    const deadline = Date.now() + timeoutMs;
    const body = [PROTOCOL_VERSION, options.correlationId ?? crypto.randomUUID(), JSON.stringify(request)];
    const startupEnds = Date.now() + STARTUP_RETRY_MS;
    for (;;) {
      const message = new this.#dbus.Message({
        destination: BROKER_BUS_NAME,
        path: BROKER_OBJECT_PATH,
        interface: BROKER_INTERFACE,
        member: method,
        signature: "sss",
        body,
      });
      const reply = await this.#send(message, Math.max(0, deadline - Date.now()), options.signal);
      if ("body" in reply) {
        const [json] = reply.body;
        return typeof json === "string"
          ? json
          : localError("MalformedReply", `The broker's ${method} reply is not a string`);
      }
      // The broker owns its name but has not exported its object yet (start-up). It never saw the
      // call, so even an interactive call can be sent again.
      const retry = reply.tag === UNKNOWN_OBJECT &&
        Date.now() + STARTUP_POLL_MS < Math.min(startupEnds, deadline);
      if (!retry) return reply;
      await sleep(STARTUP_POLL_MS, options.signal);
    }
  }

  /** Sends a message on the (re)connected bus and waits for its reply, the deadline, or the caller's abort. */
  async #send(
    message: DBusMessage,
    timeoutMs: number,
    signal: AbortSignal | undefined,
  ): Promise<DBusMessage | LinuxBrokerError> {
    if (signal?.aborted) throw new AbortError(undefined, { cause: signal.reason });
    let connection: Connection;
    try {
      connection = await this.#connected(signal);
    } catch (error) {
      if (error instanceof AbortError) throw error;
      return localError("Unreachable", messageOf(error));
    }
    if (signal?.aborted) throw new AbortError(undefined, { cause: signal.reason });
    let timer: ReturnType<typeof setTimeout> | undefined;
    let unsubscribe = (): void => {};
    const stopped = new Promise<LinuxBrokerError>((resolve) => {
      // This timer also keeps the process alive while the call is pending (the socket does not).
      timer = setTimeout(
        () => resolve(localError("Timeout", `The broker did not answer within ${timeoutMs} ms`)),
        timeoutMs,
      );
      unsubscribe = connection.onClose(() =>
        resolve(
          localError("Disconnected", "The connection to the session bus closed before the broker replied"),
        )
      );
    });
    const replied = connection.bus.call(message).catch(transportError);
    try {
      return await abortable(Promise.race([replied, stopped]), signal);
    } finally {
      clearTimeout(timer);
      unsubscribe();
    }
  }

  /** The open connection, opening one (again) when there is none or it closed. */
  async #connected(signal: AbortSignal | undefined): Promise<Connection> {
    const current = this.#connection && await this.#connection.catch(() => undefined);
    if (current && !current.isClosed()) return current;
    // Shared by concurrent calls: one caller's abort stops its own wait, not the connecting.
    const opening = openBus(this.#dbus, this.#address, this.#timeoutMs);
    this.#connection = opening;
    opening.catch(() => {
      if (this.#connection === opening) this.#connection = undefined;
    });
    return await abortable(opening, signal);
  }
}

const UNKNOWN_OBJECT = "org.freedesktop.DBus.Error.UnknownObject";

/** A rejected `bus.call` as a {@linkcode LinuxBrokerError}: the D-Bus error name goes in `tag`. */
function transportError(error: unknown): LinuxBrokerError {
  const type = typeof error === "object" && error !== null && "type" in error ? String(error.type) : "";
  const text = typeof error === "object" && error !== null && "text" in error
    ? String(error.text)
    : messageOf(error);
  if (!type) return localError("TransportError", text);
  const name = type.replace(/^org\.freedesktop\.DBus\.Error\./, "");
  if (name === "NoReply" && /disconnected/i.test(text)) return localError("Disconnected", text, type);
  if (name === "NoReply" || name === "TimedOut") return localError("Timeout", text, type);
  if (name === "ServiceUnknown" || name === "NameHasNoOwner" || name.startsWith("Spawn.")) {
    return localError("Unreachable", `The Linux identity broker is not available: ${text}`, type);
  }
  return localError("TransportError", text, type);
}

/**
 * Imports `dbus-next`, the optional peer dependency.
 *
 * @throws {BrokerDependencyError} when it is not installed.
 */
async function loadDbusNext(runtime: Runtime): Promise<DBusNext> {
  const module: { default?: unknown; sessionBus?: unknown } = await importDependency(
    "dbus-next",
    () => import("dbus-next"),
    { runtime },
  );
  return (module.sessionBus ? module : module.default) as DBusNext;
}

/** `DBUS_SESSION_BUS_ADDRESS`, else the systemd user bus in `XDG_RUNTIME_DIR`. */
function sessionBusAddress(): string | undefined {
  const address = systemProbe.env("DBUS_SESSION_BUS_ADDRESS");
  if (address) return address;
  const runtimeDir = systemProbe.env("XDG_RUNTIME_DIR");
  return runtimeDir ? `unix:path=${runtimeDir}/bus` : undefined;
}

/**
 * The first entry of a D-Bus address list that dbus-next can open by itself (`unix:path=`,
 * `unix:socket=`, `tcp:`): it opens `unix:abstract=` only with the native `usocket` package.
 */
function openableAddress(address: string): string | undefined {
  return address.split(";").map((entry) => entry.trim()).find((entry) =>
    /^unix:(?:.*,)?(?:path|socket)=/.test(entry) || /^tcp:/.test(entry)
  );
}

/**
 * The Deno permissions connecting to `address` needs and lacks, as flags; none on other runtimes. Asked
 * first: a library must not make Deno prompt, and dbus-next reads the uid where an exception would
 * escape.
 */
function missingDenoPermissions(address: string): string[] {
  const missing: string[] = [];
  // dbus-next authenticates with the process's uid.
  if (!denoAllows({ name: "sys", kind: "uid" })) missing.push("--allow-sys=uid");
  const path = /^unix:(?:.*,)?path=([^,]+)/.exec(address)?.[1];
  if (path) {
    const socket = decodeURIComponent(path);
    if (!denoAllows({ name: "read", path: socket })) missing.push(`--allow-read=${socket}`);
    if (!denoAllows({ name: "write", path: socket })) missing.push(`--allow-write=${socket}`);
    if (!denoAllows({ name: "net", host: `unix:${socket}` })) missing.push(`--allow-net=unix:${socket}`);
  }
  return missing;
}

/** Connects to the bus at `address`; rejects with {@linkcode BrokerUnavailableError} when it cannot. */
function openBus(dbus: DBusNext, address: string, timeoutMs: number): Promise<Connection> {
  const openable = openableAddress(address);
  if (!openable) {
    const why = /unix:abstract=/.test(address)
      ? "it is an abstract socket (unix:abstract=), which dbus-next cannot open without the native usocket " +
        "package; start the session bus with a unix:path= address"
      : "dbus-next supports only unix:path= and tcp: addresses";
    return Promise.reject(
      new BrokerUnavailableError(`cannot open the D-Bus session bus at ${address}: ${why}`),
    );
  }
  const missing = missingDenoPermissions(openable);
  if (missing.length) {
    return Promise.reject(
      new BrokerUnavailableError(`Deno needs ${missing.join(" ")} to use the D-Bus session bus`),
    );
  }
  let bus: MessageBus;
  try {
    bus = dbus.sessionBus({ busAddress: openable });
  } catch (error) {
    return Promise.reject(
      new BrokerUnavailableError(`cannot open the D-Bus session bus at ${openable}: ${messageOf(error)}`, {
        cause: error,
      }),
    );
  }
  let closed = false;
  const listeners = new Set<() => void>();
  const markClosed = (): void => {
    if (closed) return;
    closed = true;
    for (const listener of listeners) listener();
    listeners.clear();
  };
  const onClose = (listener: () => void): () => void => {
    if (closed) listener();
    else listeners.add(listener);
    return () => listeners.delete(listener);
  };
  return new Promise<Connection>((resolve, reject) => {
    const fail = (error: Error) => {
      clearTimeout(timer);
      try {
        bus.disconnect();
      } catch {
        // The socket never opened.
      }
      reject(error);
    };
    const timer = setTimeout(
      () =>
        fail(
          new BrokerUnavailableError(
            `the D-Bus session bus at ${openable} did not answer within ${timeoutMs} ms`,
          ),
        ),
      timeoutMs,
    );
    // Errors after connecting (the bus going away) close the connection; the next call reconnects.
    bus.on("error", (error) => {
      markClosed();
      fail(
        new BrokerUnavailableError(
          `cannot connect to the D-Bus session bus at ${openable}: ${messageOf(error)}`,
          {
            cause: error,
          },
        ),
      );
    });
    bus._connection?.on("end", markClosed);
    bus.on("connect", () => {
      clearTimeout(timer);
      // An idle connection must not keep the app's process alive; pending calls hold a timer instead.
      bus._connection?.stream?.unref?.();
      resolve({ bus, onClose, isClosed: () => closed });
    });
  });
}

/** The fields every token request shares, from a client request. */
function authInit(request: LinuxSilentTokenRequest): AuthParametersInit {
  const init: AuthParametersInit = { clientId: request.clientId, scopes: request.scopes };
  if (request.authority) init.authority = request.authority;
  if (request.redirectUri) init.redirectUri = request.redirectUri;
  if (request.claims) init.claims = request.claims;
  if (request.extraQueryParameters) init.extraQueryParameters = request.extraQueryParameters;
  if (request.pop) init.pop = request.pop;
  if (request.account) init.account = request.account;
  return init;
}
