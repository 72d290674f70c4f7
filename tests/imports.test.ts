// The layers of the library, checked on every import: dependencies point one way and form no cycle.
// The rules are written once, here (DESIGN.md "Layout" says the same in prose):
//
//   entries (the files deno.json exports)  ->  app/  ->  flows/, brokers/registry.ts  ->  core/
//   brokers/broker.ts (the plugin contract)  ->  core/
//   app/ and flows/                          ->  also brokers/broker.ts (the contract they call brokers by)
//   a plugin in brokers/ (any other file)    ->  brokers/broker.ts, core/, and its own private files,
//                                                 named after it: brokers/linux.ts -> brokers/_linux_*.ts;
//                                                 never another plugin's
//   testing/, cli/                           ->  the public entries, and their own files
//   persistence/                             ->  the public entries but ./testing, and its own files
//   samples/                                  ->  the public entries, and their own files: written the
//                                                 way an app uses the package
//   bench/                                    ->  anything in the library, tests/_*.ts and the built
//                                                 package (dist/): it measures internals (the cache
//                                                 index, a plugin's wire) and the build; nothing
//                                                 imports bench/
//
// Only `brokers/registry.ts` may load a plugin, and only with a dynamic `import()`; other dynamic
// imports follow the rules of static ones. No entry imports a plugin, except that `linux_broker.ts`
// (the low-level `LinuxBrokerClient`) re-exports the Linux plugin's private files. A folder that does
// not exist yet is skipped; every file of one that does is checked. tests/ may import anything.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { dirname, join, normalize, relative } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = normalize(join(dirname(fileURLToPath(import.meta.url)), ".."));
const FOLDERS = ["app", "core", "flows", "brokers", "testing", "persistence", "cli", "samples", "bench"];

const deno = JSON.parse(readFileSync(join(ROOT, "deno.json"), "utf8"));
/** The public entries, as paths from the root (`mod.ts`, `testing/mod.ts`, ...). */
const ENTRIES = new Set(
  Object.values(deno.exports as Record<string, string>).map((path) => normalize(path.replace(/^\.\//, ""))),
);

const under = (folder: string) => (file: string): boolean => file.startsWith(`${folder}/`);
const isEntry = (file: string): boolean => ENTRIES.has(file);
/** A plugin's file in brokers/: the plugin module or one of its private files. */
const isPlugin = (file: string): boolean =>
  under("brokers")(file) && !["brokers/broker.ts", "brokers/registry.ts"].includes(file);
/** A plugin module, which only the registry loads: `brokers/linux.ts`, `brokers/msalruntime.ts`. */
const isPluginModule = (file: string): boolean => isPlugin(file) && !file.startsWith("brokers/_");
/**
 * The plugin a file of brokers/ belongs to: `linux` for `brokers/linux.ts` and `brokers/_linux_wire.ts`.
 * Private files name their plugin (`_<plugin>_*.ts`); a private file without one belongs to none.
 */
function pluginOf(file: string): string | undefined {
  if (!isPlugin(file)) return undefined;
  if (isPluginModule(file)) return file.slice("brokers/".length).replace(/\.[cm]?[jt]s$/, "");
  const name = file.slice("brokers/_".length);
  return PLUGINS.filter((plugin) => name.startsWith(`${plugin}_`)).sort((a, b) => b.length - a.length)[0];
}

/** What each kind of file may import statically (besides packages). */
function allowed(from: string, to: string): boolean {
  const library = ["app", "core", "flows", "brokers"].some((folder) => under(folder)(to)) || isEntry(to);
  if (under("bench")(from)) {
    return under("bench")(to) || library || /^tests\/_[^/]+$/.test(to) || under("dist")(to);
  }
  const own = (folder: string) => under(folder)(from) && under(folder)(to);
  if (under("core")(from)) return under("core")(to);
  if (from === "brokers/broker.ts") return under("core")(to);
  if (from === "brokers/registry.ts") return to === "brokers/broker.ts" || under("core")(to);
  if (isPlugin(from)) {
    const plugin = pluginOf(from);
    return to === "brokers/broker.ts" || under("core")(to) ||
      (plugin !== undefined && !isPluginModule(to) && pluginOf(to) === plugin);
  }
  if (under("flows")(from)) {
    return under("flows")(to) || under("core")(to) || to === "brokers/broker.ts";
  }
  if (under("app")(from)) {
    return under("app")(to) || under("flows")(to) || under("core")(to) ||
      to === "brokers/broker.ts" || to === "brokers/registry.ts";
  }
  // The library's own plugins never depend on the testing kit.
  if (under("persistence")(from)) return own("persistence") || (isEntry(to) && !under("testing")(to));
  for (const folder of ["testing", "cli", "samples"]) {
    if (under(folder)(from)) return own(folder) || isEntry(to);
  }
  // A top-level entry re-exports the layers below; never the user-side folders of another entry, and
  // no plugin, but for the Linux plugin's client in its own entry.
  if (isEntry(from)) {
    if (isPlugin(to)) return from === "linux_broker.ts" && !isPluginModule(to) && pluginOf(to) === "linux";
    return ["app", "core", "flows", "brokers"].some((folder) => under(folder)(to));
  }
  return false;
}

/** What `from` may load with a dynamic `import()`: what it may import statically, and the registry its plugins. */
function allowedDynamic(from: string, to: string): boolean {
  return (from === "brokers/registry.ts" && isPluginModule(to)) || allowed(from, to);
}

function sourceFiles(): string[] {
  const files = readdirSync(ROOT).filter((name) => name.endsWith(".ts"));
  for (const folder of FOLDERS) {
    if (!existsSync(join(ROOT, folder))) continue; // not built yet
    const walk = (dir: string): void => {
      for (const entry of readdirSync(join(ROOT, dir), { withFileTypes: true })) {
        const path = `${dir}/${entry.name}`;
        if (entry.isDirectory()) walk(path);
        else if (/\.[cm]?[jt]s$/.test(entry.name) && !entry.name.endsWith(".d.ts")) files.push(path);
      }
    };
    walk(folder);
  }
  return files.filter((file) => file !== "tsup.config.ts");
}

const STATIC_IMPORT =
  /^\s*(?:import|export)\s[^;]*?\sfrom\s*["']([^"']+)["']|^\s*import\s*["']([^"']+)["']/gm;
const DYNAMIC_IMPORT = /\bimport\(\s*["']([^"']+)["']\s*\)/g;

/** The relative imports of `file`, resolved to paths from the root. */
function importsOf(file: string, pattern: RegExp): string[] {
  const text = readFileSync(join(ROOT, file), "utf8")
    .replace(/\/\*[\s\S]*?\*\//g, "") // JSDoc examples import the package, not files
    .replace(/^\s*\/\/.*$/gm, "");
  const found: string[] = [];
  for (const match of text.matchAll(pattern)) {
    const specifier = match[1] ?? match[2];
    if (!specifier.startsWith(".")) continue;
    found.push(normalize(relative(ROOT, join(ROOT, dirname(file), specifier))));
  }
  return found;
}

const files = sourceFiles();
const PLUGINS = files.filter(isPluginModule).map((file) => pluginOf(file)!);
const graph = new Map(files.map((file) => [file, importsOf(file, STATIC_IMPORT)]));
const dynamicGraph = new Map(files.map((file) => [file, importsOf(file, DYNAMIC_IMPORT)]));

/** The edges of `graph` that `rule` does not allow, as `from -> to`. */
function wrongEdges(graph: Map<string, string[]>, rule: (from: string, to: string) => boolean): string[] {
  return [...graph].flatMap(([from, targets]) =>
    targets.filter((to) => !rule(from, to)).map((to) => `${from} -> ${to}`)
  );
}

/** Each import cycle of `graph` found by a depth-first walk, as `a -> b -> a`. */
function cyclesOf(graph: Map<string, string[]>): string[] {
  const cycles: string[] = [];
  const state = new Map<string, "visiting" | "done">();
  const visit = (file: string, path: string[]): void => {
    if (state.get(file) === "done") return;
    if (state.get(file) === "visiting") {
      cycles.push([...path.slice(path.indexOf(file)), file].join(" -> "));
      return;
    }
    state.set(file, "visiting");
    for (const to of graph.get(file) ?? []) visit(to, [...path, file]);
    state.set(file, "done");
  };
  for (const file of graph.keys()) visit(file, []);
  return cycles;
}

describe("import directions", () => {
  it("every static import points down the layers", () => {
    assert.deepEqual(wrongEdges(graph, allowed), []);
  });

  it("core/ imports nothing outside core/, and no package, statically or with import()", () => {
    const outside: string[] = [];
    for (const file of files.filter(under("core"))) {
      const text = readFileSync(join(ROOT, file), "utf8").replace(/\/\*[\s\S]*?\*\//g, "");
      for (const match of [...text.matchAll(STATIC_IMPORT), ...text.matchAll(DYNAMIC_IMPORT)]) {
        const specifier = match[1] ?? match[2];
        if (!specifier.startsWith("./")) outside.push(`${file} -> ${specifier}`);
      }
    }
    assert.deepEqual(outside, []);
  });

  it("every dynamic import points down the layers too; only the registry loads plugins", () => {
    assert.deepEqual(wrongEdges(dynamicGraph, allowedDynamic), []);
  });

  it("no import cycle", () => {
    assert.deepEqual(cyclesOf(graph), []);
  });

  it("reads the tree it checks (a rule nobody can break is no rule)", () => {
    assert.ok(graph.get("app/application.ts")?.includes("flows/silent.ts"));
    assert.ok(graph.get("linux_broker.ts")?.includes("brokers/_linux_client.ts"));
    assert.ok(dynamicGraph.get("brokers/registry.ts")?.includes("brokers/linux.ts"));
    assert.deepEqual([...PLUGINS].sort(), ["linux", "msalruntime"]);
    // [from, to, may `from` import `to` statically, may it with a dynamic import()]
    const cases: [string, string, boolean, boolean][] = [
      ["app/application.ts", "core/cache.ts", true, true],
      ["core/cache.ts", "flows/grant.ts", false, false],
      ["flows/grant.ts", "app/application.ts", false, false],
      ["brokers/linux.ts", "flows/grant.ts", false, false],
      ["testing/authority.ts", "flows/grant.ts", false, false],
      ["testing/authority.ts", "mod.ts", true, true],
      ["samples/console_app.ts", "core/cache.ts", false, false],
      ["cli/main.ts", "flows/silent.ts", false, false],
      ["cli/run.ts", "cli/doctor.ts", true, true],
      // A plugin, and each of its private files, import their own private files, never another plugin's.
      ["brokers/linux.ts", "brokers/_linux_wire.ts", true, true],
      ["brokers/_linux_client.ts", "brokers/_linux_wire.ts", true, true],
      ["brokers/linux.ts", "brokers/_msalruntime_map.ts", false, false],
      ["brokers/_linux_wire.ts", "brokers/_msalruntime_map.ts", false, false],
      ["brokers/msalruntime.ts", "brokers/linux.ts", false, false],
      ["brokers/_linux_client.ts", "brokers/linux.ts", false, false],
      ["brokers/_shared.ts", "brokers/_linux_wire.ts", false, false], // a private file names its plugin
      // Only the registry loads a plugin, only dynamically; only linux_broker.ts re-exports private files.
      ["brokers/registry.ts", "brokers/msalruntime.ts", false, true],
      ["brokers/registry.ts", "brokers/_msalruntime_native.ts", false, false],
      ["app/application.ts", "brokers/linux.ts", false, false],
      ["mod.ts", "brokers/linux.ts", false, false],
      ["broker.ts", "brokers/_msalruntime_map.ts", false, false],
      ["linux_broker.ts", "brokers/_linux_client.ts", true, true],
      ["linux_broker.ts", "brokers/linux.ts", false, false],
      ["linux_broker.ts", "brokers/_msalruntime_map.ts", false, false],
    ];
    const wrong = cases.filter(([from, to, statically, dynamically]) =>
      allowed(from, to) !== statically || allowedDynamic(from, to) !== dynamically
    );
    assert.deepEqual(wrong, []);
    assert.deepEqual(
      wrongEdges(new Map([["core/cache.ts", ["core/http.ts", "app/application.ts"]]]), allowed),
      [
        "core/cache.ts -> app/application.ts",
      ],
    );
    const cyclic = new Map([["a.ts", ["b.ts"]], ["b.ts", ["c.ts"]], ["c.ts", ["b.ts"]], ["d.ts", ["a.ts"]]]);
    assert.deepEqual(cyclesOf(cyclic), ["b.ts -> c.ts -> b.ts"]);
  });
});
