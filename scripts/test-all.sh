#!/usr/bin/env bash
# The whole test suite from a fresh clone (`npm run test:all`, and CI through .ci/run):
#   1. Debian tools the tests use (kcat, python3-avro, ffmpeg, prometheus, libjpeg62-turbo-dev), only if missing
#   2. npm ci (skip with SAFEGUARD_SKIP_INSTALL=1 in a tree whose node_modules others share)
#   3. real Kafka + schema registry via infra/infra.sh, unless KAFKA_BROKERS and
#      SCHEMA_REGISTRY_URL point at running ones (or SAFEGUARD_TEST_INFRA=testcontainers
#      leaves it to the jest global setup)
#   4. build, lint, typecheck; then every package's tests (unit + integration)
#   5. stops the infrastructure if this script started it; prints per-step timings and a
#      closing "N passed, N failed" line summed over every jest run.
set -euo pipefail
cd "$(dirname "$0")/.."
export TURBO_TELEMETRY_DISABLED=1 DO_NOT_TRACK=1 NO_UPDATE_NOTIFIER=1 npm_config_fund=false npm_config_audit=false
# The hashing package's native JPEG decoder must build here and be tested (not silently replaced
# by the sharp path): see packages/hashing/native/build.js. `off` tests the sharp-only setup.
export SAFEGUARD_NATIVE_JPEG="${SAFEGUARD_NATIVE_JPEG:-required}"

BUDGET_S=1200 # the suite must stay under 20 minutes on two cores
START=$SECONDS
LOG_DIR=".cache/test-all"
mkdir -p "$LOG_DIR"
TEST_LOG="$LOG_DIR/test.log"
: >"$TEST_LOG"
declare -a TIMINGS=()
started_infra=0
current_step=""

step() {
  local name="$1"; shift
  local t0=$SECONDS
  current_step="$name"
  printf '\n[test-all] === %s\n' "$name"
  "$@"
  TIMINGS+=("$(printf '%-28s %5ds' "$name" $((SECONDS - t0)))")
  current_step=""
}

# Sums jest's "Tests: 1 failed, 2 skipped, 9 passed, 12 total" lines (one per jest run,
# prefixed by turbo) into one closing line.
test_summary() {
  sed 's/\x1b\[[0-9;]*m//g' "$TEST_LOG" | grep -E 'Tests:[[:space:]]+[0-9]' | awk '
    { for (i = 2; i <= NF; i++) {
        w = $i; sub(/,$/, "", w)
        if (w == "passed") p += $(i - 1)
        else if (w == "failed") f += $(i - 1)
        else if (w == "skipped" || w == "todo") s += $(i - 1)
    } }
    END { printf "%d %d %d\n", p, f, s }' | {
    read -r passed failed skipped
    # A suite that cannot even load (syntax error, missing fixture) has no "Tests:" count: count it as one failure.
    local broken
    broken="$(sed 's/\x1b\[[0-9;]*m//g' "$TEST_LOG" | grep -c 'Test suite failed to run' || true)"
    echo "$passed passed, $((failed + broken)) failed, $skipped skipped"
  }
}

finish() {
  local rc=$?
  set +e
  if [[ -n "$current_step" ]]; then
    TIMINGS+=("$(printf '%-28s %5s' "$current_step" 'FAILED')")
  fi
  if [[ $started_infra == 1 ]]; then
    printf '\n[test-all] === stopping the infrastructure this run started\n'
    bash infra/infra.sh down
  fi
  printf '\n[test-all] timings (2 cores, budget %ds):\n' "$BUDGET_S"
  printf '  %s\n' "${TIMINGS[@]}"
  printf '  %-28s %5ds\n' "total" $((SECONDS - START))
  if ((SECONDS - START > BUDGET_S)); then
    echo "[test-all] WARNING: the suite took longer than its ${BUDGET_S}s budget"
  fi
  if [[ -s "$TEST_LOG" ]]; then
    echo "[test-all] full test output: $TEST_LOG"
    echo "tests: $(test_summary)"
  fi
  exit "$rc"
}
trap finish EXIT

step "system tools" bash infra/install-system-deps.sh

if [[ "${SAFEGUARD_SKIP_INSTALL:-0}" == 1 ]]; then
  echo "[test-all] SAFEGUARD_SKIP_INSTALL=1: using the installed node_modules"
else
  step "npm ci" npm ci --no-audit --no-fund
fi

infra_up() {
  if [[ -n "${KAFKA_BROKERS:-}" && -n "${SCHEMA_REGISTRY_URL:-}" ]]; then
    echo "[test-all] using the given KAFKA_BROKERS=$KAFKA_BROKERS SCHEMA_REGISTRY_URL=$SCHEMA_REGISTRY_URL"
    return
  fi
  if [[ "${SAFEGUARD_TEST_INFRA:-}" == testcontainers ]]; then
    echo "[test-all] SAFEGUARD_TEST_INFRA=testcontainers: each jest run's global setup starts containers"
    return
  fi
  # Stop it at the end only if neither component was answering before (never stop what others run).
  local before
  before="$(bash infra/infra.sh status 2>/dev/null || true)"
  if ! grep -q ' up ' <<<"$before"; then started_infra=1; fi
  bash infra/infra.sh up
  eval "$(bash infra/infra.sh env)"
  export KAFKA_BROKERS SCHEMA_REGISTRY_URL
}
step "kafka + schema registry" infra_up

step "build, lint, typecheck" npx turbo run build lint typecheck --output-logs=errors-only

run_tests() {
  # Two jest processes at a time (one per core); each package's jest uses one worker.
  # --continue: every package's tests run and report, even after one fails.
  npx turbo run test --concurrency=2 --continue 2>&1 | tee -a "$TEST_LOG"
}
step "tests" run_tests
