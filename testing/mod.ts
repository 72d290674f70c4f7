/**
 * Test doubles for apps built on `@authbroker/msal`: a fake Microsoft Entra ID authority that runs
 * offline on 127.0.0.1 with real HTTP, real HTML sign-in pages and RS256-signed tokens; an in-process
 * fake OS broker to inject through the `brokers` option; and a fake Linux identity broker
 * (`FakeLinuxBroker`) on a private D-Bus session bus (`startPrivateBus`), which Microsoft's own MSAL
 * runtime accepts.
 *
 * @example
 * ```ts
 * import { PublicClientApplication } from "@authbroker/msal";
 * import { FakeAuthority } from "@authbroker/msal/testing";
 *
 * const idp = await FakeAuthority.start({
 *   users: [{ username: "alice@contoso.com", password: "password" }],
 *   deviceCodeInterval: 0,
 * });
 * const app = new PublicClientApplication("my-client-id", { authority: idp.authority(), fetch: idp.fetch });
 * const flow = await app.initiateDeviceFlow(["User.Read"]);
 * if ("error" in flow) throw new Error(String(flow.error_description));
 * idp.approveDeviceCode(flow.user_code, "alice@contoso.com");
 * const result = await app.acquireTokenByDeviceFlow(flow);
 *
 * idp.failGrant("refresh_token", { error: "invalid_grant" }); // the next refresh fails
 * console.log(idp.requestsTo("token").length);
 * await idp.close();
 * ```
 *
 * @module
 */

export {
  DEFAULT_TENANT_ID,
  FakeAuthority,
  type FakeAuthorityOptions,
  type FakeClient,
  type FakeEndpoint,
  type FakeFault,
  type FakeGrantType,
  type FakeUser,
  type RecordedRequest,
} from "./authority.ts";
export { type AutoPostForm, parseAutoPostForm } from "./form_post.ts";
export {
  brokerError,
  FAKE_TENANT_ID,
  FakeBroker,
  fakeBrokerAccount,
  type FakeBrokerAccountInit,
  type FakeBrokerCall,
  type FakeBrokerCalls,
  type FakeBrokerMethod,
  type FakeBrokerOptions,
  type FakeBrokerStep,
} from "./fake_broker.ts";
export {
  FakeLinuxBroker,
  type FakeLinuxBrokerAccount,
  type FakeLinuxBrokerAccountInit,
  type FakeLinuxBrokerBusCall,
  type FakeLinuxBrokerFault,
  type FakeLinuxBrokerJsonError,
  type FakeLinuxBrokerMethod,
  type FakeLinuxBrokerOptions,
  type FakeLinuxBrokerProfile,
  type FakeLinuxBrokerRequest,
  LINUX_BROKER_INTERFACE,
  LINUX_BROKER_NAME,
  LINUX_BROKER_PATH,
} from "./linux_broker.ts";
export { linuxBrokerService, type LinuxBrokerServiceOptions } from "./linux_broker_activation.ts";
export type { FakeAuthorityHandle } from "./_types.ts";
export {
  type ActivatableService,
  type PrivateBus,
  PrivateBusError,
  type PrivateBusOptions,
  startPrivateBus,
} from "./private_bus.ts";
