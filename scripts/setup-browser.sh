#!/usr/bin/env bash
# The browser the console's tests drive: Debian's Chromium (not a downloaded build), and a
# CJK font so Chinese screens render in screenshots. Installed with apt-get when missing
# (as root, or through sudo). CHROMIUM=/path overrides the browser.
set -euo pipefail
browser=${CHROMIUM:-/usr/bin/chromium}
font_ok() { fc-list 2>/dev/null | grep -qi -e 'wenquanyi' -e 'noto sans cjk'; }
if [ -x "$browser" ] && font_ok; then
  exit 0
fi
packages=(chromium fonts-wqy-microhei)
if [ "$(id -u)" = 0 ]; then sudo=(); elif command -v sudo >/dev/null; then sudo=(sudo); else
  echo "setup-browser: $browser missing; install as root: apt-get install ${packages[*]}" >&2
  exit 1
fi
echo "setup-browser: installing ${packages[*]} (apt-get)…"
"${sudo[@]}" apt-get update -qq
DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${packages[@]}" >/dev/null
[ -x "$browser" ] || { echo "setup-browser: $browser still missing after apt-get" >&2; exit 1; }
echo "setup-browser: $("$browser" --version 2>/dev/null || echo chromium)"
