#!/usr/bin/env bash
# The whole test suite on a fresh or warm machine: installs what is missing, type-checks, brings up the real
# local stack, runs unit and integration tests in one node:test run, and stops the stack if it started it.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
scripts/bootstrap.sh --engine

echo "[test] type-checking (tsc --noEmit)"
npx tsc --noEmit -p .

echo "[test] lint: ESLint, Prettier, the folders' import order (scripts/layers.ts)"
npx eslint .
npx prettier --check . --log-level warn
node --import tsx scripts/layers.ts

# every password the suite gives the service is recorded here; test/secrets.test.ts then looks for each one in the
# logs, results and reports the suite wrote (from this moment on)
CAPACITY_SECRETS_RECORD=$(mktemp)
CAPACITY_SUITE_STARTED=$(date +%s)
export CAPACITY_SECRETS_RECORD CAPACITY_SUITE_STARTED
cleanup() { rm -f "$CAPACITY_SECRETS_RECORD"; }
trap cleanup EXIT

was_running=0
./capacity stack status >/dev/null 2>&1 && was_running=1
if [[ $was_running -eq 0 ]]; then
  echo "[test] bringing up the local stack (first run installs it)"
  ./capacity stack up >/dev/null
  trap 'cleanup; ./capacity stack down >/dev/null 2>&1 || true' EXIT
fi

mapfile -t files < <(find core hq k8s results-dir targets cli runner stack generators scenarios topology collectors reports docker gates bench test -name '*.test.ts' 2>/dev/null | sort)
echo "[test] ${#files[@]} test files"
tap=$(mktemp)
status=0
node --import tsx --test --test-concurrency=1 --test-reporter=spec --test-reporter-destination=stdout \
  --test-reporter=tap --test-reporter-destination="$tap" "${files[@]}" || status=$?
passed=$(sed -n 's/^# pass //p' "$tap" | tail -1)
failed=$(sed -n 's/^# fail //p' "$tap" | tail -1)
skipped=$(sed -n 's/^# skipped //p' "$tap" | tail -1)
# a failing before() hook leaves its tests "cancelled", not "failed": they count as failures here
cancelled=$(sed -n 's/^# cancelled //p' "$tap" | tail -1)
rm -f "$tap"
cancelled=${cancelled:-0}
failed=$(( ${failed:-0} + cancelled ))
note=""; [ "$cancelled" -gt 0 ] && note=" (${cancelled} cancelled)"
echo "tests: ${passed:-0} passed, ${failed} failed${note}, ${skipped:-0} skipped"
exit $status
