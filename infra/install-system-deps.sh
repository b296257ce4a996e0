#!/usr/bin/env bash
# Installs the Debian tools the tests use (placeholder until the infra issue lands).
set -euo pipefail
