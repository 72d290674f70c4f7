/**
 * `npm run demo`: the main job, offline. Starts the fake Entra-like authority on 127.0.0.1, signs a
 * user in with the device-code flow (a simulated user approves the code on the authority's page),
 * gets a second token silently from the cache, refreshes with the refresh token, and finally signs a
 * second user in interactively: authorization code + PKCE with a loopback redirect, where a simulated
 * browser fills in the authority's login page.
 */
import { PublicClientApplication } from "../mod.ts";
import { FakeAuthority, parseAutoPostForm } from "../testing/mod.ts";

const idp = await FakeAuthority.start({
  users: [
    { username: "adele@contoso.com", password: "correct horse", name: "Adele Vance" },
    { username: "megan@contoso.com", password: "battery staple", name: "Megan Bowen" },
  ],
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

  const interactive = await app.acquireTokenInteractive(["Calendars.Read"], {
    loginHint: "megan@contoso.com",
    onBeforeLaunchingUi: ({ url }) =>
      console.log(`\n5. Interactive sign-in: the browser opens\n   ${url?.slice(0, 90)}...`),
    openBrowser: (url) => signInLikeABrowser(url, "battery staple"),
  });
  if (!("access_token" in interactive)) throw new Error(`Interactive sign-in failed: ${interactive.error}`);
  console.log(
    `   Signed in as ${interactive.id_token_claims?.preferred_username} ` +
      `(token_source: ${interactive.token_source}, account_source: ${interactive.account?.account_source})`,
  );
  const everyone = await app.getAccounts();
  console.log(`\n6. getAccounts() -> ${everyone.map((a) => a.username).join(", ")}`);

  const cacheBytes = app.tokenCache.serialize().length;
  console.log(`\nThe token cache (MSAL's unified schema) now holds ${cacheBytes} bytes.`);
  console.log(`The authority saw ${idp.requests.length} requests. Done.`);
} finally {
  await idp.close();
}

/** What a person does in the browser: the login page, the password, then the redirect back to the app. */
async function signInLikeABrowser(authorizeUrl: string, password: string): Promise<void> {
  const loginPage = await fetch(authorizeUrl);
  const login = parseAutoPostForm(await loginPage.text());
  const submitted = await fetch(new URL(login.action, loginPage.url), {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ ...login.fields, password, action: "login" }),
  });
  // The authority answers with a form that posts the code to the app's loopback listener.
  const redirect = parseAutoPostForm(await submitted.text());
  const landed = await fetch(redirect.action, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams(redirect.fields),
  });
  console.log(
    `   (the user typed the password; the browser landed on the app's page: HTTP ${landed.status})`,
  );
  await landed.text();
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
