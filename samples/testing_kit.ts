/**
 * The README's "Testing your own app offline" example, kept here so that it is type-checked and run
 * (tests/testing_kit.test.ts checks the README shows exactly this code, with the package's import names).
 */
import assert from "node:assert/strict";
import { PublicClientApplication } from "../mod.ts";
import { FakeAuthority, FakeBroker, fakeBrokerAccount } from "../testing/mod.ts";

const idp = await FakeAuthority.start({
  users: [{ username: "ada@contoso.com", password: "pw" }],
  deviceCodeInterval: 0, // the app may poll without pausing
});
try {
  const app = new PublicClientApplication("my-client-id", { authority: idp.authority("organizations") });

  // Device code: the user approves the code the app shows.
  const flow = await app.initiateDeviceFlow(["User.Read"]);
  if (!("user_code" in flow)) throw new Error(flow.error_description);
  idp.approveDeviceCode(flow.user_code, "ada@contoso.com");
  const signedIn = await app.acquireTokenByDeviceFlow(flow);
  assert.ok("access_token" in signedIn);

  // Interactive: signInAs() is an openBrowser that signs the user in on the fake's pages.
  const interactive = await app.acquireTokenInteractive(["User.Read"], {
    openBrowser: idp.signInAs("ada@contoso.com"),
  });
  assert.ok("access_token" in interactive);

  // Silent: served from the cache.
  const [account] = await app.getAccounts({ username: "ada@contoso.com" });
  const silent = await app.acquireTokenSilent(["User.Read"], { account });
  assert.equal(silent?.token_source, "cache");

  // Faults: the next refresh fails as Entra ID would.
  idp.failGrant("refresh_token", { error: "invalid_grant" });
  assert.equal(await app.acquireTokenSilent(["User.Read"], { account, forceRefresh: true }), null);

  // A broker: FakeBroker's accounts follow the app's authority, here the fake one.
  const broker = new FakeBroker({ accounts: [fakeBrokerAccount({ username: "ada@contoso.com" })] });
  const brokered = new PublicClientApplication("my-client-id", {
    authority: idp.authority("organizations"),
    enableBrokerOnLinux: true,
    platform: "linux",
    brokers: { linux: broker },
  });
  const [brokerAccount] = await brokered.getAccounts();
  const viaBroker = await brokered.acquireTokenSilent(["User.Read"], { account: brokerAccount });
  assert.equal(viaBroker?.token_source, "broker");
} finally {
  await idp.close();
}
