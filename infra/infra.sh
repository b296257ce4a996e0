#!/usr/bin/env bash
# Placeholder until the infra issue lands.
echo "infra not implemented yet" >&2
exit 1
