import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  type BrokerOptIn,
  brokerPluginFromModule,
  loadBroker,
  type LoadBrokerOptions,
} from "../brokers/registry.ts";
import type { BrokerPluginDescriptor, BrokerPluginModule } from "../brokers/broker.ts";
import { BrokerDependencyError } from "../core/errors.ts";
import { LogWriter } from "../core/log.ts";
import { detectRuntime, type Platform } from "../core/platform.ts";
import { FakeBroker } from "../testing/fake_broker.ts";
import { recordingLogger } from "./_helpers.ts";

const fixture = (name: string): string => new URL(`./fixtures/${name}`, import.meta.url).href;

/** A plugin per platform that counts its loads and yields a FakeBroker named after the platform. */
function countingPlugins(): { plugins: Record<Platform, BrokerPluginDescriptor>; loads: Platform[] } {
  const loads: Platform[] = [];
  const plugin = (platform: Platform): BrokerPluginDescriptor => ({
    name: `${platform}-plugin`,
    load: () => {
      loads.push(platform);
      const module: BrokerPluginModule = {
        createBroker: () => Promise.resolve(new FakeBroker({ name: `${platform}-broker` })),
      };
      return Promise.resolve(module);
    },
  });
  return {
    loads,
    plugins: { windows: plugin("windows"), mac: plugin("mac"), linux: plugin("linux"), wsl: plugin("wsl") },
  };
}

function options(overrides: Partial<LoadBrokerOptions> & { optIn: BrokerOptIn }): LoadBrokerOptions {
  return {
    platform: "linux",
    runtime: detectRuntime(),
    authorityType: "AAD",
    clientId: "client-id",
    logger: new LogWriter(),
    ...overrides,
  };
}

describe("loadBroker: which flag applies where", () => {
  const cases: { platform: Platform; optIn: BrokerOptIn; plugin?: Platform }[] = [
    { platform: "windows", optIn: { enableBrokerOnWindows: true }, plugin: "windows" },
    { platform: "mac", optIn: { enableBrokerOnMac: true }, plugin: "mac" },
    { platform: "linux", optIn: { enableBrokerOnLinux: true }, plugin: "linux" },
    { platform: "wsl", optIn: { enableBrokerOnWsl: true }, plugin: "wsl" },
    { platform: "wsl", optIn: { enableBrokerOnLinux: true }, plugin: "wsl" },
    { platform: "linux", optIn: { enableBrokerOnWsl: true } },
    { platform: "wsl", optIn: { enableBrokerOnWindows: true } },
    {
      platform: "windows",
      optIn: { enableBrokerOnLinux: true, enableBrokerOnMac: true, enableBrokerOnWsl: true },
    },
    { platform: "mac", optIn: { enableBrokerOnWindows: true, enableBrokerOnLinux: true } },
    { platform: "linux", optIn: {} },
    { platform: "linux", optIn: { enableBrokerOnLinux: false } },
  ];
  for (const { platform, optIn, plugin } of cases) {
    const flags = Object.entries(optIn).map(([flag, on]) => on ? flag : `${flag}: false`).join(" + ") ||
      "no flag";
    it(`${flags} on ${platform} -> ${plugin ? `the ${plugin} plugin` : "no broker"}`, async () => {
      const { plugins, loads } = countingPlugins();
      const { broker, status } = await loadBroker(options({ platform, optIn, plugins }));
      if (plugin) {
        assert.equal(broker?.description.name, `${plugin}-broker`);
        assert.deepEqual(status, { enabled: true, platform, plugin: `${plugin}-plugin` });
        assert.deepEqual(loads, [plugin]);
      } else {
        assert.equal(broker, undefined);
        assert.deepEqual(status, { enabled: false, platform, reason: `not opted in on ${platform}` });
        assert.deepEqual(loads, []);
      }
    });
  }

  it("uses an injected, already initialised broker as is", async () => {
    const fake = new FakeBroker({ name: "injected" });
    const { broker, status } = await loadBroker(
      options({ platform: "mac", optIn: { enableBrokerOnMac: true }, plugins: { mac: fake } }),
    );
    assert.equal(broker, fake);
    assert.deepEqual(status, { enabled: true, platform: "mac", plugin: "injected" });
  });

  it("passes the client id, platform and runtime to the plugin", async () => {
    const { broker } = await loadBroker(options({
      platform: "wsl",
      optIn: { enableBrokerOnWsl: true },
      clientId: "my-app",
      plugins: { wsl: brokerPluginFromModule("wsl", "ok", () => import(fixture("plugin_ok.ts"))) },
    }));
    assert.equal(broker?.description.name, "fixture-wsl-my-app");
  });
});

describe("loadBroker rule 2: a missing plugin dependency is an error naming the install command", () => {
  const env = (globalThis as { process?: { env: Record<string, string | undefined> } }).process!.env;
  let savedUserAgent: string | undefined;
  before(() => {
    savedUserAgent = env.npm_config_user_agent;
    delete env.npm_config_user_agent;
  });
  after(() => {
    if (savedUserAgent !== undefined) env.npm_config_user_agent = savedUserAgent;
  });

  const expected = {
    node: "You need to install dependency by: npm install authbroker-test-missing-dependency",
    bun: "You need to install dependency by: bun add authbroker-test-missing-dependency",
    deno: "You need to install dependency by: deno add npm:authbroker-test-missing-dependency",
  }[detectRuntime()];

  async function assertDependencyError(plugin: BrokerPluginDescriptor): Promise<void> {
    const { logger, warnings } = recordingLogger();
    await assert.rejects(
      loadBroker(
        options({
          optIn: { enableBrokerOnLinux: true },
          logger: new LogWriter(logger),
          plugins: { linux: plugin },
        }),
      ),
      (error: unknown) => {
        assert.ok(error instanceof BrokerDependencyError);
        assert.equal(error.message, expected);
        return true;
      },
    );
    assert.deepEqual(warnings(), []);
  }

  it("when the plugin module imports the package statically", async () => {
    await assertDependencyError({
      name: "linux",
      dependency: "authbroker-test-missing-dependency",
      load: () => import(fixture("plugin_missing_dependency.ts")),
    });
  });

  it("when createBroker itself says so (the plugin knows its dependency best)", async () => {
    await assertDependencyError({
      name: "linux",
      dependency: "dbus-next",
      load: () =>
        Promise.resolve({
          createBroker: () => Promise.reject(new BrokerDependencyError(expected.split(": ")[1])),
        }),
    });
  });

  it("when the plugin is loaded through brokerPluginFromModule", async () => {
    await assertDependencyError(
      brokerPluginFromModule(
        "linux",
        "linux",
        () => import(fixture("plugin_missing_dependency.ts")),
        "authbroker-test-missing-dependency",
      ),
    );
  });

  it("when the plugin imports the package inside createBroker", async () => {
    await assertDependencyError(
      brokerPluginFromModule(
        "linux",
        "linux",
        () => import(fixture("plugin_lazy_dependency.ts")),
        "authbroker-test-missing-dependency",
      ),
    );
  });

  it("uses the install command of the runtime the app says it runs on", async () => {
    await assert.rejects(
      loadBroker(options({
        runtime: "deno",
        optIn: { enableBrokerOnLinux: true },
        plugins: {
          linux: brokerPluginFromModule(
            "linux",
            "linux",
            () => import(fixture("plugin_missing_dependency.ts")),
            "authbroker-test-missing-dependency",
          ),
        },
      })),
      { message: "You need to install dependency by: deno add npm:authbroker-test-missing-dependency" },
    );
  });
});

describe("loadBroker rule 3: a broker that cannot initialise falls back with one warning", () => {
  async function assertFallback(
    plugin: BrokerPluginDescriptor,
    reason: string | RegExp,
    platform: Platform = "linux",
  ): Promise<void> {
    const { logger, warnings } = recordingLogger();
    const optIn = { enableBrokerOnLinux: true, enableBrokerOnWindows: true, enableBrokerOnMac: true };
    const { broker, status } = await loadBroker(
      options({ platform, optIn, logger: new LogWriter(logger), plugins: { [platform]: plugin } }),
    );
    assert.equal(broker, undefined);
    assert.equal(status.enabled, false);
    assert.equal(status.platform, platform);
    assert.equal(status.plugin, plugin.name);
    if (typeof reason === "string") assert.equal(status.reason, reason);
    else assert.match(status.reason ?? "", reason);
    const [warning, ...more] = warnings();
    assert.deepEqual(more, []);
    assert.ok(warning.includes(status.reason!), warning);
    assert.match(warning, /fallback to non-broker/);
  }

  it("when the plugin module throws while loading (a native library is missing)", async () => {
    await assertFallback(
      brokerPluginFromModule(
        "windows",
        "msalruntime",
        () => import(fixture("plugin_throws_on_load.ts")),
        "@azure/msal-node-runtime",
      ),
      /libmsalruntime\.so: cannot open shared object file/,
      "windows",
    );
  });

  it("when createBroker says the broker is unavailable", async () => {
    await assertFallback(
      brokerPluginFromModule("linux", "linux", () => import(fixture("plugin_unavailable.ts")), "dbus-next"),
      "no identity broker on the D-Bus session bus",
    );
  });

  it("when createBroker throws anything else", async () => {
    await assertFallback(
      {
        name: "flaky",
        load: () =>
          Promise.resolve({
            createBroker: () => Promise.reject(new Error("Authenticator Factory has already been started")),
          }),
      },
      /Authenticator Factory has already been started/,
    );
  });

  it("when the module does not export createBroker", async () => {
    await assertFallback(
      { name: "empty", load: () => Promise.resolve({} as BrokerPluginModule) },
      /createBroker/,
    );
  });

  it("when the plugin module itself is missing, without telling anyone to install something", async () => {
    await assertFallback(
      brokerPluginFromModule(
        "mac",
        "msalruntime",
        () => import(fixture("no_such_plugin.ts")),
        "@azure/msal-node-runtime",
      ),
      "the mac broker plugin is not available in this version",
      "mac",
    );
  });

  it("when a package other than the plugin's dependency is missing", async () => {
    await assertFallback(
      brokerPluginFromModule(
        "linux",
        "linux",
        () => import(fixture("plugin_missing_dependency.ts")),
        "dbus-next",
      ),
      /authbroker-test-missing-dependency/,
    );
    await assertFallback(
      brokerPluginFromModule(
        "linux",
        "linux",
        () => import(fixture("plugin_missing_dependency.ts")),
        "authbroker-test-missing",
      ),
      /authbroker-test-missing-dependency/,
    );
  });
});

describe("module-not-found wording the rules rely on, as this runtime reports it", () => {
  const runtime = detectRuntime();
  const message = async (load: () => Promise<unknown>): Promise<string> => {
    try {
      await load();
    } catch (error) {
      return (error as Error).message;
    }
    throw new Error("expected the import to fail");
  };

  it("a package that is not installed", async () => {
    const text = await message(() => import(fixture("plugin_missing_dependency.ts")));
    const lazy = await message(async () =>
      (await import(fixture("plugin_lazy_dependency.ts"))).createBroker()
    );
    const expected = runtime === "deno"
      ? /^Import "authbroker-test-missing-dependency" not a dependency and not in import map from "file:\/\/\/.*\/tests\/fixtures\/plugin_(missing|lazy)_dependency\.ts"/
      : /^Cannot find package 'authbroker-test-missing-dependency' imported from .*[\/\\]tests[\/\\]fixtures[\/\\]plugin_(missing|lazy)_dependency\.ts/;
    assert.match(text, expected);
    assert.match(lazy, expected);
  });

  it("a module file that does not exist", async () => {
    const text = await message(() => import(fixture("no_such_plugin.ts")));
    const expected = runtime === "deno"
      ? /^Module not found "file:\/\/\/.*\/tests\/fixtures\/no_such_plugin\.ts"\.$/
      : /^Cannot find module '.*[\/\\]tests[\/\\]fixtures[\/\\]no_such_plugin\.ts' imported from /;
    assert.match(text, expected);
  });
});
