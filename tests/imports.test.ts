// The layers of the library, checked on every import: dependencies point one way and form no cycle.
// The rules are written once, here (DESIGN.md "Layout" says the same in prose):
//
//   entries (the files deno.json exports)  ->  app/  ->  flows/, brokers/registry.ts  ->  core/
//   brokers/broker.ts (the plugin contract)  ->  core/
//   a plugin in brokers/ (any other file)    ->  brokers/broker.ts, core/, brokers/_*.ts (its private parts)
//   testing/, cli/                           ->  the public entries, and their own files
//   persistence/                             ->  the public entries but ./testing, and its own files
//   samples/                                  ->  the public entries, and their own files: written the
//                                                 way an app uses the package
//   bench/                                    ->  anything in the library and tests/_*.ts: it measures
//                                                 internals (the cache index, a plugin's wire); nothing
//                                                 imports bench/
//
// Only `brokers/registry.ts` may load a plugin, and only with a dynamic `import()`. A folder that does
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
const isPlugin = (file: string): boolean =>
  under("brokers")(file) && !["brokers/broker.ts", "brokers/registry.ts"].includes(file);

/** What each kind of file may import statically (besides packages). */
function allowed(from: string, to: string): boolean {
  const library = ["app", "core", "flows", "brokers"].some((folder) => under(folder)(to)) || isEntry(to);
  if (under("bench")(from)) return under("bench")(to) || library || /^tests\/_[^/]+$/.test(to);
  const own = (folder: string) => under(folder)(from) && under(folder)(to);
  if (under("core")(from)) return under("core")(to);
  if (from === "brokers/broker.ts") return under("core")(to);
  if (from === "brokers/registry.ts") return to === "brokers/broker.ts" || under("core")(to);
  if (isPlugin(from)) {
    return to === "brokers/broker.ts" || under("core")(to) || /^brokers\/_[^/]+$/.test(to);
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
  // A top-level entry re-exports the layers below; never the user-side folders of another entry.
  if (isEntry(from)) return ["app", "core", "flows", "brokers"].some((folder) => under(folder)(to));
  return false;
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
const graph = new Map(files.map((file) => [file, importsOf(file, STATIC_IMPORT)]));

describe("import directions", () => {
  it("every static import points down the layers", () => {
    const wrong: string[] = [];
    for (const [from, targets] of graph) {
      for (const to of targets) if (!allowed(from, to)) wrong.push(`${from} -> ${to}`);
    }
    assert.deepEqual(wrong, []);
  });

  it("core/ imports nothing outside core/, and no package", () => {
    const outside: string[] = [];
    for (const file of files.filter(under("core"))) {
      const text = readFileSync(join(ROOT, file), "utf8").replace(/\/\*[\s\S]*?\*\//g, "");
      for (const match of text.matchAll(STATIC_IMPORT)) {
        const specifier = match[1] ?? match[2];
        if (!specifier.startsWith("./")) outside.push(`${file} -> ${specifier}`);
      }
    }
    assert.deepEqual(outside, []);
  });

  it("only the registry loads plugins, and only on demand", () => {
    const loads: string[] = [];
    for (const file of files) {
      for (const to of importsOf(file, DYNAMIC_IMPORT)) {
        if (isPlugin(to) && file !== "brokers/registry.ts") loads.push(`${file} -> ${to}`);
      }
      for (const to of graph.get(file) ?? []) {
        if (isPlugin(to) && !isPlugin(file) && !isEntry(file) && !under("bench")(file)) {
          loads.push(`${file} -> ${to} (static)`);
        }
      }
    }
    assert.deepEqual(loads, []);
  });

  it("no import cycle", () => {
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
    for (const file of files) visit(file, []);
    assert.deepEqual(cycles, []);
  });

  it("reads the tree it checks (a rule nobody can break is no rule)", () => {
    assert.ok(graph.get("app/application.ts")?.includes("flows/silent.ts"));
    assert.ok(allowed("app/application.ts", "core/cache.ts"));
    assert.ok(!allowed("core/cache.ts", "flows/grant.ts"));
    assert.ok(!allowed("flows/grant.ts", "app/application.ts"));
    assert.ok(!allowed("brokers/linux.ts", "flows/grant.ts"));
    assert.ok(!allowed("testing/authority.ts", "flows/grant.ts"));
    assert.ok(!allowed("samples/console_app.ts", "core/cache.ts"));
    assert.ok(!allowed("cli/main.ts", "flows/silent.ts"));
    assert.ok(allowed("testing/authority.ts", "mod.ts"));
  });
});
