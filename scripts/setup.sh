#!/usr/bin/env bash
# Installs what the local stack and the tests need into the project (.venv): the
# DynamoDB/SQS emulator (moto) and cargo-lambda. Needs only Python 3 with venv + pip.
# Idempotent: does nothing when .venv already matches infra/local/requirements.txt.
set -euo pipefail
cd "$(dirname "$0")/.."

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
