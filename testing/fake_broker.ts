/**
 * An in-process test double of the {@linkcode Broker} interface: accounts, an OS default account, a
 * user who "signs in" through its UI, per-call scripted replies and delays, and a log of every call.
 * Use it to test an app's broker paths without WAM, Company Portal or a Linux identity broker.
 *
 * @example
 * ```ts
 * import { PublicClientApplication } from "@authbroker/msal";
 * import { brokerError, FakeBroker, fakeBrokerAccount } from "@authbroker/msal/testing";
 *
 * declare const clientId: string;
 * const alice = fakeBrokerAccount({ username: "alice@contoso.com" });
 * const broker = new FakeBroker({ accounts: [alice], defaultAccountId: alice.id });
 * broker.script("acquireTokenInteractive", { reply: brokerError("UserCanceled") });
 * const app = new PublicClientApplication(clientId, {
 *   enableBrokerOnLinux: true,
 *   brokers: { linux: broker },
 * });
 * ```
 *
 * @module
 */

import type {
  Broker,
  BrokerAccount,
  BrokerAccountsRequest,
  BrokerDescription,
  BrokerError,
  BrokerInteractiveRequest,
  BrokerReadAccountRequest,
  BrokerSignOutRequest,
  BrokerSilentRequest,
  BrokerTokenRequest,
  BrokerTokenResponse,
  BrokerTokenResult,
} from "../broker.ts";
import { base64UrlEncode } from "./_jwt.ts";

/** Request and result types of each scriptable broker method. */
export interface FakeBrokerCalls {
  /** {@linkcode Broker.getAccounts}: the request it receives and the result it resolves with. */
  getAccounts: { request: BrokerAccountsRequest; result: BrokerAccount[] | BrokerError };
  /** {@linkcode Broker.readAccount}: the request it receives and the result it resolves with. */
  readAccount: { request: BrokerReadAccountRequest; result: BrokerAccount | undefined };
  /** {@linkcode Broker.acquireTokenSilent}: the request it receives and the result it resolves with. */
  acquireTokenSilent: { request: BrokerSilentRequest; result: BrokerTokenResult };
  /** {@linkcode Broker.signInSilently}: the request it receives and the result it resolves with. */
  signInSilently: { request: BrokerTokenRequest; result: BrokerTokenResult };
  /** {@linkcode Broker.acquireTokenInteractive}: the request it receives and the result it resolves with. */
  acquireTokenInteractive: { request: BrokerInteractiveRequest; result: BrokerTokenResult };
  /** {@linkcode Broker.signOut}: the request it receives and the result it resolves with. */
  signOut: { request: BrokerSignOutRequest; result: BrokerError | undefined };
}

/** A broker method the fake can script. */
export type FakeBrokerMethod = keyof FakeBrokerCalls;

/** One scripted answer to one call of method `M`. */
export interface FakeBrokerStep<M extends FakeBrokerMethod> {
  /** The answer, or a function computing it from the request. Omit to get the default behaviour. */
  reply?:
    | FakeBrokerCalls[M]["result"]
    | ((
      request: FakeBrokerCalls[M]["request"],
    ) => FakeBrokerCalls[M]["result"] | Promise<FakeBrokerCalls[M]["result"]>);
  /** Throw this instead of answering (a plugin bug). */
  throws?: unknown;
  /** Answer after this many milliseconds; the wait ends early, rejecting, if the request is aborted. */
  delayMs?: number;
}

/** One call the fake received. */
export interface FakeBrokerCall {
  /** The method called. */
  method: FakeBrokerMethod;
  /** The request it received (with its `signal`, to check for cancellation). */
  request: FakeBrokerCalls[FakeBrokerMethod]["request"];
}

/** Options of {@linkcode FakeBroker}. */
export interface FakeBrokerOptions {
  /** Accounts the broker knows, as {@linkcode BrokerAccount}s; none by default. */
  accounts?: BrokerAccount[];
  /** The OS default account's id, used by `signInSilently`; without it, that call fails. */
  defaultAccountId?: string;
  /**
   * Who signs in through the UI (`acquireTokenInteractive`): by default the account named by
   * `loginHint`, else the default account, else the first one, else a new `user@contoso.com`.
   */
  interactiveAccount?: BrokerAccount;
  /** Name for `description`; `"fake"` by default. */
  name?: string;
  /** The redirect URI; WAM's `ms-appx-web://Microsoft.AAD.BrokerPlugin/<clientId>` by default. */
  redirectUri?: string;
  /** Whether to implement the optional `readAccount`; `true` by default. */
  readAccount?: boolean;
  /** Lifetime of issued access tokens in seconds; 3600 by default. */
  tokenLifetimeSeconds?: number;
  /** Advertised capability. */
  supportsPop?: boolean;
  /** Advertised capability. */
  supportsSshCert?: boolean;
}

/** What {@linkcode fakeBrokerAccount} needs; only `username` is required. */
export interface FakeBrokerAccountInit {
  /** The sign-in name. */
  username: string;
  /** The broker's account id; derived from `username` by default. */
  id?: string;
  /** The user's object id; random by default. */
  oid?: string;
  /** The home tenant id; a fixed GUID by default. */
  tenantId?: string;
  /**
   * The authority host. By default none: the account then belongs to whichever authority the app
   * uses (`login.microsoftonline.com`, or a `FakeAuthority`'s `127.0.0.1:<port>`), as a real broker's
   * accounts follow the authority of the request.
   */
  environment?: string;
  /** Display name. */
  name?: string;
}

/** The tenant id fake accounts live in unless told otherwise. */
export const FAKE_TENANT_ID = "72f988bf-86f1-41af-91ab-2d7cd011db47";

/**
 * Creates a broker account as a real broker would describe it (`homeAccountId` is `<oid>.<tid>`).
 *
 * @param init the sign-in name, and optionally the account id, object id, tenant id, authority host and
 *   display name.
 * @returns the account: `id` (default `broker-<lower-case username>`), `username`, `homeAccountId`,
 *   `realm` (default {@linkcode FAKE_TENANT_ID}), `oid`, `name`, and `environment` when given.
 *
 * @example
 * ```ts
 * import { fakeBrokerAccount } from "@authbroker/msal/testing";
 *
 * const alice = fakeBrokerAccount({ username: "alice@contoso.com" });
 * ```
 */
export function fakeBrokerAccount(init: FakeBrokerAccountInit): BrokerAccount {
  const oid = init.oid ?? crypto.randomUUID();
  const tenantId = init.tenantId ?? FAKE_TENANT_ID;
  return {
    id: init.id ?? `broker-${init.username.toLowerCase()}`,
    username: init.username,
    homeAccountId: `${oid}.${tenantId}`,
    ...(init.environment !== undefined && { environment: init.environment }),
    realm: tenantId,
    oid,
    name: init.name ?? init.username.split("@")[0],
  };
}

/**
 * Creates a broker error result, e.g. `brokerError("UserCanceled")`. It carries no `kind`, so its error
 * result's `error` is `"broker_error"`; spread one in (`{ ...brokerError(s), kind }`) to test a classified
 * failure.
 *
 * @param status an MSAL runtime status name (`BROKER_STATUS_NAMES`), e.g. `"InteractionRequired"`.
 * @param context the human-readable detail; default `Fake broker: <status>`.
 * @param errorCode the broker's numeric error code; default 0.
 * @param tag where in the broker the error arose; default `"fake"`.
 * @returns a {@linkcode BrokerError} (`ok: false`) with those fields.
 *
 * @example
 * ```ts
 * import { brokerError, FakeBroker } from "@authbroker/msal/testing";
 *
 * declare const broker: FakeBroker;
 * broker.script("signInSilently", { reply: brokerError("AccountUnusable") });
 * ```
 */
export function brokerError(
  status: string,
  context: string = `Fake broker: ${status}`,
  errorCode = 0,
  tag: number | string = "fake",
): BrokerError {
  return { ok: false, status, errorCode, tag, context };
}

function hostOf(url: string | undefined): string | undefined {
  try {
    return url ? new URL(url).host : undefined;
  } catch {
    return undefined;
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal.reason);
    };
    const timer = setTimeout(() => {
      signal.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal.addEventListener("abort", onAbort, { once: true });
  });
}

/**
 * An in-memory {@linkcode Broker} with scriptable answers; see the module docs. Its broker methods
 * reject only with a scripted step's `throws` value, with the request signal's reason when it aborts
 * during a step's `delayMs`, and with an `Error` once the fake is closed.
 */
export class FakeBroker implements Broker {
  /** Names this fake in `brokerStatus()`. */
  readonly description: BrokerDescription;
  /** Advertised capability. */
  readonly supportsPop?: boolean;
  /** Advertised capability. */
  readonly supportsSshCert?: boolean;
  /** Every call received, in order: its method and request. */
  readonly calls: FakeBrokerCall[] = [];
  /** The accounts the broker knows, keyed by {@linkcode BrokerAccount.id}; tests may change it. */
  readonly accounts: Map<string, BrokerAccount> = new Map();
  /** The OS default account's id; tests may change it. */
  defaultAccountId?: string;
  /** Whether `close()` was called. */
  closed = false;
  /** Looks an account up by id (present unless `readAccount: false` was given). */
  readonly readAccount?: (request: BrokerReadAccountRequest) => Promise<BrokerAccount | undefined>;

  readonly #options: FakeBrokerOptions;
  readonly #scripts = new Map<FakeBrokerMethod, unknown[]>();
  #issued = 0;

  /**
   * Creates a fake broker knowing `options.accounts`.
   *
   * @param options accounts, default account, interactive user, name, redirect URI, token lifetime (in
   *   seconds) and advertised capabilities; every field is optional.
   */
  constructor(options: FakeBrokerOptions = {}) {
    this.#options = options;
    this.description = { name: options.name ?? "fake", version: "0" };
    if (options.supportsPop !== undefined) this.supportsPop = options.supportsPop;
    if (options.supportsSshCert !== undefined) this.supportsSshCert = options.supportsSshCert;
    for (const account of options.accounts ?? []) this.accounts.set(account.id, account);
    this.defaultAccountId = options.defaultAccountId;
    if (options.readAccount !== false) {
      this.readAccount = (request) =>
        this.#run("readAccount", request, () => this.accounts.get(request.accountId));
    }
  }

  /**
   * Queues answers for the next calls of `method`, one step per call; after they are used up the
   * default behaviour resumes.
   *
   * @param method the broker method to script, e.g. `"acquireTokenSilent"`.
   * @param steps one per call, in order: a `reply` (a value, or a function of the request), a value to
   *   `throws`, and/or a `delayMs` (milliseconds) before answering.
   * @returns the fake, for chaining.
   */
  script<M extends FakeBrokerMethod>(method: M, ...steps: FakeBrokerStep<M>[]): this {
    const queue = this.#scripts.get(method) ?? [];
    queue.push(...steps);
    this.#scripts.set(method, queue);
    return this;
  }

  /**
   * The requests `method` received, in order.
   *
   * @param method the broker method, e.g. `"getAccounts"`.
   * @returns a new array of the requests it received, oldest first.
   */
  callsTo<M extends FakeBrokerMethod>(method: M): FakeBrokerCalls[M]["request"][] {
    return this.calls.filter((call) => call.method === method).map((call) =>
      call.request as FakeBrokerCalls[M]["request"]
    );
  }

  /**
   * The redirect URI the app must register.
   *
   * @param clientId the app's client id.
   * @returns `options.redirectUri`, else `ms-appx-web://Microsoft.AAD.BrokerPlugin/<clientId>`.
   */
  redirectUri(clientId: string): string {
    return this.#options.redirectUri ?? `ms-appx-web://Microsoft.AAD.BrokerPlugin/${clientId}`;
  }

  /**
   * Lists the known accounts.
   *
   * @param request the app's request (recorded in {@linkcode FakeBroker.calls}).
   * @returns the known accounts, unless a scripted step answers otherwise.
   */
  getAccounts(request: BrokerAccountsRequest): Promise<BrokerAccount[] | BrokerError> {
    return this.#run("getAccounts", request, () => [...this.accounts.values()]);
  }

  /**
   * Issues a token for a known account, else fails with `AccountNotFound`.
   *
   * @param request the app's request; its `account.id` names the account.
   * @returns a {@linkcode BrokerTokenResponse} or a {@linkcode BrokerError}, unless a scripted step
   *   answers otherwise.
   */
  acquireTokenSilent(request: BrokerSilentRequest): Promise<BrokerTokenResult> {
    return this.#run("acquireTokenSilent", request, () => {
      const account = this.accounts.get(request.account.id);
      return account ? this.issueToken(account, request) : brokerError("AccountNotFound");
    });
  }

  /**
   * Issues a token for the default account, else fails with `InteractionRequired`. With the
   * `MSALRuntime_Username` extra parameter (the password flow), that user signs in instead and becomes
   * known to the broker; the password is not checked.
   *
   * @param request the app's request.
   * @returns a {@linkcode BrokerTokenResponse} or a {@linkcode BrokerError}, unless a scripted step
   *   answers otherwise.
   */
  signInSilently(request: BrokerTokenRequest): Promise<BrokerTokenResult> {
    return this.#run("signInSilently", request, () => {
      const username = request.extraParameters?.MSALRuntime_Username;
      const account = username
        ? this.#signIn(this.#named(username) ?? fakeBrokerAccount({ username }))
        : this.defaultAccountId
        ? this.accounts.get(this.defaultAccountId)
        : undefined;
      return account
        ? this.issueToken(account, request)
        : brokerError("InteractionRequired", "No default account");
    });
  }

  /**
   * "Shows the UI": the interactive user (see {@linkcode FakeBrokerOptions.interactiveAccount}) signs in
   * and becomes known to the broker.
   *
   * @param request the app's request; its `loginHint` picks the user unless `interactiveAccount` is set.
   * @returns a {@linkcode BrokerTokenResponse}, unless a scripted step answers otherwise.
   */
  acquireTokenInteractive(request: BrokerInteractiveRequest): Promise<BrokerTokenResult> {
    return this.#run("acquireTokenInteractive", request, () => {
      const hint = request.loginHint;
      const account = this.#options.interactiveAccount ??
        (hint ? this.#named(hint) ?? fakeBrokerAccount({ username: hint }) : undefined) ??
        (this.defaultAccountId ? this.accounts.get(this.defaultAccountId) : undefined) ??
        this.accounts.values().next().value ??
        fakeBrokerAccount({ username: "user@contoso.com" });
      return this.issueToken(this.#signIn(account), request);
    });
  }

  /**
   * Forgets the account, else fails with `AccountNotFound`.
   *
   * @param request the app's request; its `account.id` names the account.
   * @returns `undefined` once forgotten, or a {@linkcode BrokerError}, unless a scripted step answers
   *   otherwise.
   */
  signOut(request: BrokerSignOutRequest): Promise<BrokerError | undefined> {
    return this.#run(
      "signOut",
      request,
      () => this.accounts.delete(request.account.id) ? undefined : brokerError("AccountNotFound"),
    );
  }

  /** Marks the fake closed. */
  close(): Promise<void> {
    this.closed = true;
    return Promise.resolve();
  }

  /**
   * The token response a real broker would give for `account`: an ID token, client info, granted scopes.
   *
   * @param account the account signed in.
   * @param request the request answered: its `clientId` becomes `aud`, its authority's host the issuer's
   *   (unless the account has an `environment`), its `scopes` the granted scopes.
   * @returns a successful response: access token `fake-broker-at-<n>`, `expiresOn` in epoch seconds
   *   (`tokenLifetimeSeconds` ahead), an unsigned ID token valid for an hour, and its claims.
   */
  issueToken(account: BrokerAccount, request: BrokerTokenRequest): BrokerTokenResponse {
    const now = Math.floor(Date.now() / 1000);
    const [oid, tid] = (account.homeAccountId ?? `${crypto.randomUUID()}.${FAKE_TENANT_ID}`).split(".");
    const environment = account.environment ?? hostOf(request.authority) ?? "login.microsoftonline.com";
    const claims = {
      aud: request.clientId,
      iss: `https://${environment}/${tid}/v2.0`,
      iat: now,
      nbf: now,
      exp: now + 3600,
      sub: `sub-${oid}`,
      oid,
      tid,
      preferred_username: account.username,
      name: typeof account.name === "string" ? account.name : account.username,
      ver: "2.0",
    };
    this.#issued++;
    return {
      ok: true,
      accessToken: `fake-broker-at-${this.#issued}`,
      expiresOn: now + (this.#options.tokenLifetimeSeconds ?? 3600),
      idToken: `${base64UrlEncode(JSON.stringify({ alg: "none", typ: "JWT" }))}.${
        base64UrlEncode(JSON.stringify(claims))
      }.`,
      idTokenClaims: claims,
      clientInfo: base64UrlEncode(JSON.stringify({ uid: oid, utid: tid })),
      account,
      grantedScopes: [...request.scopes],
      tokenType: "Bearer",
    };
  }

  #named(username: string): BrokerAccount | undefined {
    const wanted = username.toLowerCase();
    return [...this.accounts.values()].find((account) => account.username?.toLowerCase() === wanted);
  }

  #signIn(account: BrokerAccount): BrokerAccount {
    this.accounts.set(account.id, account);
    return account;
  }

  async #run<M extends FakeBrokerMethod>(
    method: M,
    request: FakeBrokerCalls[M]["request"],
    fallback: () => FakeBrokerCalls[M]["result"],
  ): Promise<FakeBrokerCalls[M]["result"]> {
    if (this.closed) throw new Error(`FakeBroker.${method} called after close()`);
    this.calls.push({ method, request });
    const step = this.#scripts.get(method)?.shift() as FakeBrokerStep<M> | undefined;
    if (step?.delayMs) await sleep(step.delayMs, request.signal);
    if (step && "throws" in step) throw step.throws;
    if (!step || !("reply" in step)) return fallback();
    const reply = step.reply;
    return typeof reply === "function" ? await reply(request) : reply as FakeBrokerCalls[M]["result"];
  }
}
