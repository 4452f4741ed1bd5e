#!/usr/bin/env bash
# Installs the system programs the tests start for real, where they are missing (Debian/Ubuntu apt).
# Each entry is "program:debian-package". A test never skips because one is absent: this script runs
# first in the README's test command, and fails loudly if it cannot install what is missing.
set -euo pipefail
NEEDED=(
  chromium:chromium  # the studio's browser tests drive Debian's Chromium (Playwright cannot download its own here)
  redis-server:redis-server  # the voice store's tests start a real Redis (tests/helpers/redis_server.py)
)
missing=()
for entry in "${NEEDED[@]}"; do
  command -v "${entry%%:*}" >/dev/null 2>&1 || missing+=("${entry#*:}")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if ! command -v apt-get >/dev/null 2>&1; then
  echo "tests/system-deps.sh: install these packages first: ${missing[*]}" >&2; exit 1
fi
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
echo "tests/system-deps.sh: installing ${missing[*]}" >&2
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
