/**
 * The Linux broker plugin: `microsoft-identity-broker` over the D-Bus session bus, through
 * {@linkcode LinuxBrokerClient}. Loaded by the registry for `enableBrokerOnLinux` on Linux; `dbus-next`
 * is imported only when {@linkcode createBroker} runs, so a missing one is rule 2's install message.
 *
 * @module
 */

import { decodeClientInfo, decodeIdToken } from "../core/jwt.ts";
import {
  type Broker,
  type BrokerAccount,
  type BrokerAccountsRequest,
  type BrokerDescription,
  type BrokerError,
  type BrokerInteractiveRequest,
  type BrokerPluginContext,
  type BrokerSignOutRequest,
  type BrokerSilentRequest,
  type BrokerTokenRequest,
  type BrokerTokenResult,
  CONSOLE_WINDOW_HANDLE,
  type WindowHandle,
} from "./broker.ts";
import { CONSOLE_WINDOW, LinuxBrokerClient, type LinuxTokenRequest } from "./_linux_client.ts";
import {
  type LinuxBrokerAccount,
  type LinuxBrokerError,
  type LinuxBrokerToken,
  NATIVE_CLIENT_REDIRECT_URI,
} from "./_linux_wire.ts";

/**
 * Connects to the Linux identity broker on the session bus.
 *
 * @throws {BrokerDependencyError} when `dbus-next` is not installed (rule 2).
 * @throws {BrokerUnavailableError} when there is no session bus or no broker on it (rule 3).
 */
export async function createBroker(context: BrokerPluginContext): Promise<Broker> {
  const client = await LinuxBrokerClient.connect({ runtime: context.runtime });
  context.logger.verbose(
    `Linux identity broker found on the session bus at ${context.logger.pii(client.address)}`,
  );
  return new LinuxBroker(client);
}

/** The broker's account as the core sees it; the broker's own object rides along, to be sent back unchanged. */
interface LinuxAccount extends BrokerAccount {
  readonly linuxAccount?: LinuxBrokerAccount;
}

class LinuxBroker implements Broker {
  readonly description: BrokerDescription = { name: "linux-broker" };
  readonly supportsPop = false; // MSAL Python: "POP is not supported on Linux".
  readonly supportsSshCert = false;
  readonly #client: LinuxBrokerClient;

  constructor(client: LinuxBrokerClient) {
    this.#client = client;
  }

  redirectUri(): string {
    return NATIVE_CLIENT_REDIRECT_URI;
  }

  async getAccounts(request: BrokerAccountsRequest): Promise<BrokerAccount[] | BrokerError> {
    const accounts = await this.#client.getAccounts(request);
    return Array.isArray(accounts) ? accounts.map((account) => brokerAccount(account)) : accounts;
  }

  async acquireTokenSilent(request: BrokerSilentRequest): Promise<BrokerTokenResult> {
    const account = linuxAccountOf(request.account);
    const token = await this.#client.acquireTokenSilently({ ...tokenRequest(request), account });
    return tokenResult(token, request, account);
  }

  async signInSilently(request: BrokerTokenRequest): Promise<BrokerTokenResult> {
    return tokenResult(await this.#client.acquireTokenSilently(tokenRequest(request)), request);
  }

  async acquireTokenInteractive(request: BrokerInteractiveRequest): Promise<BrokerTokenResult> {
    const token = await this.#client.acquireTokenInteractively({
      ...tokenRequest(request),
      parentWindowHandle: windowId(request.windowHandle),
      // select_account: no name pre-filled, so the broker offers its account picker.
      ...(request.loginHint && request.prompt !== "select_account" ? { loginHint: request.loginHint } : {}),
    });
    return tokenResult(token, request);
  }

  async signOut(request: BrokerSignOutRequest): Promise<BrokerError | undefined> {
    return await this.#client.removeAccount({ ...request, account: linuxAccountOf(request.account) });
  }

  async close(): Promise<void> {
    await this.#client.close();
  }
}

/** Extra parameters the core passes that are not query parameters of the authorization request. */
const NOT_QUERY_PARAMETERS = new Set(["validateAuthority"]);

function tokenRequest(request: BrokerTokenRequest): LinuxTokenRequest {
  const extra = Object.entries(request.extraParameters ?? {}).filter(([name]) =>
    !NOT_QUERY_PARAMETERS.has(name) && !name.startsWith("MSALRuntime_")
  );
  const init: LinuxTokenRequest = {
    clientId: request.clientId,
    authority: request.authority,
    scopes: request.scopes,
    redirectUri: request.redirectUri,
    correlationId: request.correlationId,
    signal: request.signal,
  };
  if (request.claims) init.claims = request.claims;
  if (extra.length) init.extraQueryParameters = Object.fromEntries(extra);
  return init;
}

function brokerAccount(account: LinuxBrokerAccount): LinuxAccount {
  const result: { -readonly [K in keyof LinuxAccount]: LinuxAccount[K] } = {
    id: account.homeAccountId || account.localAccountId || "",
    linuxAccount: account,
  };
  if (account.username) result.username = account.username;
  if (account.homeAccountId) result.homeAccountId = account.homeAccountId;
  if (account.environment) result.environment = account.environment;
  if (account.realm) result.realm = account.realm;
  return result;
}

/** The broker's own account object for a core account (rebuilt from its fields if it did not come from here). */
function linuxAccountOf(account: BrokerAccount): LinuxBrokerAccount {
  const own = (account as LinuxAccount).linuxAccount;
  if (own) return own;
  const rebuilt: Record<string, unknown> = { homeAccountId: account.homeAccountId ?? account.id };
  for (const field of ["username", "environment", "realm"] as const) {
    if (account[field]) rebuilt[field] = account[field];
  }
  return rebuilt;
}

/**
 * The core's token result. Brokers after 2.0.1 send no `account` with the token: the account asked
 * for, else one made of the token's `client_info` and ID token claims.
 */
function tokenResult(
  token: LinuxBrokerToken | LinuxBrokerError,
  request: BrokerTokenRequest,
  asked?: LinuxBrokerAccount,
): BrokerTokenResult {
  if (!token.ok) return token;
  const account = token.account ?? asked ?? accountFromToken(token, request.authority);
  const result: BrokerTokenResult = {
    ok: true,
    accessToken: token.accessToken,
    expiresOn: Math.floor(token.expiresOn / 1000),
    account: brokerAccount(account),
    grantedScopes: token.grantedScopes,
    tokenType: token.tokenType,
  };
  if (token.idToken) result.idToken = token.idToken;
  if (token.clientInfo) result.clientInfo = token.clientInfo;
  return result;
}

function accountFromToken(token: LinuxBrokerToken, authority: string): LinuxBrokerAccount {
  const account: Record<string, unknown> = { environment: new URL(authority).host };
  try {
    if (token.clientInfo) {
      const { uid, utid } = decodeClientInfo(token.clientInfo);
      account.homeAccountId = `${uid}.${utid}`;
    }
  } catch {
    // No usable client_info: the ID token still names the user.
  }
  try {
    if (token.idToken) {
      const claims = decodeIdToken(token.idToken);
      if (typeof claims.oid === "string") account.localAccountId = claims.oid;
      if (typeof claims.tid === "string") account.realm = claims.tid;
      if (typeof claims.preferred_username === "string") account.username = claims.preferred_username;
      if (!account.homeAccountId && claims.oid && claims.tid) {
        account.homeAccountId = `${claims.oid}.${claims.tid}`;
      }
    }
  } catch {
    // The core reports an unreadable ID token when it caches the result.
  }
  return account;
}

/** The X11 window id the broker gets as `parentWindowHandle`. */
function windowId(handle: WindowHandle): number {
  if (handle === CONSOLE_WINDOW_HANDLE) return CONSOLE_WINDOW;
  if (typeof handle === "number") return handle;
  if (typeof handle === "bigint") return Number(handle);
  // Native handles as bytes, little-endian (an X11 window id fits in 32 bits).
  let id = 0;
  for (let i = Math.min(handle.length, 6) - 1; i >= 0; i--) id = id * 256 + handle[i];
  return id;
}
