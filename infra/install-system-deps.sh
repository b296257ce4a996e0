#!/usr/bin/env bash
# Installs the Debian tools the tests use, only those that are missing:
#   kcat          independent librdkafka client (interop proof; broker readiness check)
#   python3-avro  Apache's own Avro implementation for Debian's /usr/bin/python3 (interop proof)
#   ffmpeg        video frame extraction (hasher)
#   prometheus    for promtool (metric and rule checks); its daemon is never started by us
#   libjpeg62-turbo-dev  headers of the libjpeg-turbo that ImageMagick (the PDQ reference's
#                 decoder) uses; the hashing package's native exact-mode JPEG decoder builds on it
#                 with the machine's C compiler (packages/hashing/native)
# Non-interactive; uses sudo only when not root; no `apt-get update` when nothing is missing.
# Java 17+, Maven, curl, a C compiler (gcc) and Node 20 are expected on the machine already (see README).
set -euo pipefail

PACKAGES=(kcat python3-avro ffmpeg prometheus libjpeg62-turbo-dev)

installed() { [[ "$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null)" == "install ok installed" ]]; }

if ! command -v dpkg-query >/dev/null 2>&1; then
  echo "[deps] not a Debian-based system: install ${PACKAGES[*]} yourself" >&2
  exit 1
fi

missing=()
for pkg in "${PACKAGES[@]}"; do installed "$pkg" || missing+=("$pkg"); done
if ((${#missing[@]} == 0)); then
  echo "[deps] all present: ${PACKAGES[*]}" >&2
  exit 0
fi

SUDO=()
if [[ "$(id -u)" != 0 ]]; then
  command -v sudo >/dev/null 2>&1 || { echo "[deps] need root or sudo to install: ${missing[*]}" >&2; exit 1; }
  SUDO=(sudo -n)
fi

export DEBIAN_FRONTEND=noninteractive
# Wait for another apt/dpkg run (several sessions may share a machine) instead of failing.
APT=(apt-get -q -y -o DPkg::Lock::Timeout=600 -o Dpkg::Use-Pty=0)
echo "[deps] installing: ${missing[*]}" >&2
"${SUDO[@]}" "${APT[@]}" update >/dev/null
# No recommends: prometheus would pull node-exporter, ffmpeg a desktop's worth of extras.
"${SUDO[@]}" "${APT[@]}" install --no-install-recommends "${missing[@]}" >/dev/null

for pkg in "${missing[@]}"; do installed "$pkg" || { echo "[deps] $pkg failed to install" >&2; exit 1; }; done
echo "[deps] installed: ${missing[*]}" >&2
