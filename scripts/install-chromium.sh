#!/usr/bin/env bash
# Installs Debian's chromium + chromium-driver for the browser tests (tests marked `browser`).
# Idempotent and fast when already installed; `make test` calls it. Needs root (or sudo) and apt;
# without them it only warns, so local runs skip the browser tests instead of failing to start.
set -euo pipefail
if [[ -x /usr/bin/chromium && -x /usr/bin/chromedriver ]]; then
  exit 0
fi
if ! command -v apt-get >/dev/null; then
  echo "install-chromium: no apt-get; browser tests will skip (and fail on CI)" >&2
  exit 0
fi
SUDO=""
if [[ $(id -u) -ne 0 ]]; then
  if command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
    SUDO="sudo -n"
  else
    echo "install-chromium: not root and no sudo; browser tests will skip (and fail on CI)" >&2
    exit 0
  fi
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends chromium chromium-driver fonts-noto-cjk >/dev/null
echo "install-chromium: $(/usr/bin/chromium --version)"
