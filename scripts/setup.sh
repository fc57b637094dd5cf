#!/usr/bin/env bash
# Installs what the local stack and the tests need into the project: the DynamoDB/SQS
# emulator (moto) and cargo-lambda into .venv, and the console's packages into
# web/node_modules (npm ci, from the committed lockfile). Needs Python 3 with venv + pip,
# and Node.js 20 with npm. Idempotent: does nothing when both match their lock files.
set -euo pipefail
cd "$(dirname "$0")/.."

# The console's packages (web/package-lock.json).
web_stamp=web/node_modules/.lock.sha256
web_want=$(sha256sum web/package-lock.json | cut -d' ' -f1)
if ! { [ -f "$web_stamp" ] && [ "$(cat "$web_stamp")" = "$web_want" ]; }; then
  command -v npm >/dev/null || { echo "setup: npm not found (Node.js 20 is required for the console)" >&2; exit 1; }
  echo "setup: installing the console's packages (npm ci in web/)…"
  (cd web && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error)
  echo "$web_want" > "$web_stamp"
fi

req=infra/local/requirements.txt
stamp=.venv/.requirements.sha256
want=$(sha256sum "$req" | cut -d' ' -f1)
if [ -x .venv/bin/python ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
  exit 0
fi

python=${PYTHON:-python3}
command -v "$python" >/dev/null || { echo "setup: $python not found (Python 3 is required)" >&2; exit 1; }
echo "setup: creating .venv and installing $(grep -cv '^#' "$req") packages (first run takes a minute)…"
"$python" -m venv .venv
.venv/bin/pip install --quiet --disable-pip-version-check --upgrade pip
.venv/bin/pip install --quiet --disable-pip-version-check -r "$req"
echo "$want" > "$stamp"
echo "setup: done"
