/**
 * A fake `microsoft-identity-broker` on a D-Bus bus: it owns `com.microsoft.identity.broker1`, exports
 * `/com/microsoft/identity/broker1` with interface `com.microsoft.identity.Broker1`, answers the eight
 * methods with the JSON of a real 2.0.1 or 3.0.2 broker, signs real JWTs, records every request and
 * fails on demand. Microsoft's own MSAL runtime accepts it.
 *
 * @example
 * ```ts
 * import { FakeLinuxBroker, startPrivateBus } from "@authbroker/msal/testing";
 *
 * const bus = await startPrivateBus();
 * const broker = await FakeLinuxBroker.start({
 *   address: bus.address,
 *   profile: "3.0.2",
 *   accounts: [{ username: "alice@contoso.com" }],
 * });
 * broker.fail("acquireTokenSilently", { kind: "error", status: 2 }); // the next silent call: UI required
 * // ... run the app with DBUS_SESSION_BUS_ADDRESS=bus.address ...
 * console.log(broker.requestsTo("acquireTokenSilently")[0].request);
 * await broker.close();
 * await bus.stop();
 * ```
 *
 * @module
 */

import process from "node:process";
import { BROKER_BUS_NAME, BROKER_INTERFACE, BROKER_OBJECT_PATH } from "../linux_broker.ts";
import { authorityContexts } from "./_context.ts";
import { checkTimes } from "./_times.ts";
import { isJsonObject, type Json } from "./_json.ts";
import { connectBus, type DBusConnection, type DBusMessage, type DBusNext, loadDBusNext } from "./_dbus.ts";
import {
  type AuthParameters,
  checkAuthorizationType,
  errorReply,
  parseRequest,
  readAuthParameters,
  RejectedRequest,
  requireString,
  ssoNonce,
  Status,
  telemetry,
  wireError,
} from "./_linux_broker_wire.ts";
import {
  brokerAccount,
  FAKE_LINUX_TENANT_ID,
  ownSigner,
  type PopRequest,
  prtCookie,
  signedHttpRequest,
  type TokenGrant,
  tokenResponse,
  type TokenSigner,
  tokenTenant,
} from "./_linux_broker_tokens.ts";
import type {
  FakeLinuxBrokerAccount,
  FakeLinuxBrokerAccountInit,
  FakeLinuxBrokerBusCall,
  FakeLinuxBrokerFault,
  FakeLinuxBrokerMethod,
  FakeLinuxBrokerOptions,
  FakeLinuxBrokerProfile,
  FakeLinuxBrokerRequest,
} from "./_types.ts";

export type {
  FakeLinuxBrokerAccount,
  FakeLinuxBrokerAccountInit,
  FakeLinuxBrokerBusCall,
  FakeLinuxBrokerFault,
  FakeLinuxBrokerJsonError,
  FakeLinuxBrokerMethod,
  FakeLinuxBrokerOptions,
  FakeLinuxBrokerProfile,
  FakeLinuxBrokerRequest,
} from "./_types.ts";

/** The broker's well-known bus name: `BROKER_BUS_NAME` of `@authbroker/msal/linux-broker`. */
export const LINUX_BROKER_NAME: string = BROKER_BUS_NAME;
/** The broker's object path: `BROKER_OBJECT_PATH` of `@authbroker/msal/linux-broker`. */
export const LINUX_BROKER_PATH: string = BROKER_OBJECT_PATH;
/** The broker's interface: `BROKER_INTERFACE` of `@authbroker/msal/linux-broker`. */
export const LINUX_BROKER_INTERFACE: string = BROKER_INTERFACE;

const METHODS: readonly FakeLinuxBrokerMethod[] = [
  "acquireTokenInteractively",
  "acquireTokenSilently",
  "getAccounts",
  "removeAccount",
  "acquirePrtSsoCookie",
  "generateSignedHttpRequest",
  "cancelInteractiveFlow",
  "getLinuxBrokerVersion",
];

const ERROR_UNKNOWN_OBJECT = "org.freedesktop.DBus.Error.UnknownObject";
const ERROR_UNKNOWN_METHOD = "org.freedesktop.DBus.Error.UnknownMethod";
const ERROR_INVALID_ARGS = "org.freedesktop.DBus.Error.InvalidArgs";
const DO_NOT_QUEUE = 4;
const PRIMARY_OWNER = 1;
const IN_QUEUE = 2;

const INTROSPECTION_HEADER =
  '<!DOCTYPE node PUBLIC "-//freedesktop//DTD D-BUS Object Introspection 1.0//EN"\n' +
  '"http://www.freedesktop.org/standards/dbus/1.0/introspect.dtd">\n';

// What a 2.0.1 (Java) broker returns from Introspect: the Broker1 interface and the standard ones.
const V2_INTROSPECTION = INTROSPECTION_HEADER + [
  "<node>",
  `  <interface name="${LINUX_BROKER_INTERFACE}">`,
  ...METHODS.map((m) =>
    `    <method name="${m}">\n` +
    `      <arg name="protocolVersion" type="s" direction="in"/>\n` +
    `      <arg name="correlationId" type="s" direction="in"/>\n` +
    `      <arg name="requestJson" type="s" direction="in"/>\n` +
    `      <arg name="result" type="s" direction="out"/>\n` +
    `    </method>`
  ),
  "  </interface>",
  '  <interface name="org.freedesktop.DBus.Introspectable">',
  '    <method name="Introspect"><arg name="xml_data" type="s" direction="out"/></method>',
  "  </interface>",
  '  <interface name="org.freedesktop.DBus.Peer">',
  '    <method name="Ping"/>',
  '    <method name="GetMachineId"><arg name="machine_uuid" type="s" direction="out"/></method>',
  "  </interface>",
  "</node>",
  "",
].join("\n");

// Brokers after 2.0.1 implement no introspection: an empty node (spec §1).
const V3_INTROSPECTION = INTROSPECTION_HEADER + "<node/>\n";

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

interface QueuedFault {
  method: FakeLinuxBrokerMethod | "*";
  fault: FakeLinuxBrokerFault;
  remaining: number;
}

interface PendingCall {
  reported?: boolean;
  method: FakeLinuxBrokerMethod;
  message: DBusMessage;
  connection: DBusConnection;
  record: FakeLinuxBrokerRequest;
}

/**
 * A fake Linux identity broker on a D-Bus bus (usually a {@linkcode startPrivateBus} bus).
 *
 * What it checks, like a real broker (spec §3, §4, §11), answering the broker's JSON error rather than
 * a D-Bus error:
 * - the signature `sss` (else `org.freedesktop.DBus.Error.InvalidArgs`), protocol version `"0.0"`, a
 *   JSON object as request (else status 0 `Invalid requestJson`);
 * - token calls: `authParameters` with `clientId`, an http(s) `authority`, `redirectUri` and a non-empty
 *   array `requestedScopes`; the account sent back must be one the broker listed, unchanged but for its
 *   `environment`, which may be any host of the same cloud as Microsoft's runtime normalises it (status
 *   6 when a field differs, status 2 when the broker does not know it); silent calls without an account
 *   need `isSignIn: true`;
 * - profile 3.0.2: `authorizationType` 1 for silent calls, 1, 6 or none for interactive ones, 8 for
 *   cookies (status 6 otherwise), `ssoUrl` also inside `authParameters` for cookies, and no
 *   `offline_access` scope ("declined scopes");
 * - `getAccounts`/`removeAccount`/`generateSignedHttpRequest` need `clientId`, `getLinuxBrokerVersion`
 *   needs `msalCppVersion`.
 *
 * Profile differences: 2.0.1 answers `Introspect` with the interface, sends the PRT cookie flat and
 * `account` in token replies; 3.0.2 answers an empty `<node/>`, sends `cookieItems`, omits `account`
 * and sends an empty `refreshToken`.
 *
 * The "device": `removeAccount` signs an account out for every app (removing an unknown one is not an
 * error); an interactive call signs in the account it names, else the hinted `username`, else the
 * default account, and answers at once (queue a `noReply` fault to keep the "window" open until
 * `cancelInteractiveFlow` answers it with status 7).
 */
export class FakeLinuxBroker {
  /** The broker generation it behaves like. */
  readonly profile: FakeLinuxBrokerProfile;
  /** The bus address it is connected to. */
  readonly address: string;
  /** The device id of this "device", carried by its access tokens as `deviceid`. */
  readonly deviceId: string = crypto.randomUUID();

  readonly #dbus: DBusNext;
  readonly #signer: TokenSigner;
  readonly #environment: string;
  readonly #tenantId: string;
  readonly #lifetime: number;
  readonly #exportAt: number;
  readonly #defaultAccount: string | undefined;
  readonly #onRequest: ((request: FakeLinuxBrokerRequest) => void) | undefined;
  #accounts: FakeLinuxBrokerAccount[] = [];
  #requests: FakeLinuxBrokerRequest[] = [];
  #busCalls: FakeLinuxBrokerBusCall[] = [];
  #faults: QueuedFault[] = [];
  #pending = new Set<PendingCall>();
  #connection!: DBusConnection;
  #closing?: Promise<void>;

  private constructor(
    dbus: DBusNext,
    signer: TokenSigner,
    address: string,
    options: FakeLinuxBrokerOptions,
    tenantId: string,
  ) {
    this.#dbus = dbus;
    this.#signer = signer;
    this.address = address;
    this.profile = options.profile ?? "3.0.2";
    this.#environment = options.environment ?? "login.windows.net";
    this.#tenantId = tenantId;
    this.#lifetime = options.accessTokenLifetime ?? 3600;
    this.#exportAt = Date.now() + (options.exportDelayMs ?? 0);
    this.#defaultAccount = options.defaultAccount;
    this.#onRequest = options.onRequest;
  }

  /**
   * Connects to the bus, owns `com.microsoft.identity.broker1` and starts answering.
   *
   * @param options bus address, profile, fake authority, accounts, default account, environment, token
   *   lifetime (seconds), start-up race (`exportDelayMs`, milliseconds) and an `onRequest` callback;
   *   every field is optional.
   * @returns the running broker; {@linkcode FakeLinuxBroker.close} it when done.
   * @throws {DependencyError} when dbus-next is not installed (the message names the dev-dependency install
   *   command).
   * @throws {Error} when the bus cannot be reached, or another connection already owns the name.
   * @throws {TypeError} for an unknown profile, no bus address, or a `defaultAccount` that is not among
   *   `accounts`.
   */
  static async start(options: FakeLinuxBrokerOptions = {}): Promise<FakeLinuxBroker> {
    if (options.profile !== undefined && options.profile !== "2.0.1" && options.profile !== "3.0.2") {
      throw new TypeError(`Unknown profile ${options.profile}: use "2.0.1" or "3.0.2"`);
    }
    const address = options.address ?? process.env.DBUS_SESSION_BUS_ADDRESS;
    if (!address) throw new TypeError("No bus address: pass options.address or set DBUS_SESSION_BUS_ADDRESS");
    const dbus = await loadDBusNext();
    const ctx = options.authority ? authorityContexts.get(options.authority) : undefined;
    const signer = ctx ? { key: ctx.key, issuer: (tid: string) => ctx.issuer(tid) } : await ownSigner();
    const tenantId = ctx?.config.defaultTenant ?? FAKE_LINUX_TENANT_ID;
    const broker = new FakeLinuxBroker(dbus, signer, address, options, tenantId);
    const accounts = options.accounts ??
      ctx?.users.map((u) => ({ username: u.username, name: u.name, oid: u.oid, tenantId: u.tenantId })) ??
      [{ username: "alice@contoso.com", name: "Alice Smith" }];
    broker.setAccounts(accounts);
    if (options.defaultAccount !== undefined && !broker.#findByUsername(options.defaultAccount)) {
      throw new TypeError(`defaultAccount ${options.defaultAccount} is not one of the accounts`);
    }
    broker.#connection = await broker.#connect(DO_NOT_QUEUE);
    return broker;
  }

  /** The accounts the broker lists, as it sends them (copies). */
  get accounts(): FakeLinuxBrokerAccount[] {
    return this.#accounts.map((account) => ({ ...account }));
  }

  /** Every call received so far on `com.microsoft.identity.Broker1`, in order. */
  get requests(): FakeLinuxBrokerRequest[] {
    return this.#requests;
  }

  /**
   * Every method call the broker's connection received, in order, whatever its interface: Broker1 calls
   * and also `Introspect`, `org.freedesktop.DBus.Peer.Ping`, unknown members. Shows, e.g., that a client
   * never introspects.
   */
  get busCalls(): FakeLinuxBrokerBusCall[] {
    return this.#busCalls;
  }

  /**
   * The calls of one method, in order.
   *
   * @param method a `com.microsoft.identity.Broker1` method, e.g. `"acquireTokenSilently"`.
   * @returns a new array of its recorded calls, oldest first.
   */
  requestsTo(method: FakeLinuxBrokerMethod): FakeLinuxBrokerRequest[] {
    return this.#requests.filter((r) => r.method === method);
  }

  /** Forgets the recorded calls (`requests` and `busCalls`). */
  clearRequests(): void {
    this.#requests = [];
    this.#busCalls = [];
  }

  /**
   * Replaces the accounts signed in on the "device".
   *
   * @param accounts the new accounts; only `username` is required in each.
   * @returns copies of them as the broker will send them, defaults filled in.
   */
  setAccounts(accounts: FakeLinuxBrokerAccountInit[]): FakeLinuxBrokerAccount[] {
    this.#accounts = accounts.map((init) =>
      brokerAccount(init, { tenantId: this.#tenantId, environment: this.#environment })
    );
    return this.accounts;
  }

  /**
   * Adds an account signed in on the "device".
   *
   * @param account the account; only `username` is required.
   * @returns a copy of it as the broker will send it, defaults filled in.
   */
  addAccount(account: FakeLinuxBrokerAccountInit): FakeLinuxBrokerAccount {
    const added = brokerAccount(account, { tenantId: this.#tenantId, environment: this.#environment });
    this.#accounts.push(added);
    return { ...added };
  }

  /**
   * Makes the next `times` calls of `method` (of any method for `"*"`) meet `fault` instead of their
   * normal answer. Calls are recorded either way; faults apply in the order they were queued.
   *
   * @param method a `com.microsoft.identity.Broker1` method, or `"*"` for any.
   * @param fault what the calls meet: a JSON error, a reply, `emptyAccounts`, `unknownObject`,
   *   `disconnect`, `noReply`, or a `delay` (`delayMs`, milliseconds).
   * @param times how many calls; default 1; `Infinity` for all of them.
   * @throws {TypeError} for `emptyAccounts` on a method other than `getAccounts`.
   * @throws {RangeError} when `times` is not a positive integer or `Infinity`.
   */
  fail(method: FakeLinuxBrokerMethod | "*", fault: FakeLinuxBrokerFault, times = 1): void {
    checkTimes(times);
    if (fault.kind === "emptyAccounts" && method !== "getAccounts") {
      throw new TypeError("emptyAccounts applies to getAccounts only");
    }
    this.#faults.push({ method, fault, remaining: times });
  }

  /**
   * Releases the name and disconnects: calls still pending get `org.freedesktop.DBus.Error.NoReply`,
   * and later calls `org.freedesktop.DBus.Error.ServiceUnknown` (the broker is "not installed"),
   * unless the bus can activate one.
   */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      const connection = this.#connection;
      try {
        await connection.releaseName(LINUX_BROKER_NAME);
      } catch {
        // the connection is already gone
      }
      this.#pending.clear();
      await disconnect(connection);
    })();
    return this.#closing;
  }

  async #connect(flags: number): Promise<DBusConnection> {
    const connection = await connectBus(this.address);
    connection.on("error", () => {}); // a dropped connection must not crash the test process
    connection.addMethodHandler((message) => this.#dispatch(connection, message));
    const reply = await connection.requestName(LINUX_BROKER_NAME, flags);
    if (reply !== PRIMARY_OWNER && reply !== IN_QUEUE) {
      connection.disconnect();
      throw new Error(`${LINUX_BROKER_NAME} is already owned on ${this.address}`);
    }
    return connection;
  }

  // Runs before dbus-next's built-in handlers; returns whether it answered.
  #dispatch(connection: DBusConnection, message: DBusMessage): boolean {
    const send = (reply: DBusMessage) => connection.send(reply);
    const iface = message.interface ?? "";
    this.#busCalls.push({
      interface: iface,
      member: message.member ?? "",
      path: message.path ?? "",
      sender: message.sender ?? "",
      at: Date.now(),
    });
    if (iface === "org.freedesktop.DBus.Peer") return false; // Ping, GetMachineId: dbus-next answers
    if (message.path !== LINUX_BROKER_PATH || Date.now() < this.#exportAt) {
      send(this.#dbus.Message.newError(message, ERROR_UNKNOWN_OBJECT, `Unknown object '${message.path}'`));
      return true;
    }
    if (iface === "org.freedesktop.DBus.Introspectable" && message.member === "Introspect") {
      const xml = this.profile === "2.0.1" ? V2_INTROSPECTION : V3_INTROSPECTION;
      send(this.#dbus.Message.newMethodReturn(message, "s", [xml]));
      return true;
    }
    const method = METHODS.find((m) => m === message.member);
    if ((iface !== "" && iface !== LINUX_BROKER_INTERFACE) || method === undefined) {
      send(
        this.#dbus.Message.newError(
          message,
          ERROR_UNKNOWN_METHOD,
          `Unknown method '${message.member}' on interface '${iface || "(none)"}'`,
        ),
      );
      return true;
    }
    if (message.signature !== "sss") {
      send(
        this.#dbus.Message.newError(
          message,
          ERROR_INVALID_ARGS,
          `Type of message, '(${message.signature ?? ""})', does not match expected type '(sss)'`,
        ),
      );
      return true;
    }
    const [protocolVersion, correlationId, json] = message.body as [string, string, string];
    const record: FakeLinuxBrokerRequest = {
      method,
      protocolVersion,
      correlationId,
      json,
      sender: message.sender ?? "",
      at: Date.now(),
    };
    try {
      record.request = parseRequest(json);
    } catch {
      // recorded without `request`; answered below
    }
    this.#requests.push(record);
    this.#handle({ method, message, connection, record }).catch(() => {});
    return true;
  }

  async #handle(call: PendingCall): Promise<void> {
    try {
      await this.#handleCall(call);
    } finally {
      this.#report(call);
    }
  }

  // Hands the record to `onRequest` once, before the caller can see the outcome.
  #report(call: PendingCall): void {
    if (call.reported) return;
    call.reported = true;
    this.#onRequest?.(call.record);
  }

  async #handleCall(call: PendingCall): Promise<void> {
    const { method, message, connection, record } = call;
    const fault = this.#takeFault(method);
    if (fault?.kind === "unknownObject" || fault?.kind === "disconnect" || fault?.kind === "noReply") {
      this.#report(call);
    }
    switch (fault?.kind) {
      case "unknownObject":
        connection.send(
          this.#dbus.Message.newError(message, ERROR_UNKNOWN_OBJECT, `Unknown object '${message.path}'`),
        );
        return;
      case "disconnect":
        await this.#crash();
        return;
      case "noReply":
        this.#pending.add(call);
        return;
      case "delay":
        await sleep("delayMs" in fault ? fault.delayMs : fault.ms);
        break;
    }
    let reply: Json | string;
    if (fault?.kind === "reply") {
      reply = fault.json;
    } else if (fault?.kind === "error") {
      reply = errorReply(this.profile, method, wireError(fault.status, fault));
    } else if (fault?.kind === "emptyAccounts") {
      reply = { accounts: [], telemetry: telemetry(this.profile, method, "StatusInternal::Success") };
    } else if (
      method === "cancelInteractiveFlow" && this.profile !== "2.0.1" && isEmptyRequest(record.json)
    ) {
      // 3.0.2 fell off the bus when called with an empty body (spec §4.8).
      this.#report(call);
      await this.#crash();
      return;
    } else {
      reply = await this.#answer(method, record);
    }
    this.#reply(call, reply);
  }

  #reply(call: PendingCall, reply: Json | string): void {
    if (typeof reply !== "string") call.record.reply = reply;
    this.#report(call);
    const text = typeof reply === "string" ? reply : JSON.stringify(reply);
    call.connection.send(this.#dbus.Message.newMethodReturn(call.message, "s", [text]));
  }

  #takeFault(method: FakeLinuxBrokerMethod): FakeLinuxBrokerFault | undefined {
    const index = this.#faults.findIndex((f) => f.method === method || f.method === "*");
    if (index < 0) return undefined;
    const queued = this.#faults[index];
    if (--queued.remaining <= 0) this.#faults.splice(index, 1);
    return queued.fault;
  }

  // A crash: the connection drops without replying; a "restarted" broker has already queued for the
  // name, so the bus hands it over the moment the old connection is gone.
  async #crash(): Promise<void> {
    const old = this.#connection;
    this.#connection = await this.#connect(0);
    for (const call of this.#pending) if (call.connection === old) this.#pending.delete(call);
    await disconnect(old);
  }

  async #answer(method: FakeLinuxBrokerMethod, record: FakeLinuxBrokerRequest): Promise<Json> {
    try {
      if (record.protocolVersion !== "0.0") {
        throw new RejectedRequest(
          wireError(Status.ApiContractViolation, {
            context: `Unsupported protocol version '${record.protocolVersion}'`,
          }),
        );
      }
      const request = record.request ?? parseRequest(record.json);
      const ok = telemetry(this.profile, method, "StatusInternal::Success");
      switch (method) {
        case "getLinuxBrokerVersion":
          requireString(request, "msalCppVersion");
          return { linuxBrokerVersion: this.profile, telemetry: ok };
        case "getAccounts":
          requireString(request, "clientId");
          return { accounts: this.accounts, telemetry: ok };
        case "acquireTokenSilently":
        case "acquireTokenInteractively":
          return { brokerTokenResponse: await this.#token(method, request), telemetry: ok };
        case "acquirePrtSsoCookie":
          return { ...await this.#cookie(request), telemetry: ok };
        case "generateSignedHttpRequest":
          return { signedHttpRequest: await this.#signHttpRequest(request), telemetry: ok };
        case "removeAccount": {
          requireString(request, "clientId");
          const account = request.account;
          if (!isJsonObject(account)) {
            throw rejection(Status.Unexpected, "Invalid requestJson: account is missing");
          }
          this.#accounts = this.#accounts.filter((a) => a.homeAccountId !== account.homeAccountId);
          return { telemetry: ok };
        }
        case "cancelInteractiveFlow":
          for (const call of this.#pending) {
            if (call.method !== "acquireTokenInteractively") continue;
            this.#pending.delete(call);
            this.#reply(call, errorReply(this.profile, call.method, wireError(Status.UserCanceled)));
          }
          return { telemetry: ok };
      }
    } catch (error) {
      if (error instanceof RejectedRequest) return errorReply(this.profile, method, error.error);
      throw error;
    }
  }

  async #token(method: "acquireTokenSilently" | "acquireTokenInteractively", request: Json): Promise<Json> {
    const params = readAuthParameters(request);
    checkAuthorizationType(this.profile, method, params.authorizationType);
    if (this.profile !== "2.0.1" && params.scopes.includes("offline_access")) {
      throw rejection(
        Status.Unexpected,
        "Token response failed because declined scopes are present: offline_access",
      );
    }
    let account: FakeLinuxBrokerAccount | undefined;
    if (params.account) {
      account = this.#knownAccount(params.account);
    } else if (method === "acquireTokenSilently") {
      if (!params.isSignIn) {
        throw rejection(Status.ApiContractViolation, "acquireTokenSilently needs an account, or isSignIn");
      }
      account = this.#signInAccount(undefined);
      if (!account) throw rejection(Status.InteractionRequired, "No account is signed in on this device");
    } else {
      account = this.#signInAccount(params.username);
      if (!account) throw rejection(Status.UserCanceled, "The InteractiveRequest was canceled by the user");
    }
    const pop = params.popParams ? readPopRequest(params.popParams) : undefined;
    const response = await tokenResponse(this.#signer, this.#grant(account, params), pop);
    if (this.profile === "2.0.1") response.account = { ...account };
    else response.refreshToken = "";
    return response;
  }

  async #cookie(request: Json): Promise<Json> {
    const ssoUrl = requireString(request, "ssoUrl");
    const params = readAuthParameters(request);
    checkAuthorizationType(this.profile, "acquirePrtSsoCookie", params.authorizationType);
    if (this.profile !== "2.0.1" && params.ssoUrl === undefined) {
      throw rejection(Status.Unexpected, "Invalid requestJson: authParameters.ssoUrl is missing");
    }
    const sent = isJsonObject(request.account) ? request.account : params.account;
    if (!sent) throw rejection(Status.Unexpected, "Invalid requestJson: account is missing");
    const account = this.#knownAccount(sent);
    const cookieContent = await prtCookie(this.#signer, account, ssoNonce(ssoUrl));
    const cookieName = "x-ms-RefreshTokenCredential";
    return this.profile === "2.0.1"
      ? { account: { ...account }, cookieContent, cookieName }
      : { cookieItems: [{ cookieContent, cookieName }] };
  }

  async #signHttpRequest(request: Json): Promise<string> {
    const clientId = requireString(request, "clientId");
    const pop = request.popParams;
    if (!isJsonObject(pop)) throw rejection(Status.Unexpected, "Invalid requestJson: popParams is missing");
    const popRequest = readPopRequest(pop);
    const homeAccountId = requireString(pop, "homeAccountId", "popParams.");
    const account = this.#accounts.find((a) => a.homeAccountId === homeAccountId);
    if (!account) throw rejection(Status.InteractionRequired, `Account ${homeAccountId} is not known`);
    const grant: TokenGrant = {
      account,
      clientId,
      scopes: ["https://graph.microsoft.com/.default"],
      tenantId: account.realm,
      lifetime: this.#lifetime,
      deviceId: this.deviceId,
    };
    return await signedHttpRequest(this.#signer, grant, popRequest);
  }

  #grant(account: FakeLinuxBrokerAccount, params: AuthParameters): TokenGrant {
    return {
      account,
      clientId: params.clientId,
      scopes: params.scopes,
      tenantId: tokenTenant(params.authority, account),
      lifetime: this.#lifetime,
      deviceId: this.deviceId,
    };
  }

  // The account a client sent back must be one the broker listed, with every field unchanged.
  #knownAccount(sent: Json): FakeLinuxBrokerAccount {
    const account = this.#accounts.find((a) => a.homeAccountId === sent.homeAccountId);
    if (!account) {
      throw rejection(Status.InteractionRequired, `Account '${String(sent.homeAccountId)}' was not found`);
    }
    for (const [field, value] of Object.entries(account)) {
      if (sent[field] !== value && !(ENVIRONMENT_FIELDS.has(field) && sameCloud(sent[field], value, field))) {
        throw rejection(
          Status.ApiContractViolation,
          `The account is not the one the broker returned: '${field}' is ${JSON.stringify(sent[field])}`,
        );
      }
    }
    return account;
  }

  #findByUsername(username: string | undefined): FakeLinuxBrokerAccount | undefined {
    const wanted = username?.toLowerCase();
    return wanted ? this.#accounts.find((a) => a.username.toLowerCase() === wanted) : undefined;
  }

  // Who "signs in": the hinted account, else the default account, else the first one.
  #signInAccount(hint: string | undefined): FakeLinuxBrokerAccount | undefined {
    return this.#findByUsername(hint) ?? this.#findByUsername(this.#defaultAccount) ?? this.#accounts[0];
  }
}

// Microsoft's runtime sends the account back with its environment normalised to the cloud's preferred
// host (login.windows.net -> login.microsoftonline.com), and, for an account it cached from a token reply,
// an empty homeEnvironment; the broker accepts any alias of the cloud.
const ENVIRONMENT_FIELDS = new Set(["environment", "homeEnvironment"]);
const PUBLIC_CLOUD = new Set([
  "login.microsoftonline.com",
  "login.windows.net",
  "login.microsoft.com",
  "sts.windows.net",
]);

function sameCloud(sent: unknown, value: string, field: string): boolean {
  if (field === "homeEnvironment" && sent === "") return true;
  return typeof sent === "string" && PUBLIC_CLOUD.has(sent.toLowerCase()) &&
    PUBLIC_CLOUD.has(value.toLowerCase());
}

/** The HTTP request a PoP token is for: `httpMethod`, `uriHost`, `uriPath` required, `nonce` optional. */
function readPopRequest(pop: Json): PopRequest {
  return {
    httpMethod: requireString(pop, "httpMethod", "popParams."),
    uriHost: requireString(pop, "uriHost", "popParams."),
    uriPath: requireString(pop, "uriPath", "popParams."),
    nonce: typeof pop.nonce === "string" && pop.nonce !== "" ? pop.nonce : undefined,
  };
}

function rejection(status: number, context: string): RejectedRequest {
  return new RejectedRequest(wireError(status, { context }));
}

function isEmptyRequest(json: string): boolean {
  const trimmed = json.trim();
  return trimmed === "" || trimmed === "{}";
}

/** Disconnects and resolves once the socket is closed (the bus has dropped the connection). */
function disconnect(connection: DBusConnection): Promise<void> {
  const stream = connection._connection?.stream;
  const closed = new Promise<void>((resolve) => {
    if (!stream) return resolve();
    const timer = setTimeout(resolve, 2000);
    stream.once("close", () => {
      clearTimeout(timer);
      resolve();
    });
  });
  connection.disconnect();
  return closed;
}
