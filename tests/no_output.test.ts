// The library never prints: it logs through the app's logger (DESIGN.md, "Public API"). This test reads
// the library's source folders and fails on any console call or direct write to stdout/stderr outside
// comments (JSDoc examples may show an app printing its own results).
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { dirname, join, normalize } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = normalize(join(dirname(fileURLToPath(import.meta.url)), ".."));
const LIBRARY = ["app", "core", "flows", "brokers", "persistence"];
const PRINTS =
  /\bconsole\s*\.\s*\w+\s*\(|\b(?:process|Deno)\s*\.\s*std(?:out|err)\b|\bBun\s*\.\s*std(?:out|err)\b/;

function libraryFiles(): string[] {
  const files: string[] = [];
  const walk = (dir: string): void => {
    for (const entry of readdirSync(join(ROOT, dir), { withFileTypes: true })) {
      const path = `${dir}/${entry.name}`;
      if (entry.isDirectory()) walk(path);
      else if (entry.name.endsWith(".ts")) files.push(path);
    }
  };
  for (const folder of LIBRARY) if (existsSync(join(ROOT, folder))) walk(folder);
  return files;
}

/** Source lines that print, as `file:line: text`, with comments blanked (line numbers kept). */
function printingLines(file: string, text: string): string[] {
  const code = text
    .replace(/\/\*[\s\S]*?\*\//g, (comment) => comment.replace(/[^\n]/g, " "))
    .replace(/(^|[^:"'`])\/\/.*$/gm, "$1");
  return code.split("\n").flatMap((line, i) => PRINTS.test(line) ? [`${file}:${i + 1}: ${line.trim()}`] : []);
}

describe("the library never prints", () => {
  it("has no console call and no stdout/stderr write in app/, core/, flows/, brokers/ or persistence/", () => {
    const files = libraryFiles();
    assert.ok(files.length > 50, `expected the library's sources, found ${files.length} files`);
    const found = files.flatMap((file) => printingLines(file, readFileSync(join(ROOT, file), "utf8")));
    assert.deepEqual(found, []);
  });

  it("would catch a print (the rule can fail)", () => {
    assert.equal(printingLines("x.ts", 'const a = 1;\nconsole.warn("x");').length, 1);
    assert.equal(printingLines("x.ts", "process.stderr.write(s);").length, 1);
    assert.equal(
      printingLines("x.ts", "/** @example\n * console.log(token)\n */\n// console.log(1)").length,
      0,
    );
  });
});
