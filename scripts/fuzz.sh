#!/usr/bin/env bash
# The full wire fuzz: 1,000,000 random and mutated frames through every checked
# parser (the test suite runs 20,000). FUZZ_COUNT and FUZZ_SEED override;
# OUT_DIR picks the build directory (default dist).
set -euo pipefail
cd "$(dirname "$0")/.."
out="${OUT_DIR:-dist}"
npx tsc -p tsconfig.json --outDir "$out"
FUZZ_COUNT="${FUZZ_COUNT:-1000000}" node --test --test-concurrency=1 "$out/test/wire/fuzz.test.js"
