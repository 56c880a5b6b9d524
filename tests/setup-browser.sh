#!/usr/bin/env bash
# Installs what the browser tests need from Debian's packages, when missing: headless Chromium
# and ChromeDriver (appliance/tests/it/browser.rs drives them over WebDriver).
set -euo pipefail

missing=()
[ -x /usr/bin/chromium ] || missing+=(chromium)
[ -x /usr/bin/chromedriver ] || missing+=(chromium-driver)
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "setup-browser: ${missing[*]} missing and not root; install them with apt-get" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" fonts-dejavu-core > /dev/null
/usr/bin/chromedriver --version
