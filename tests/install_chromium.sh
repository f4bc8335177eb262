#!/usr/bin/env bash
# Installs Debian's headless-capable Chromium for the browser tests (reports, dbt docs), once.
# Called by tests/browser.py when /usr/bin/chromium is missing (pytest-playwright then drives it by that path;
# no browser is downloaded); needs root (or passwordless sudo).
set -euo pipefail

if command -v chromium >/dev/null 2>&1; then
    exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
        SUDO="sudo -n"
    else
        echo "install_chromium.sh: not root and no passwordless sudo; cannot install chromium" >&2
        exit 1
    fi
fi

export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends chromium fonts-noto-cjk >/dev/null
command -v chromium
