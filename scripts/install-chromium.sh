#!/usr/bin/env bash
# The browser tests drive a system Chromium (Playwright never downloads its own browser here).
# Installs Debian's package when no Chromium is found; prints what to do where it cannot.
set -uo pipefail
for candidate in "${CHROMIUM_PATH:-}" chromium chromium-browser google-chrome; do
  [ -n "$candidate" ] && command -v "$candidate" >/dev/null 2>&1 && exit 0
done
if command -v apt-get >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ]; then sudo=""; elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then sudo="sudo -n"; else sudo=none; fi
  if [ "$sudo" != none ]; then
    echo "installing Debian's chromium for the browser tests"
    export DEBIAN_FRONTEND=noninteractive
    $sudo apt-get install -y -q chromium >/dev/null 2>&1 \
      || { $sudo apt-get update -q >/dev/null 2>&1 && $sudo apt-get install -y -q chromium >/dev/null 2>&1; } \
      && exit 0
  fi
fi
echo "No Chromium found: the browser tests will be skipped (set CHROMIUM_PATH, or install the" \
  "'chromium' package). CI sets REQUIRE_BROWSER=1, which turns the skip into a failure." >&2
exit 0
