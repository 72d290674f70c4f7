#!/usr/bin/env bash
# Every check the project has, in the order a failure is cheapest to find. Exits non-zero on any failure.
set -euo pipefail
cd "$(dirname "$0")/.."

deno="node_modules/.bin/deno"
bun="node_modules/.bin/bun"
step() { printf '\n=== %s\n' "$*"; }

step "deno fmt --check"
"$deno" fmt --check

step "deno lint"
"$deno" lint

step "deno doc --lint (every export documented, no private types in the public API)"
"$deno" doc --lint -q mod.ts broker.ts linux_broker.ts persistence/mod.ts testing/mod.ts  # -q: hides the noise about @types/node, not lint errors

step "deno check (sources, and every ts code block of the README)"
"$deno" check mod.ts broker.ts linux_broker.ts persistence/mod.ts testing/mod.ts cli/ tests/ bench/ samples/
"$deno" check --doc-only README.md

step "tests under Deno"
"$deno" test -A tests/

step "tests under Bun"
"$bun" test tests/

step "tests under Node"
node --import tsx --test tests/*.test.ts

step "deno publish --dry-run (JSR, no slow types)"
"$deno" publish --dry-run --allow-dirty

step "tsup build + smoke test of dist/ under plain Node"
npx tsup --silent
node --test scripts/smoke_dist.test.mjs

printf '\nAll checks passed.\n'
