/**
 * Linux broker benchmark, on a private dbus-daemon with the test kit's FakeLinuxBroker (profile 3.0.2):
 * a silent token call through the plugin against the same call made with raw dbus-next (target: at
 * most 1.2x raw), and the second `acquireTokenSilent` of an app, served from its local cache, against
 * a cache hit for an account that signed in without a broker. Medians of alternating calls. Run with `npx tsx bench/broker.ts`,
 * `npx deno run -A bench/broker.ts` or `npx bun bench/broker.ts`.
 *
 * @module
 */

import dbus from "dbus-next";
import process from "node:process";
import { PublicClientApplication } from "../mod.ts";
import { createBroker } from "../brokers/linux.ts";
import type { Broker, BrokerAccount } from "../brokers/broker.ts";
import { LogWriter } from "../core/log.ts";
import { detectRuntime } from "../core/platform.ts";
import { FakeAuthority, FakeLinuxBroker, startPrivateBus } from "../testing/mod.ts";
import { formatMs, renderTable, type Timing } from "./_table.ts";

const CLIENT_ID = "5c7e1f2a-3b4c-4d5e-8f90-a1b2c3d4e5f6";
const SCOPES = ["User.Read"];
const USER = { username: "alice@contoso.com", password: "alice-pw" };

/** The request the plugin sends for a silent call (spec §11), built once: what a raw client would send. */
function rawSilentRequest(account: Record<string, unknown>, authority: string): string {
  return JSON.stringify({
    authParameters: {
      accessTokenToRenew: "",
      account,
      additionalQueryParametersForAuthorization: { "x-client-xtra-sku": "bench" },
      authority,
      authorizationType: 1,
      clientId: CLIENT_ID,
      decodedClaims: "",
      enrollmentId: "",
      isTestMode: false,
      password: "",
      popParams: null,
      redirectUri: "https://login.microsoftonline.com/common/oauth2/nativeclient",
      requestedScopes: SCOPES,
      username: account.username,
      uxContextHandle: -1,
    },
  });
}

/**
 * Times `a` and `b` call by call, alternating (which goes first flips every pair), for about
 * `budgetMs`; the medians, so that load spikes on a shared machine hit neither side.
 */
async function compare(
  a: () => Promise<unknown>,
  b: () => Promise<unknown>,
  budgetMs = 4_000,
): Promise<[Timing, Timing]> {
  await a();
  await b();
  const samples: [number[], number[]] = [[], []];
  const fns = [a, b];
  const end = performance.now() + budgetMs;
  for (let pair = 0; performance.now() < end && pair < 100_000; pair++) {
    for (const i of pair % 2 ? [1, 0] : [0, 1]) {
      const start = performance.now();
      await fns[i]();
      samples[i].push(performance.now() - start);
    }
  }
  const median = (values: number[]): number => values.sort((x, y) => x - y)[Math.floor(values.length / 2)];
  return samples.map((values) => ({ ms: median(values), runs: values.length })) as [Timing, Timing];
}

async function main(): Promise<void> {
  const bus = await startPrivateBus();
  const idp = await FakeAuthority.start({ users: [USER], deviceCodeInterval: 0 });
  const broker = await FakeLinuxBroker.start({
    address: bus.address,
    authority: idp,
    environment: new URL(idp.url).host,
    accounts: [{ username: USER.username }],
  });
  process.env.DBUS_SESSION_BUS_ADDRESS = bus.address;
  const raw = dbus.sessionBus({ busAddress: bus.address });
  let plugin: Broker | undefined;
  try {
    await new Promise<void>((resolve, reject) => {
      raw.on("connect", () => resolve());
      raw.on("error", reject);
    });
    const authority = `https://${new URL(idp.url).host}/organizations`;
    const request = rawSilentRequest({ ...broker.accounts[0] }, authority);
    const rawCall = async () => {
      const reply = await raw.call(
        new dbus.Message({
          destination: "com.microsoft.identity.broker1",
          path: "/com/microsoft/identity/broker1",
          interface: "com.microsoft.identity.Broker1",
          member: "acquireTokenSilently",
          signature: "sss",
          body: ["0.0", crypto.randomUUID(), request],
        }),
      );
      const json = JSON.parse(reply!.body[0]);
      if (!json.brokerTokenResponse?.accessToken) throw new Error(reply!.body[0]);
    };

    plugin = await createBroker({
      clientId: CLIENT_ID,
      platform: "linux",
      runtime: detectRuntime(),
      logger: new LogWriter(),
    });
    const accounts = await plugin.getAccounts({
      clientId: CLIENT_ID,
      correlationId: crypto.randomUUID(),
      signal: new AbortController().signal,
    });
    const account = (accounts as BrokerAccount[])[0];
    const signal = new AbortController().signal;
    const pluginCall = async () => {
      const result = await plugin!.acquireTokenSilent({
        clientId: CLIENT_ID,
        authority,
        scopes: SCOPES,
        redirectUri: plugin!.redirectUri(CLIENT_ID),
        correlationId: crypto.randomUUID(),
        signal,
        account,
      });
      if (!result.ok) throw new Error(result.context);
    };
    const [rawTiming, pluginTiming] = await compare(rawCall, pluginCall);

    // The second acquireTokenSilent: served from the app's cache, for a broker account and, for
    // comparison, for an account that signed in with the device-code flow.
    const app = await PublicClientApplication.create(CLIENT_ID, {
      authority: idp.authority("organizations"),
      enableBrokerOnLinux: true,
    });
    const [brokerAccount] = await app.getAccounts();
    const first = await app.acquireTokenSilent(SCOPES, { account: brokerAccount });
    if (first?.token_source !== "broker") throw new Error(`not from the broker: ${JSON.stringify(first)}`);
    const plain = new PublicClientApplication(CLIENT_ID, { authority: idp.authority("organizations") });
    const flow = await plain.initiateDeviceFlow(SCOPES);
    if (!("user_code" in flow)) throw new Error(JSON.stringify(flow));
    idp.approveDeviceCode(flow.user_code, USER.username);
    await plain.acquireTokenByDeviceFlow(flow);
    const [plainAccount] = await plain.getAccounts();
    const cachedCall = (subject: PublicClientApplication, account: typeof brokerAccount) => async () => {
      const result = await subject.acquireTokenSilent(SCOPES, { account });
      if (result?.token_source !== "cache") throw new Error(`not from the cache: ${JSON.stringify(result)}`);
    };
    const [brokerHit, plainHit] = await compare(
      cachedCall(app, brokerAccount),
      cachedCall(plain, plainAccount),
    );

    const runtime = "Deno" in globalThis
      ? "Deno"
      : "Bun" in globalThis
      ? "Bun"
      : `Node ${process.versions.node}`;
    console.log(`Linux broker benchmark (${runtime}; FakeLinuxBroker 3.0.2 on a private dbus-daemon)\n`);
    console.log(renderTable(["operation", "time", "vs reference", "reference"], [
      [
        "silent token call through the plugin",
        formatMs(pluginTiming.ms),
        `${(pluginTiming.ms / rawTiming.ms).toFixed(2)}×`,
        `raw dbus-next call: ${formatMs(rawTiming.ms)}`,
      ],
      [
        "2nd acquireTokenSilent, broker account (cache)",
        formatMs(brokerHit.ms),
        `${(brokerHit.ms / plainHit.ms).toFixed(2)}×`,
        `cache hit, device-code account: ${formatMs(plainHit.ms)}`,
      ],
    ]));
  } finally {
    await plugin?.close();
    raw.disconnect();
    await broker.close();
    await idp.close();
    await bus.stop();
  }
}

if (import.meta.main ?? true) await main();
