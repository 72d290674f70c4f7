/**
 * `npm run demo`: the main job, offline. Starts the fake Entra-like authority on 127.0.0.1, signs a
 * user in with the device-code flow (a simulated user approves the code on the authority's page),
 * then gets a second token silently from the cache, and finally refreshes with the refresh token.
 */
import { PublicClientApplication } from "../mod.ts";
import { FakeAuthority } from "../testing/mod.ts";

const idp = await FakeAuthority.start({
  users: [{ username: "adele@contoso.com", password: "correct horse", name: "Adele Vance" }],
  deviceCodeInterval: 1,
});
try {
  const app = new PublicClientApplication("8a3f5c2e-1b4d-4e6f-9a7b-0c1d2e3f4a5b", {
    authority: idp.authority("organizations"),
  });
  console.log(`Fake authority listening at ${idp.url}`);

  const flow = await app.initiateDeviceFlow(["User.Read"]);
  if (!("user_code" in flow)) throw new Error(`Device flow failed: ${flow.error}: ${flow.error_description}`);
  console.log(`\n1. Device code flow\n   ${flow.message}`);

  // A user at another device opens the page and types the code, then signs in.
  setTimeout(() => void approveLikeAUser(flow.verification_uri, flow.user_code), 300);
  const signedIn = await app.acquireTokenByDeviceFlow(flow);
  if (!("access_token" in signedIn)) throw new Error(`Sign-in failed: ${signedIn.error}`);
  console.log(
    `   Signed in as ${signedIn.id_token_claims?.preferred_username} ` +
      `(token_source: ${signedIn.token_source}, expires_in: ${signedIn.expires_in} s)`,
  );

  const [account] = await app.getAccounts();
  console.log(`\n2. getAccounts() -> ${account.username} (${account.home_account_id})`);

  const silent = await app.acquireTokenSilent(["User.Read"], { account });
  console.log(
    `\n3. acquireTokenSilent -> token_source: ${silent?.token_source}, same token: ${
      silent?.access_token === signedIn.access_token
    }`,
  );

  const refreshed = await app.acquireTokenSilent(["User.Read"], { account, forceRefresh: true });
  console.log(`\n4. acquireTokenSilent({ forceRefresh: true }) -> token_source: ${refreshed?.token_source}`);

  const cacheBytes = app.tokenCache.serialize().length;
  console.log(`\nThe token cache (MSAL's unified schema) now holds ${cacheBytes} bytes.`);
  console.log(`The authority saw ${idp.requests.length} requests. Done.`);
} finally {
  await idp.close();
}

async function approveLikeAUser(verificationUri: string, userCode: string): Promise<void> {
  const page = new URL(verificationUri);
  const local = new URL(page.pathname, idp.url);
  await (await fetch(local)).text();
  const response = await fetch(local, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ code: userCode, username: "adele@contoso.com", password: "correct horse" }),
  });
  await response.text();
  console.log(`   (the user entered ${userCode} at ${verificationUri} and signed in)`);
}
