/**
 * The contract for OS broker plugins: what a plugin module exports ({@linkcode BrokerPluginModule}),
 * the {@linkcode Broker} it returns, the requests and results that cross the boundary, and the helpers
 * to hand a plugin to an app. App developers use the main entry; this one is for plugin authors.
 *
 * A plugin returns token failures as {@linkcode BrokerError} values and throws only for programmer
 * errors; {@linkcode BrokerUnavailableError} from `createBroker` makes the app fall back to its
 * browser flows (rule 3).
 *
 * @example A plugin module, and an app using it
 * ```ts
 * import type { Broker, BrokerPluginContext } from "@authbroker/msal/broker";
 * import { brokerPluginFromModule, BrokerUnavailableError } from "@authbroker/msal/broker";
 * import { PublicClientApplication } from "@authbroker/msal";
 *
 * declare function connect(context: BrokerPluginContext): Promise<Broker | undefined>; // your transport
 *
 * // my_broker.ts
 * export async function createBroker(context: BrokerPluginContext): Promise<Broker> {
 *   const broker = await connect(context);
 *   if (!broker) throw new BrokerUnavailableError("no identity broker on the session bus");
 *   context.logger.verbose(`Connected to ${broker.description.name}`);
 *   return broker;
 * }
 *
 * // the app
 * const plugin = brokerPluginFromModule("linux", "my-broker", () => import("./my_broker.ts"));
 * const app = await PublicClientApplication.create("client-id", {
 *   enableBrokerOnLinux: true,
 *   brokers: { linux: plugin },
 * });
 * ```
 *
 * @module
 */

export {
  type Broker,
  BROKER_STATUS_NAMES,
  type BrokerAccount,
  type BrokerAccountsRequest,
  type BrokerCallOptions,
  type BrokerDescription,
  type BrokerError,
  type BrokerErrorKind,
  type BrokerInteractiveRequest,
  type BrokerPluginContext,
  type BrokerPluginDescriptor,
  type BrokerPluginModule,
  type BrokerPopParameters,
  type BrokerPrompt,
  type BrokerReadAccountRequest,
  type BrokerSignOutRequest,
  type BrokerSilentRequest,
  type BrokerTokenRequest,
  type BrokerTokenResponse,
  type BrokerTokenResult,
  BrokerUnavailableError,
  CONSOLE_WINDOW_HANDLE,
  importDependency,
  type ImportDependencyOptions,
  isBrokerError,
  type WindowHandle,
} from "./brokers/broker.ts";
export {
  type BrokerOptIn,
  brokerPluginFromModule,
  type BrokerPluginSource,
  type BrokerStatus,
} from "./brokers/registry.ts";
export type { PluginLogger } from "./core/log.ts";
export type { Platform, Runtime } from "./core/platform.ts";
export type { IdTokenClaims } from "./core/results.ts";
