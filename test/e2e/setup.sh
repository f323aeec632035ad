#!/bin/sh
# Installs what the browser suites need: Debian's Chromium (driven by playwright-core through its
# executablePath). Idempotent; takes the heavy-job lock for apt-get.
set -eu
if [ -x /usr/lib/chromium/chromium ] || [ -x /usr/bin/chromium ]; then
  echo "chromium: $(/usr/lib/chromium/chromium --version 2>/dev/null || /usr/bin/chromium --version 2>/dev/null)"
  exit 0
fi
if [ "$(id -u)" != 0 ]; then
  echo "test/e2e/setup.sh: Chromium is missing; run as root (apt-get install -y chromium)" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
flock /tmp/baton-heavy.lock sh -c 'apt-get update -q && apt-get install -y -q --no-install-recommends chromium'
/usr/lib/chromium/chromium --version
