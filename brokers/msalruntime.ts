/**
 * WAM (Windows, and WSL through the Windows host), Enterprise SSO (macOS) and, on request, the Linux
 * identity broker, through Microsoft's MSAL runtime: the optional peer dependency
 * `@azure/msal-node-runtime`, imported only when an app's opt-in selects this plugin.
 *
 * What it adds over msal-node's wrapper of the same runtime: every call honours its `AbortSignal`
 * (`CancelAsyncOperation`), a runtime that cannot start says why (its own words, plus the missing
 * system library and the package to install when the native library did not load), and additional
 * parameters the runtime would refuse are dropped with a warning instead of failing the request.
 *
 * @example
 * ```ts
 * import { PublicClientApplication } from "@authbroker/msal";
 *
 * declare const clientId: string;
 * const app = new PublicClientApplication(clientId, { enableBrokerOnWindows: true, enableBrokerOnMac: true });
 * // on Linux, opt into this plugin instead of the D-Bus one:
 * const linuxApp = new PublicClientApplication(clientId, { enableBrokerOnLinux: true, linuxBroker: "msalruntime" });
 * ```
 *
 * @module
 */

import { messageOf } from "../core/errors.ts";
import type { PluginLogger } from "../core/log.ts";
import { osName, type Platform } from "../core/platform.ts";
import {
  type Broker,
  type BrokerAccount,
  type BrokerAccountsRequest,
  type BrokerCallOptions,
  type BrokerDescription,
  type BrokerError,
  type BrokerInteractiveRequest,
  type BrokerPluginContext,
  type BrokerReadAccountRequest,
  type BrokerSignOutRequest,
  type BrokerSilentRequest,
  type BrokerTokenRequest,
  type BrokerTokenResult,
  BrokerUnavailableError,
  CONSOLE_WINDOW_HANDLE,
} from "./broker.ts";
import {
  accountOf,
  brokerErrorOf,
  brokerRedirectUri,
  type ExpectedTokenType,
  isNativeError,
  logLevelOf,
  type MsalRuntimeAccount,
  type NativeAccount,
  type NativeAsyncHandle,
  type NativeAuthParameters,
  type NativeAuthResult,
  type NativeError,
  type NativeRuntime,
  nativeWindowHandle,
  partitionExtraParameters,
  pluginError,
  tokenResponseOf,
} from "./_msalruntime_map.ts";
import { explainLoadFailure, probeNativeLoad } from "./_msalruntime_native.ts";

// The npm package this plugin needs.
const MSAL_RUNTIME_PACKAGE = "@azure/msal-node-runtime";

/**
 * Loads Microsoft's runtime and wraps it as a {@linkcode Broker}.
 *
 * @throws {BrokerUnavailableError} when the runtime reports a start-up error (no broker on this device,
 *   the native library failed to load): the app falls back to its browser flows (rule 3).
 * @throws module-not-found from `import()` when `@azure/msal-node-runtime` is not installed (rule 2).
 */
export async function createBroker(context: BrokerPluginContext): Promise<Broker> {
  const module = await import("@azure/msal-node-runtime") as unknown as RuntimeModule;
  const runtime = module.msalNodeRuntime ?? module.default?.msalNodeRuntime;
  if (!runtime) throw new BrokerUnavailableError(`${MSAL_RUNTIME_PACKAGE} does not export msalNodeRuntime`);
  if (runtime.StartupError) throw new BrokerUnavailableError(await startupReason(runtime.StartupError));
  return new MsalRuntimeBroker(runtime, context);
}

interface RuntimeModule {
  msalNodeRuntime?: NativeRuntime;
  default?: { msalNodeRuntime?: NativeRuntime };
}

/**
 * Why the runtime did not start. The package replaces a native library that failed to load by a stub
 * whose start-up error says only "Binaries could not be loaded"; then the loader is asked why.
 */
async function startupReason(error: NativeError): Promise<string> {
  const words = String(error.errorContext ?? "no reason given");
  if (/Binaries could not be loaded/i.test(words)) {
    const facts = await probeNativeLoad();
    if (facts) return explainLoadFailure(words, facts);
  }
  const { status, errorCode, tag } = brokerErrorOf(error);
  return `Microsoft's runtime could not start the broker: ${words} (status ${status}, code ${errorCode}, tag ${tag})`;
}

// ---------------------------------------------------------------------------------------------------
// Logging, when the app asks for it (registering a logger keeps the process alive for good: the
// runtime holds a referenced callback it never releases). The runtime has one process-wide logger;
// every live broker gets the lines, PII filtered per app (the runtime includes PII if any app allows it).

const sinks = new Set<PluginLogger>();
let registeredPii: boolean | undefined;

function addLogSink(runtime: NativeRuntime, logger: PluginLogger): void {
  sinks.add(logger);
  const pii = [...sinks].some((sink) => sink.piiLoggingEnabled);
  if (registeredPii === pii) return;
  registeredPii = pii;
  try {
    runtime.RegisterLogger((message, level, containsPii) => {
      for (const sink of sinks) {
        if (containsPii && !sink.piiLoggingEnabled) continue;
        sink[logLevelOf(level)](`[msalruntime] ${message}`);
      }
    }, pii);
  } catch (error) {
    logger.warning(`Could not attach to the runtime's log: ${String(error)}`);
  }
}

// ---------------------------------------------------------------------------------------------------

/** The descriptions per platform, for logs and `brokerStatus()`. */
const NAMES: Record<Platform, string> = {
  windows: "WAM (msalruntime)",
  wsl: "WAM via WSL (msalruntime)",
  mac: "Enterprise SSO (msalruntime)",
  linux: "Linux broker (msalruntime)",
};

class MsalRuntimeBroker implements Broker {
  readonly description: BrokerDescription;
  readonly supportsPop: boolean;
  readonly supportsSshCert: boolean;
  readonly #runtime: NativeRuntime;
  readonly #context: BrokerPluginContext;
  readonly #pointerBytes: 4 | 8;
  #closed = false;

  constructor(runtime: NativeRuntime, context: BrokerPluginContext) {
    this.#runtime = runtime;
    this.#context = context;
    this.description = { name: NAMES[context.platform] };
    // MSAL Python uses the broker for PoP and SSH certificates on Windows and macOS only.
    this.supportsPop = this.supportsSshCert = context.platform === "windows" || context.platform === "mac";
    this.#pointerBytes = pointerBytes();
    if (context.nativeLogging) addLogSink(runtime, context.logger);
  }

  redirectUri(clientId: string): string {
    return brokerRedirectUri(this.#context.platform, clientId, this.#context.redirectUri);
  }

  async getAccounts(request: BrokerAccountsRequest): Promise<BrokerAccount[] | BrokerError> {
    const answer = await this.#call<{ CheckError(): void; readonly accounts: NativeAccount[] }>(
      request,
      false,
      (done) => this.#runtime.DiscoverAccountsAsync(request.clientId, request.correlationId, done),
    );
    if (!answer.ok) return answer.error;
    return [...(answer.value.accounts ?? [])].filter((account) => account?.accountId).map(accountOf);
  }

  async readAccount(request: BrokerReadAccountRequest): Promise<BrokerAccount | undefined> {
    const answer = await this.#call<{ CheckError(): void; readonly account: NativeAccount }>(
      request,
      false,
      (done) => this.#runtime.ReadAccountByIdAsync(request.accountId, request.correlationId, done),
    );
    if (!answer.ok) {
      this.#context.logger.verbose(`ReadAccountById failed: ${answer.error.status} ${answer.error.context}`);
      return undefined;
    }
    return answer.value.account?.accountId ? accountOf(answer.value.account) : undefined;
  }

  async acquireTokenSilent(request: BrokerSilentRequest): Promise<BrokerTokenResult> {
    const account = await this.#nativeAccount(request);
    if (!account) return pluginError("AccountNotFound", "The broker does not know this account");
    return await this.#token(
      request,
      false,
      (params, done) => this.#runtime.AcquireTokenSilentlyAsync(params, request.correlationId, account, done),
    );
  }

  async signInSilently(request: BrokerTokenRequest): Promise<BrokerTokenResult> {
    return await this.#token(
      request,
      false,
      (params, done) => this.#runtime.SignInSilentlyAsync(params, request.correlationId, done),
    );
  }

  async acquireTokenInteractive(request: BrokerInteractiveRequest): Promise<BrokerTokenResult> {
    const window = nativeWindowHandle(request.windowHandle, this.#pointerBytes);
    const hint = request.loginHint ?? "";
    const account = request.account
      ? await this.#nativeAccount({ ...request, account: request.account })
      : undefined;
    const extra: Record<string, string> = {};
    // MSAL Python: a console app's broker UI runs on its own GUI thread ("fixes account picker hanging").
    if (request.windowHandle === CONSOLE_WINDOW_HANDLE) extra.msal_gui_thread = "true";
    return await this.#token(request, true, (params, done) => {
      const runtime = this.#runtime;
      if (request.prompt === "select_account") {
        return runtime.SignInInteractivelyAsync(window, params, request.correlationId, hint, done);
      }
      if (account) {
        return runtime.AcquireTokenInteractivelyAsync(window, params, request.correlationId, account, done);
      }
      return runtime.SignInAsync(window, params, request.correlationId, hint, done);
    }, extra);
  }

  async signOut(request: BrokerSignOutRequest): Promise<BrokerError | undefined> {
    const account = await this.#nativeAccount(request);
    if (!account) return pluginError("AccountNotFound", "The broker does not know this account");
    const answer = await this.#call<{ CheckError(): void }>(
      request,
      false,
      (done) => this.#runtime.SignOutSilentlyAsync(request.clientId, request.correlationId, account, done),
    );
    return answer.ok ? undefined : answer.error;
  }

  close(): Promise<void> {
    this.#closed = true;
    sinks.delete(this.#context.logger);
    return Promise.resolve();
  }

  /** The runtime's own account object: the one carried by a broker account, else looked up by id. */
  async #nativeAccount(
    request: BrokerCallOptions & { clientId: string; account: BrokerAccount },
  ): Promise<NativeAccount | undefined> {
    const carried = (request.account as Partial<MsalRuntimeAccount>).native;
    if (carried) return carried;
    const found = await this.readAccount({ ...request, accountId: request.account.id });
    return (found as MsalRuntimeAccount | undefined)?.native;
  }

  /** Builds the request parameters and runs a token call. */
  async #token(
    request: BrokerTokenRequest,
    interactive: boolean,
    start: (params: NativeAuthParameters, done: (result: NativeAuthResult) => void) => NativeAsyncHandle,
    extra: Record<string, string> = {},
  ): Promise<BrokerTokenResult> {
    const expected: ExpectedTokenType = request.pop
      ? "pop"
      : request.tokenType === "ssh-cert"
      ? "ssh-cert"
      : "Bearer";
    const params = this.#parameters(request, extra);
    const answer = await this.#call<NativeAuthResult>(request, interactive, (done) => start(params, done));
    return answer.ok ? tokenResponseOf(answer.value, expected) : answer.error;
  }

  #parameters(request: BrokerTokenRequest, extra: Record<string, string>): NativeAuthParameters {
    const params = new this.#runtime.AuthParameters();
    params.CreateAuthParameters(request.clientId, request.authority);
    params.SetRedirectUri(request.redirectUri);
    params.SetRequestedScopes(request.scopes.join(" "));
    if (request.claims) params.SetDecodedClaims(request.claims);
    if (request.pop) {
      const url = new URL(request.pop.url);
      params.SetPopParams(request.pop.method.toUpperCase(), url.host, url.pathname, request.pop.nonce);
    }
    const additional: Record<string, string> = { ...request.extraParameters, ...extra };
    if (request.tokenType === "ssh-cert") {
      additional.token_type = "ssh-cert";
      if (request.keyId) additional.key_id = request.keyId;
      if (request.reqCnf) additional.req_cnf = request.reqCnf;
    }
    const { pass, refused } = partitionExtraParameters(additional);
    for (const name of refused) {
      this.#context.logger.warning(`Ignoring parameter ${name}, which Microsoft's runtime does not accept`);
    }
    for (const [key, value] of pass) params.SetAdditionalParameter(key, value);
    return params;
  }

  /**
   * Starts a runtime call and settles with its answer, or at once when the request's signal aborts
   * (an `ApplicationCanceled` broker error). The runtime is then asked to cancel, after the caller has
   * moved on; except for interactive calls on Linux and WSL, where the runtime's `CancelAsyncOperation`
   * blocks the thread until the broker answers the pending D-Bus call and only then sends its cancel
   * request (measured with 0.20.7): there the abandoned call is left to finish on its own.
   */
  #call<T extends { CheckError(): void }>(
    request: BrokerCallOptions,
    interactive: boolean,
    start: (done: (result: T) => void) => NativeAsyncHandle,
  ): Promise<{ ok: true; value: T } | { ok: false; error: BrokerError }> {
    if (this.#closed) {
      return Promise.resolve({ ok: false, error: pluginError("Unexpected", "The broker was closed") });
    }
    const { signal } = request;
    if (signal.aborted) return Promise.resolve({ ok: false, error: canceled(signal) });
    return new Promise((resolve) => {
      let settled = false;
      let handle: NativeAsyncHandle | undefined;
      const settle = (answer: { ok: true; value: T } | { ok: false; error: BrokerError }): void => {
        if (settled) return;
        settled = true;
        signal.removeEventListener("abort", onAbort);
        resolve(answer);
      };
      const onAbort = (): void => {
        settle({ ok: false, error: canceled(signal) });
        if (interactive && osName() === "linux") return;
        setTimeout(() => {
          try {
            handle?.CancelAsyncOperation();
          } catch (error) {
            this.#context.logger.verbose(`CancelAsyncOperation failed: ${String(error)}`);
          }
        }, 0);
      };
      const done = (result: T): void => {
        try {
          result.CheckError();
          settle({ ok: true, value: result });
        } catch (error) {
          // msal-node: UserSwitched is not an answer; the runtime calls back again with the real one.
          if (isNativeError(error) && error.errorStatus === USER_SWITCHED) return;
          settle({
            ok: false,
            error: isNativeError(error) ? brokerErrorOf(error) : pluginError("Unexpected", String(error)),
          });
        }
      };
      signal.addEventListener("abort", onAbort, { once: true });
      try {
        handle = start(done);
      } catch (error) {
        // The runtime refuses some requests synchronously (e.g. a malformed parameter).
        settle({
          ok: false,
          error: isNativeError(error) ? brokerErrorOf(error) : pluginError("Unexpected", String(error)),
        });
      }
    });
  }
}

const USER_SWITCHED = 12;

function canceled(signal: AbortSignal): BrokerError {
  return pluginError(
    "ApplicationCanceled",
    `The request was cancelled: ${messageOf(signal.reason ?? "aborted")}`,
  );
}

/** 4 on 32-bit Windows, 8 everywhere else the runtime ships builds for. */
function pointerBytes(): 4 | 8 {
  const arch = (globalThis as { process?: { arch?: string } }).process?.arch;
  return arch === "ia32" ? 4 : 8;
}
