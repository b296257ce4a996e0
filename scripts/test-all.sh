#!/usr/bin/env bash
# The whole test suite from a fresh clone: system tools, dependencies, real Kafka and schema
# registry (unless KAFKA_BROKERS and SCHEMA_REGISTRY_URL point at running ones), then build,
# lint, typecheck and every test. Stops the infrastructure it started.
set -euo pipefail
cd "$(dirname "$0")/.."
export TURBO_TELEMETRY_DISABLED=1 DO_NOT_TRACK=1

bash infra/install-system-deps.sh
npm ci --no-audit --no-fund

started_infra=0
if [[ -z "${KAFKA_BROKERS:-}" || -z "${SCHEMA_REGISTRY_URL:-}" ]]; then
  if ! bash infra/infra.sh status >/dev/null 2>&1; then started_infra=1; fi
  bash infra/infra.sh up
  export KAFKA_BROKERS=127.0.0.1:9092 SCHEMA_REGISTRY_URL=http://127.0.0.1:8081/apis/ccompat/v7
fi
cleanup() { if [[ $started_infra == 1 ]]; then bash infra/infra.sh down || true; fi; }
trap cleanup EXIT

npx turbo run build lint typecheck --output-logs=errors-only
npx turbo run test --concurrency=2
