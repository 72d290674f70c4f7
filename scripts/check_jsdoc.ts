/**
 * Fails when a public function, class or interface method, or constructor lacks an `@param` for one of
 * its parameters or an `@returns` for a value it returns: the part of JSDoc `deno doc --lint` does not
 * check.
 *
 * Reads `deno doc --json` of the given entries (default: every public entry, deno.json's `exports`) and
 * lists each gap as `file:line name: what is missing`. Exempt: private and `#` members, getters and setters,
 * `@deprecated` aliases, members declared outside the project, and `void`, `Promise<void>`, `never` and
 * `asserts` returns. Overloaded functions and methods are checked on each overload (what callers and
 * the docs see), not on the implementation signature. An `@param` naming no parameter is reported too
 * (a renamed parameter's stale tag).
 *
 * Run: `deno run --allow-read --allow-run scripts/check_jsdoc.ts [entry.ts ...]`
 *
 * @module
 */

/** The part of a `deno doc --json` type this check reads. */
interface TsType {
  kind: string;
  repr?: string;
  value?: unknown;
}

/** A parameter as `deno doc --json` describes it. */
interface Param {
  kind: "identifier" | "assign" | "rest" | "object" | "array";
  name?: string;
  left?: Param;
  arg?: Param;
}

/** A JSDoc tag as `deno doc --json` describes it. */
interface Tag {
  kind: string;
  name?: string;
}

/** A declaration's place, `line` counted from 0 by `deno doc --json`. */
interface Location {
  filename: string;
  line: number;
}

/** A callable signature: a function, a method's `functionDef` or a constructor. */
interface Signature {
  params: Param[];
  returnType?: TsType | null;
}

/** One documented callable to check. */
interface Callable {
  name: string;
  location: Location;
  tags: Tag[];
  signature: Signature;
  isConstructor: boolean;
}

// deno-lint-ignore no-explicit-any
type Json = any;

const root = new URL("../", import.meta.url).href;
const entries: string[] = Deno.args.length > 0
  ? Deno.args
  : Object.values(JSON.parse(await Deno.readTextFile(new URL("deno.json", root))).exports);

const output = await new Deno.Command(Deno.execPath(), {
  args: ["doc", "--json", ...entries],
  cwd: new URL(root),
  stdout: "piped",
  stderr: "piped",
}).output();
if (!output.success) {
  console.error(new TextDecoder().decode(output.stderr));
  Deno.exit(1);
}
const doc: Json = JSON.parse(new TextDecoder().decode(output.stdout));

/** Every parameter name a JSDoc `@param` may document: `options` for `options = {}`, `steps` for `...steps`. */
function paramName(param: Param): string | undefined {
  if (param.kind === "identifier") return param.name;
  if (param.kind === "assign" && param.left) return paramName(param.left);
  if (param.kind === "rest" && param.arg) return paramName(param.arg);
  return undefined; // a destructured parameter: any @param name documents it
}

/** Whether a return type needs no `@returns`: nothing is returned. */
function returnsNothing(type: TsType | null | undefined, isConstructor: boolean): boolean {
  if (isConstructor) return true;
  if (!type) return false;
  if (type.kind === "keyword") return type.value === "void" || type.value === "never";
  if (type.kind === "typePredicate") return (type.value as { asserts?: boolean }).asserts === true;
  if (type.kind === "typeRef") {
    const ref = type.value as { typeName: string; typeParams?: TsType[] };
    return ref.typeName === "Promise" && ref.typeParams?.length === 1 &&
      ref.typeParams[0].kind === "keyword" && ref.typeParams[0].value === "void";
  }
  return false;
}

/** The gaps in one callable's JSDoc, each a sentence. */
function gaps(callable: Callable): string[] {
  const found: string[] = [];
  const documented = callable.tags.filter((tag) => tag.kind === "param").map((tag) => tag.name ?? "");
  const names = callable.signature.params.map(paramName);
  const named = new Set(names.filter((name): name is string => name !== undefined));
  const destructured = names.length - named.size;
  for (const name of named) {
    if (!documented.includes(name)) found.push(`no @param ${name}`);
  }
  const stale = documented.filter((name) => !named.has(name.split(".")[0]));
  if (stale.length > destructured) found.push(`@param ${stale.join(", ")} names no parameter`);
  const hasReturns = callable.tags.some((tag) => tag.kind === "return");
  if (!hasReturns && !returnsNothing(callable.signature.returnType, callable.isConstructor)) {
    found.push(`no @returns (returns ${callable.signature.returnType?.repr || "a value"})`);
  }
  return found;
}

/** Whether a declaration is written in this project (not in node_modules or a remote module). */
function isProjectFile(location: Location): boolean {
  return location.filename.startsWith(root) && !location.filename.includes("/node_modules/");
}

/**
 * Whether `name` has overload signatures among `members` (function declarations or class methods): its
 * implementation signature is then hidden from callers, and not checked.
 */
function isOverloaded(members: Json[], name: string): boolean {
  return members.some((member) =>
    (member.kind === "function" || member.kind === "method") && (member.name ?? name) === name &&
    (member.def ?? member.functionDef).hasBody !== true
  );
}

const isDeprecated = (tags: Tag[]): boolean => tags.some((tag) => tag.kind === "deprecated");

const callables: Callable[] = [];
for (const node of Object.values(doc.nodes) as Json[]) {
  for (const symbol of node.symbols ?? []) {
    for (const declaration of symbol.declarations ?? []) {
      const def = declaration.def;
      if (isDeprecated(declaration.jsDoc?.tags ?? [])) continue;
      if (
        declaration.kind === "function" && !(def.hasBody && isOverloaded(symbol.declarations, symbol.name))
      ) {
        callables.push({
          name: symbol.name,
          location: declaration.location,
          tags: declaration.jsDoc?.tags ?? [],
          signature: def,
          isConstructor: false,
        });
      }
      if (declaration.kind === "class") {
        for (const ctor of def.constructors ?? []) {
          if (ctor.accessibility === "private" || ctor.accessibility === "protected") continue;
          callables.push({
            name: `${symbol.name} constructor`,
            location: ctor.location,
            tags: ctor.jsDoc?.tags ?? [],
            signature: ctor,
            isConstructor: true,
          });
        }
      }
      // Class methods, and an interface's (a contract such as Broker or CachePlugin: documented for
      // those who implement it and those who call it).
      if (declaration.kind !== "class" && declaration.kind !== "interface") continue;
      for (const method of def.methods ?? []) {
        const signature = method.functionDef ?? method; // an interface's method is its own signature
        if (method.kind === "getter" || method.kind === "setter" || method.name.startsWith("#")) continue;
        if (method.accessibility === "private" || method.accessibility === "protected") continue;
        if (signature.hasBody && isOverloaded(def.methods, method.name)) continue;
        if (isDeprecated(method.jsDoc?.tags ?? [])) continue;
        callables.push({
          name: `${symbol.name}${method.isStatic ? "." : "#"}${method.name}`,
          location: method.location,
          tags: method.jsDoc?.tags ?? [],
          signature,
          isConstructor: false,
        });
      }
    }
  }
}

// An entry re-exporting another's symbol lists it twice: report each declaration once.
const seen = new Set<string>();
const problems: string[] = [];
for (const callable of callables) {
  const where = `${callable.location.filename.slice(root.length)}:${callable.location.line + 1}`;
  const key = `${where} ${callable.name}`;
  if (!isProjectFile(callable.location) || seen.has(key)) continue;
  seen.add(key);
  for (const gap of gaps(callable)) problems.push(`${where} ${callable.name}: ${gap}`);
}

if (problems.length > 0) {
  console.error(problems.sort((a, b) => a.localeCompare(b, "en", { numeric: true })).join("\n"));
  console.error(`\n${problems.length} JSDoc gap(s) in ${entries.join(" ")}.`);
  Deno.exit(1);
}
console.log(`JSDoc @param/@returns complete: ${seen.size} functions, methods and constructors.`);
