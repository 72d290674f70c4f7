// Shared setup of the broker_*.test.ts files: the broker rules and routes end to end, through
// PublicClientApplication: in-process broker doubles injected through the `brokers` option, the platform
// overridden, and a fake Entra ID authority on 127.0.0.1 for discovery and for the non-broker flows a
// route falls through to.
import { after, before } from "node:test";
import assert from "node:assert/strict";
import {
  type Account,
  CONSOLE_WINDOW_HANDLE,
  type Platform,
  type PublicClientApplication,
  type PublicClientApplicationOptions,
  TokenCache,
  type TokenResult,
} from "../mod.ts";
import type { BrokerAccount, BrokerPluginDescriptor, BrokerPluginModule } from "../broker.ts";
import { DEFAULT_TENANT_ID, FakeAuthority, parseAutoPostForm } from "../testing/mod.ts";
import { FakeBroker, fakeBrokerAccount, type FakeBrokerOptions } from "../testing/fake_broker.ts";
import { assertToken, CLIENT_ID, type Logged, newApp, recordingLogger } from "./_helpers.ts";

export const SCOPES = ["User.Read"];
export const DEVICE_CODE_SOURCE = "urn:ietf:params:oauth:grant-type:device_code";
export const WAM_REDIRECT_URI = `ms-appx-web://Microsoft.AAD.BrokerPlugin/${CLIENT_ID}`;
export const ALICE = {
  username: "alice@contoso.com",
  password: "alice-pw",
  oid: "00000000-0000-0000-0000-0000000a11ce",
};
export const BOB = {
  username: "bob@contoso.com",
  password: "bob-pw",
  oid: "00000000-0000-0000-0000-000000000b0b",
};
export const PLATFORMS: Platform[] = ["windows", "mac", "linux", "wsl"];
export const FLAG_OF = {
  windows: "enableBrokerOnWindows",
  mac: "enableBrokerOnMac",
  linux: "enableBrokerOnLinux",
  wsl: "enableBrokerOnWsl",
} as const satisfies Record<Platform, keyof PublicClientApplicationOptions>;
export const ALL_FLAGS: PublicClientApplicationOptions = {
  enableBrokerOnWindows: true,
  enableBrokerOnMac: true,
  enableBrokerOnLinux: true,
  enableBrokerOnWsl: true,
};
export const MISSING_DEPENDENCY = "authbroker-test-missing-dependency";
export const RUNTIME = "Deno" in globalThis ? "deno" : "Bun" in globalThis ? "bun" : "node";

export const fixture = (name: string): string => new URL(`./fixtures/${name}`, import.meta.url).href;

/** The fake authority of the file running (started by its {@linkcode useFakeAuthority}). */
export let idp: FakeAuthority;
/** The authority's host: the cache environment of every account in these tests. */
export let host: string;

/** Starts the fake authority with Alice and Bob before the calling file's tests; stops it after them. */
export function useFakeAuthority(): void {
  before(async () => {
    idp = await FakeAuthority.start({ users: [ALICE, BOB], deviceCodeInterval: 0 });
    host = new URL(idp.url).host;
  });
  after(() => idp.close());
}

// --- helpers -----------------------------------------------------------------------------------------

/** Alice as the OS broker knows her: the same user (oid, tenant) as at the authority. */
export function aliceInBroker(): BrokerAccount {
  return fakeBrokerAccount({
    username: ALICE.username,
    id: "broker-alice",
    oid: ALICE.oid,
    tenantId: DEFAULT_TENANT_ID,
    environment: host,
  });
}

/** Alice as `getAccounts` lists her from the broker. */
export function aliceAccount(): Account {
  return {
    home_account_id: `${ALICE.oid}.${DEFAULT_TENANT_ID}`,
    environment: host,
    username: ALICE.username,
    realm: DEFAULT_TENANT_ID,
    local_account_id: "broker-alice",
    authority_type: "MSSTS",
    account_source: "broker",
  };
}

/** Bob as the OS broker knows him. */
export function bobInBroker(): BrokerAccount {
  return fakeBrokerAccount({
    username: BOB.username,
    id: "broker-bob",
    oid: BOB.oid,
    tenantId: DEFAULT_TENANT_ID,
    environment: host,
  });
}

export interface BrokerSetup {
  app: PublicClientApplication;
  broker: FakeBroker;
  warnings: () => string[];
  logged: Logged[];
}

/** An app opted in on `platform`, whose broker there is a FakeBroker. */
export function brokerApp(
  fake: FakeBrokerOptions = {},
  options: PublicClientApplicationOptions = {},
  platform: Platform = "linux",
): BrokerSetup {
  const broker = new FakeBroker(fake);
  const { logger, logged, warnings } = recordingLogger();
  const app = newApp(idp, {
    platform,
    [FLAG_OF[platform]]: true,
    brokers: { [platform]: broker },
    logger,
    ...options,
  });
  return { app, broker, warnings, logged };
}

/**
 * {@linkcode brokerApp} with Alice as the broker's default account (`fake` adds to or overrides that), signed
 * in through the broker (console window); then the broker's call log is cleared.
 */
export async function aliceSignedIn(
  fake: FakeBrokerOptions = {},
  options: PublicClientApplicationOptions = {},
): Promise<BrokerSetup & { account: Account; first: TokenResult }> {
  const setup = brokerApp(
    { accounts: [aliceInBroker()], defaultAccountId: "broker-alice", ...fake },
    options,
  );
  const first = assertToken(
    await setup.app.acquireTokenInteractive(SCOPES, { parentWindowHandle: CONSOLE_WINDOW_HANDLE }),
  );
  const [account] = await setup.app.getAccounts();
  setup.broker.calls.length = 0;
  return { ...setup, account, first };
}

export function methods(broker: FakeBroker): string[] {
  return broker.calls.map((call) => call.method);
}

export const tokenGrants = (): string[] => idp.requestsTo("token").map((r) => r.form.grant_type);

/**
 * A headless "system browser": opens the authorize URL, signs in on the fake authority's page, and
 * delivers the form_post response to the app's loopback listener.
 */
export function browserSigningIn(
  user: { username: string; password: string },
): (url: string) => Promise<void> {
  return async (url) => {
    const page = await fetch(url, { redirect: "manual" });
    const html = await page.text();
    const request = /name="request" value="([^"]+)"/.exec(html)?.[1];
    assert.ok(request, "the authority shows its sign-in page");
    const signedIn = await fetch(new URL("/login", idp.url), {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ request, username: user.username, password: user.password }),
      redirect: "manual",
    });
    const form = parseAutoPostForm(await signedIn.text());
    const delivered = await fetch(form.action.replace("//localhost:", "//127.0.0.1:"), {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams(form.fields),
    });
    await delivered.text();
  };
}

export interface CacheJson {
  AccessToken: Record<string, Record<string, string>>;
  RefreshToken: Record<string, Record<string, string>>;
  IdToken: Record<string, Record<string, string>>;
  Account: Record<string, Record<string, string>>;
}

export function cacheContents(app: PublicClientApplication): CacheJson {
  const json = JSON.parse(app.tokenCache.serialize());
  return {
    AccessToken: json.AccessToken ?? {},
    RefreshToken: json.RefreshToken ?? {},
    IdToken: json.IdToken ?? {},
    Account: json.Account ?? {},
  };
}

/** A token cache persisted in `store.state` through a plugin, as a file-backed cache would be. */
export function persistedCache(store: { state: string }): TokenCache {
  return new TokenCache({
    plugin: {
      beforeCacheAccess({ cache }) {
        cache.deserialize(store.state);
        return Promise.resolve();
      },
      afterCacheAccess({ cache, cacheHasChanged }) {
        if (cacheHasChanged) store.state = cache.serialize();
        return Promise.resolve();
      },
    },
  });
}

/** A plugin descriptor over a module, counting its loads. */
export function pluginFrom(
  name: string,
  load: () => Promise<BrokerPluginModule>,
  dependency?: string,
): BrokerPluginDescriptor & { loads: number } {
  const plugin = {
    name,
    ...(dependency ? { dependency } : {}),
    loads: 0,
    load: () => {
      plugin.loads++;
      return load();
    },
  };
  return plugin;
}

// --- unhandled rejections ----------------------------------------------------------------------------

export interface UnhandledWatch {
  reasons: unknown[];
  stop: () => void;
}

/** Records unhandled promise rejections: Deno's window event, or Node's and Bun's process event. */
export function watchUnhandledRejections(): UnhandledWatch {
  const reasons: unknown[] = [];
  if ("Deno" in globalThis) {
    const listener = (event: PromiseRejectionEvent) => {
      event.preventDefault();
      reasons.push(event.reason);
    };
    globalThis.addEventListener("unhandledrejection", listener);
    return { reasons, stop: () => globalThis.removeEventListener("unhandledrejection", listener) };
  }
  const process = (globalThis as unknown as {
    process: {
      on(event: string, listener: (reason: unknown) => void): void;
      off(event: string, listener: (reason: unknown) => void): void;
    };
  }).process;
  const listener = (reason: unknown) => reasons.push(reason);
  process.on("unhandledRejection", listener);
  return { reasons, stop: () => process.off("unhandledRejection", listener) };
}
