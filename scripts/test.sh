#!/usr/bin/env bash
# Every check the project has, in the order a failure is cheapest to find. Exits non-zero on any failure.
set -euo pipefail
cd "$(dirname "$0")/.."

deno="node_modules/.bin/deno"
bun="node_modules/.bin/bun"
step() { printf '\n=== %s\n' "$*"; }
# The public entry points, read from deno.json's exports: one list for every command below.
read -ra entries <<<"$(node -p "Object.values(require('./deno.json').exports).join(' ')")"
log="$(mktemp -d)"
trap 'rm -rf "$log"' EXIT

# Runs a test command, keeping its output. Under CI=true a skipped test fails the run: a skip is not a
# test. Each runner reports skips its own way: Deno "<name> ... ignored" per test or step, Bun "N skip",
# node:test "# skipped N" (and todo tests the same).
run_tests() {
  local name="$1"
  shift
  "$@" 2>&1 | tee "$log/$name"
  local plain skipped
  plain="$(sed 's/\x1b\[[0-9;]*m//g' "$log/$name")"
  skipped="$(
    {
      grep -Ec ' \.\.\. ignored( |$)' <<<"$plain" || true
      grep -Eo '^ *[0-9]+ (skip|todo)$' <<<"$plain" | grep -Eo '[0-9]+' || true
      grep -Eo '^# (skipped|todo) [0-9]+' <<<"$plain" | grep -Eo '[0-9]+' || true
    } | awk '{ n += $1 } END { print n + 0 }'
  )"
  if [ "$skipped" -gt 0 ]; then
    if [ "${CI:-}" = "true" ]; then
      printf '\n%s: %s test(s) skipped, ignored or todo; under CI=true that fails the run.\n' "$name" "$skipped" >&2
      return 1
    fi
    printf '\nWARNING %s: %s test(s) skipped (a failure under CI=true).\n' "$name" "$skipped" >&2
  fi
}

step "deno fmt --check"
"$deno" fmt --check

step "deno lint"
"$deno" lint

step "deno doc --lint (every export documented, no private types in the public API)"
"$deno" doc --lint -q "${entries[@]}"  # -q: hides the noise about @types/node, not lint errors

step "JSDoc @param for every parameter, @returns for every value returned (public functions and methods; doc --lint misses these)"
"$deno" run --allow-read --allow-run scripts/check_jsdoc.ts

step "deno check (sources, every ts code block of the README and of the JSDoc)"
"$deno" check "${entries[@]}" cli/ tests/ bench/ samples/ scripts/check_jsdoc.ts
"$deno" check --doc-only README.md
"$deno" check --doc "${entries[@]}" app/ core/ flows/ brokers/ testing/ persistence/ cli/

step "tests under Deno"
run_tests deno "$deno" test -A tests/

step "tests under Bun"
run_tests bun "$bun" test --timeout=60000 tests/  # Bun alone defaults to 5 s per test and hook; Deno and Node have no default

step "tests under Node"
run_tests node node --import tsx --test tests/*.test.ts

step "deno publish --dry-run (JSR, no slow types)"
"$deno" publish --dry-run --allow-dirty

step "tsup build + smoke test of dist/ under plain Node"
npx tsup --silent
node --test scripts/smoke_dist.test.mjs

printf '\nAll checks passed.\n'
