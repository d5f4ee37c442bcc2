#!/usr/bin/env bash
# Make sure the browser tests have a Chromium to drive (called by `make test`).
#
#   1. CHROMIUM_PATH set: use that binary (it must be executable).
#   2. /usr/bin/chromium present (Debian's package): use it.
#   3. apt-get available and running as root: install Debian's chromium package.
#   4. Otherwise: download Playwright's own Chromium (needs internet).
#
# tests/browser/conftest.py looks in the same order, so whatever this script
# settles on is what the tests launch. PYTHON overrides the venv's interpreter.
# Pages are also shown in Traditional Chinese: without a CJK font, screenshots
# show empty boxes, so Debian's Noto CJK fonts are installed when missing.
set -euo pipefail

cd "$(dirname "$0")/../.."
PYTHON="${PYTHON:-.venv/bin/python}"
SYSTEM_CHROMIUM=/usr/bin/chromium

say() { echo "install_browser: $*"; }
can_apt() { command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" -eq 0 ]; }

if command -v fc-list >/dev/null 2>&1 && [ -n "$(fc-list :lang=zh-tw)" ]; then
    say "a Traditional Chinese font is installed."
elif can_apt; then
    say "installing Debian's fonts-noto-cjk (Traditional Chinese pages)..."
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq fonts-noto-cjk
else
    say "no Traditional Chinese font and no apt-get as root: Chinese screenshots will show boxes."
fi

if [ -n "${CHROMIUM_PATH:-}" ]; then
    if [ -f "$CHROMIUM_PATH" ] && [ -x "$CHROMIUM_PATH" ]; then
        say "using CHROMIUM_PATH=$CHROMIUM_PATH; nothing to install."
        exit 0
    fi
    say "CHROMIUM_PATH=$CHROMIUM_PATH is not an executable file; fix or unset it." >&2
    exit 1
fi

if [ -x "$SYSTEM_CHROMIUM" ]; then
    say "using $SYSTEM_CHROMIUM (already installed); nothing to install."
    exit 0
fi

if can_apt; then
    say "installing Debian's chromium package with apt-get..."
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium
    say "installed $SYSTEM_CHROMIUM."
    exit 0
fi

say "no system Chromium and no apt-get as root: downloading Playwright's Chromium..."
"$PYTHON" -m playwright install chromium
say "installed Playwright's Chromium (in Playwright's cache)."
