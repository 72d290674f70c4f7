/**
 * `authbroker demo` (and `npm run demo`): the project's point, offline. A fake Microsoft Entra ID on
 * 127.0.0.1, a private D-Bus session bus with a fake Linux identity broker on it, then MSAL Python's
 * console sample through the broker, and the four broker fallback rules, each for real and narrated in
 * a few plain lines.
 *
 * @module
 */

import { createRequire } from "node:module";
import process from "node:process";
import {
  type AuthResult,
  BrokerDependencyError,
  DependencyError,
  type Platform,
  PublicClientApplication,
  type PublicClientApplicationOptions,
} from "../mod.ts";
import { brokerPluginFromModule } from "../broker.ts";
import { FakeAuthority, FakeLinuxBroker, type PrivateBus, startPrivateBus } from "../testing/mod.ts";
import { EXIT_OK } from "./exit_codes.ts";
import { commandInstall } from "./_app.ts";
import { messageOf } from "./_report.ts";
import type { Terminal } from "./_terminal.ts";

const CLIENT_ID = "8a3f5c2e-1b4d-4e6f-9a7b-0c1d2e3f4a5b";
const DEVICE_USER = { username: "adele@contoso.com", password: "correct horse", name: "Adele Vance" };
const OTHER_USER = { username: "megan@contoso.com", password: "battery staple", name: "Megan Bowen" };
// The demo talks to its fake broker the way it would on Linux, whatever this machine is.
const PLATFORM: Platform = "linux";

/** Runs the demo; resolves 0 when every step behaved as the rules say. */
export async function demo(terminal: Terminal, signal: AbortSignal): Promise<number> {
  const say = (text = ""): void => terminal.out(`${text}\n`);
  say("authbroker demo: single sign-on through the OS broker, and MSAL's fallback rules, all offline.");
  say("Nothing here reaches the internet: the identity provider and the broker are fakes on this machine.");
  say();

  const idp = await FakeAuthority.start({ users: [DEVICE_USER, OTHER_USER], deviceCodeInterval: 1 });
  const stage = await startBroker(idp);
  const savedAddress = process.env.DBUS_SESSION_BUS_ADDRESS;
  // The Linux broker plugin finds the broker through the session bus address, as on a desktop.
  if (stage.bus) process.env.DBUS_SESSION_BUS_ADDRESS = stage.bus.address;
  else delete process.env.DBUS_SESSION_BUS_ADDRESS;
  try {
    say(`Set-up`);
    say(`  a fake Microsoft Entra ID at ${idp.url}`);
    if (stage.broker) {
      say(
        `  a private D-Bus session bus (dbus-daemon) with a fake microsoft-identity-broker ${stage.broker.profile}`,
      );
      say(`  on it; the "device" is signed in as ${DEVICE_USER.username}`);
    } else {
      say(`  no broker: ${stage.missing}`);
      say("  Steps 1 and 4 need the broker and are skipped; the rest run.");
    }
    const context = { idp, say, signal, authority: idp.authority("organizations") };

    for (const [index, step] of STEPS.entries()) {
      say();
      say(`${index + 1}. ${step.heading}`);
      if (step.needsBroker && !stage.broker) say("   (skipped: no broker here, see Set-up)");
      else await step.run(context, stage);
    }
    say();
    say(
      `Done. The identity provider answered ${idp.requests.length} requests` +
        (stage.broker ? `; the broker ${stage.broker.requests.length} calls.` : "."),
    );
    return EXIT_OK;
  } finally {
    if (savedAddress === undefined) delete process.env.DBUS_SESSION_BUS_ADDRESS;
    else process.env.DBUS_SESSION_BUS_ADDRESS = savedAddress;
    await stage.broker?.close().catch(() => {});
    await stage.bus?.stop().catch(() => {});
    await idp.close();
  }
}

interface Stage {
  bus?: PrivateBus;
  broker?: FakeLinuxBroker;
  /** Why there is no broker. */
  missing?: string;
}

interface Context {
  idp: FakeAuthority;
  authority: string;
  say(text?: string): void;
  signal: AbortSignal;
}

async function startBroker(idp: FakeAuthority): Promise<Stage> {
  let bus: PrivateBus;
  try {
    bus = await startPrivateBus();
  } catch (error) {
    return { missing: messageOf(error) }; // names the fix: the package to install
  }
  try {
    const broker = await FakeLinuxBroker.start({
      address: bus.address,
      authority: idp,
      accounts: [{ username: DEVICE_USER.username, name: DEVICE_USER.name }],
      environment: new URL(idp.url).host,
    });
    return { bus, broker };
  } catch (error) {
    await bus.stop();
    return {
      // The fake's only dependency is dbus-next: name the install that fits the command, not a project.
      missing: error instanceof DependencyError
        ? `the fake broker needs dbus-next, which is not installed where this command runs (add it: ${
          commandInstall("dbus-next")
        })`
        : `the fake broker could not start (${messageOf(error)})`,
    };
  }
}

/** One numbered step of the demo: its heading, and what it does (with the broker, if it needs one). */
interface Step {
  heading: string;
  needsBroker?: boolean;
  run(context: Context, stage: Stage): Promise<void>;
}

const STEPS: Step[] = [
  {
    heading: "The console sample from MSAL Python's Linux broker guide (samples/console_app.ts)",
    needsBroker: true,
    run: (context, stage) => sampleThroughBroker(context, stage.broker!),
  },
  {
    heading: "Rule 1: an authority the broker does not support (ADFS, B2C, CIAM, OIDC) bypasses it silently",
    run: (context, stage) => ruleOne(context, stage.broker),
  },
  {
    heading:
      "Rule 2: opted in, but the broker plugin's dependency is not installed -> an error that says what to run",
    run: (context) => ruleTwo(context),
  },
  {
    heading:
      "Rule 4: the broker is up but a request fails -> an error result, never a silent switch to the browser",
    needsBroker: true,
    run: (context, stage) => ruleFour(context, stage.broker!),
  },
  {
    heading:
      "Rule 3: the dependency is installed but no broker answers -> the browser sign-in, with the reason kept",
    run: (context, stage) => ruleThree(context, stage),
  },
];

/** An app opted into the Linux broker, as every step creates it (a fresh app: a fresh in-memory cache). */
function brokerApp(options: PublicClientApplicationOptions = {}): Promise<PublicClientApplication> {
  return PublicClientApplication.create(CLIENT_ID, {
    ...options,
    enableBrokerOnLinux: true,
    platform: PLATFORM,
  });
}

/** MSAL Python's console sample (samples/console_app.ts), step by step, through the broker. */
async function sampleThroughBroker(
  { say, authority, signal }: Context,
  broker: FakeLinuxBroker,
): Promise<void> {
  const scopes = ["User.ReadBasic.All"];
  const app = await brokerApp({ authority });
  try {
    const status = await app.brokerStatus();
    if (!status.enabled) {
      say(`   enableBrokerOnLinux is set, but the broker is off: ${status.reason}.`);
      say("   (This build has no working Linux broker plugin; the broker steps are skipped.)");
      return;
    }
    say(`   enableBrokerOnLinux: true -> brokerStatus(): enabled (${status.plugin})`);
    // The broker knows no account for this app yet: the sample goes interactive.
    broker.fail("getAccounts", { kind: "emptyAccounts" });
    let accounts = await app.getAccounts({ signal });
    say(`   getAccounts() -> ${accounts.length} accounts: this app has not signed anyone in yet`);
    const windows = broker.requestsTo("acquireTokenInteractively").length;
    const interactive = await app.acquireTokenInteractive(scopes, {
      parentWindowHandle: app.CONSOLE_WINDOW_HANDLE,
      signal,
    });
    say(`   acquireTokenInteractive(parentWindowHandle: CONSOLE_WINDOW_HANDLE) -> ${describe(interactive)}`);
    say(
      broker.requestsTo("acquireTokenInteractively").length === windows
        ? "     (no window needed: the broker signed in the account the device is enrolled with, as MSAL does first)"
        : "     (the broker showed its sign-in window)",
    );
    accounts = await app.getAccounts({ signal });
    say(
      `   getAccounts() -> ${
        accounts.map((a) => `${a.username} (account_source: ${a.account_source})`).join(", ")
      }`,
    );
    const calls = broker.requests.length;
    const again = await app.acquireTokenSilent(scopes, { account: accounts[0], signal });
    say(
      `   acquireTokenSilent, the second call -> ${describe(again)}; the broker was ` +
        `${broker.requests.length === calls ? "not asked" : "asked"}`,
    );
    const other = await app.acquireTokenSilent(["Calendars.Read"], { account: accounts[0], signal });
    say(`   acquireTokenSilent for another scope -> ${describe(other)}, no window: single sign-on`);
  } finally {
    await app.close();
  }
}

/** Rule 1: authorities the broker does not support bypass it silently. */
async function ruleOne({ say }: Context, broker: FakeLinuxBroker | undefined): Promise<void> {
  const calls = broker?.requests.length ?? 0;
  for (
    const authority of [
      "https://contoso.b2clogin.com/contoso.onmicrosoft.com/B2C_1_signupsignin",
      "https://adfs.contoso.com/adfs",
    ]
  ) {
    const app = await brokerApp({ authority });
    const status = await app.brokerStatus();
    say(`   ${authority}\n     -> broker ${status.enabled ? "ON (unexpected)" : `off: ${status.reason}`}`);
    await app.close();
  }
  if (broker) {
    say(`   The broker received ${broker.requests.length - calls} calls; the app uses its own flows.`);
  }
}

/** Rule 2: opted in, but the plugin's dependency is missing: an error naming the install command. */
async function ruleTwo({ say }: Context): Promise<void> {
  try {
    // Opting in as an app would: where the command runs without dbus-next, this is the real thing.
    const app = await brokerApp();
    await app.close();
  } catch (error) {
    if (!(error instanceof BrokerDependencyError)) throw error;
    say("   dbus-next is not installed where this command runs, so an app that opts in gets, for real:");
    say(`   PublicClientApplication.create(...) throws ${error.name}:`);
    say(`     "${error.message}"`);
    return;
  }
  say(
    "   (Simulated: dbus-next is installed here, so the Linux plugin is swapped, through the public `brokers`",
  );
  say(
    "   option, for one that loads a package that does not exist. Without dbus-next the message names it.)",
  );
  const missing = "authbroker-demo-missing-dependency";
  try {
    await brokerApp({
      brokers: {
        // The runtime's own resolver is asked for the package, and fails as it would for dbus-next.
        linux: brokerPluginFromModule(
          PLATFORM,
          "linux",
          () => createRequire(import.meta.url)(missing),
          missing,
        ),
      },
    });
    say("   -> no error (unexpected)");
  } catch (error) {
    if (!(error instanceof BrokerDependencyError)) throw error;
    say(`   PublicClientApplication.create(...) throws ${error.name}:`);
    say(`     "${error.message}"`);
  }
}

/** Rule 4: the broker is up, a request fails: an error result, never a silent switch to the browser. */
async function ruleFour({ idp, say, authority, signal }: Context, broker: FakeLinuxBroker): Promise<void> {
  const app = await brokerApp({ authority });
  try {
    if (!(await app.brokerStatus()).enabled) {
      say("   (skipped: the broker is off in this build)");
      return;
    }
    broker.fail("acquireTokenInteractively", {
      kind: "error",
      status: 0,
      context: "Simulated broker failure",
    });
    const authorizeCalls = idp.requestsTo("authorize").length;
    const result = await app.acquireTokenInteractive(["User.Read"], {
      parentWindowHandle: app.CONSOLE_WINDOW_HANDLE,
      prompt: "select_account",
      signal,
    });
    say("   The broker's window fails (simulated: the fake broker answers status 0, Unexpected).");
    say(`   acquireTokenInteractive(prompt: "select_account") -> ${describe(result)}`);
    say(
      `   The browser was ${
        idp.requestsTo("authorize").length === authorizeCalls ? "not opened" : "opened (unexpected)"
      }.`,
    );
  } finally {
    await app.close();
  }
}

/** Rule 3: the dependency is there but no broker answers: the browser flow, with the reason on record. */
async function ruleThree({ idp, say, authority, signal }: Context, stage: Stage): Promise<void> {
  if (stage.broker) {
    await stage.broker.close();
    stage.broker = undefined;
    say(
      "   (The fake broker is stopped: the bus now has no microsoft-identity-broker, as on most Linux machines.)",
    );
  }
  const warnings: string[] = [];
  const options: PublicClientApplicationOptions = {
    authority,
    logger: { warning: (message) => warnings.push(message) },
  };
  let app: PublicClientApplication;
  try {
    app = await brokerApp(options);
  } catch (error) {
    if (!(error instanceof BrokerDependencyError)) throw error;
    // No dbus-next where the command runs: an opted-in app meets rule 2 first. Show the fallback without it.
    say(`   (Here the broker's dependency itself is missing, so opting in is rule 2: "${error.message}".`);
    say("   Without the flag, the app signs in through the browser as it would after the fallback.)");
    app = new PublicClientApplication(CLIENT_ID, { ...options, platform: PLATFORM });
  }
  try {
    const status = await app.brokerStatus();
    say(`   brokerStatus() -> ${status.enabled ? "enabled (unexpected)" : `off: ${status.reason}`}`);
    if (warnings.length) say(`   one warning in the app's log: ${warnings[0].replace(/^\[[^\]]+\] /, "")}`);
    const result = await app.acquireTokenInteractive(["User.Read"], {
      parentWindowHandle: app.CONSOLE_WINDOW_HANDLE,
      loginHint: OTHER_USER.username,
      signal,
      openBrowser: idp.signInAs(OTHER_USER.username), // a person at the browser, typing the password
    });
    say(
      `   acquireTokenInteractive -> the browser opens the sign-in page; ${OTHER_USER.username} types the ` +
        `password -> ${describe(result)}`,
    );
  } finally {
    await app.close();
  }
}

function describe(result: AuthResult | null): string {
  if (!result) return "null";
  if ("access_token" in result) {
    return `a token for ${result.id_token_claims?.preferred_username ?? result.account?.username} ` +
      `(token_source: ${result.token_source})`;
  }
  return `{ error: "${result.error}", error_description: "${
    result.error_description?.split("\n")[0] ?? ""
  }" }`;
}
