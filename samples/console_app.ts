/**
 * MSAL Python's console sample from its Linux broker guide ("Enable SSO in native Linux using MSAL
 * Python"), ported line by line. The Python original's comments are kept; where a line had to change,
 * a comment says why.
 *
 * Run it with a config file as the first argument:
 *
 * ```sh
 * deno run -A samples/console_app.ts config.json
 * bun samples/console_app.ts config.json
 * npx tsx samples/console_app.ts config.json
 * ```
 *
 * where `config.json` is
 * `{"authority": "https://login.microsoftonline.com/common", "client_id": "...", "username": "...", "scope": ["User.ReadBasic.All"]}`
 * and the app registration has the redirect URI `https://login.microsoftonline.com/common/oauth2/nativeclient`.
 * Set `DEBUG=1` to see the log lines (the Python sample's `logging.basicConfig(level=logging.DEBUG)`).
 *
 * @module
 */

import { readFileSync } from "node:fs"; // For simplicity, we'll read config file from 1st CLI param sys.argv[1]
import process from "node:process";
import { type AuthResult, type Logger, PublicClientApplication } from "../mod.ts";

// Optional logging
// logging.basicConfig(level=logging.DEBUG)
const debug = (message: string): void => void (process.env.DEBUG && console.error(message));
const logging: Required<Omit<Logger, "piiLoggingEnabled">> = {
  error: debug,
  warning: debug,
  info: debug,
  verbose: debug,
};

// Python would fail with an IndexError; a usage line says what to pass instead.
if (!process.argv[2]) {
  console.error(
    "Usage: console_app <config.json>  (authority, client_id, username, scope; see the file's header)",
  );
  process.exit(2);
}
const config = JSON.parse(readFileSync(process.argv[2], "utf8"));

// Create a preferably long-lived app instance which maintains a token cache (Default cache is in memory only).
const app = await PublicClientApplication.create(config.client_id, {
  authority: config.authority,
  enableBrokerOnWindows: true,
  enableBrokerOnWsl: true,
  enableBrokerOnLinux: true, // The guide's subject; its listing shows only the Windows and WSL flags.
  logger: logging,
});

// The pattern to acquire a token looks like this.
let result: AuthResult | null = null;

// Firstly, check the cache to see if this end user has signed in before
const accounts = await app.getAccounts({ username: config.username });
if (accounts.length) {
  logging.info("Account(s) exists in cache, probably with token too. Let's try.");
  result = await app.acquireTokenSilent(config.scope, { account: accounts[0] });
}

if (!result) {
  logging.info("No suitable token exists in cache. Let's get a new one from AAD.");

  result = await app.acquireTokenInteractive(config.scope, { parentWindowHandle: app.CONSOLE_WINDOW_HANDLE });
}

if ("access_token" in result) {
  console.log(`Access token is: ${result.access_token}`);
} else {
  console.log(result.error);
  console.log(result.error_description);
  console.log(result.correlation_id); // You may need this when reporting a bug
  if (result.error_codes?.includes(65001)) { // Not mean to be coded programatically, but...
    // AAD requires user consent for U/P flow
    console.log(
      "Visit this to consent:",
      await app.getAuthorizationRequestUrl(config.scope, { redirectUri: "http://localhost" }),
    );
  }
}

await app.close(); // Not in Python: a broker connection would otherwise keep the process alive.
