#!/usr/bin/env bash
# The console in a real browser against the real local stack: installs Chromium if
# missing, starts `make dev` on its own ports, runs the Playwright tests in web/e2e/, and
# stops the stack (whatever happened). Screenshots of every screen land in
# target/e2e/screens/, the HTML report in target/e2e/report/.
#   scripts/e2e.sh [playwright args…]   e.g. scripts/e2e.sh -g "claim"
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup-browser.sh

# Below Linux's ephemeral range (32768-60999): a port in it can be taken at any moment as
# the local end of some outgoing connection, and then the stack cannot listen on it.
export LEADFLOW_GATEWAY_PORT=${LEADFLOW_GATEWAY_PORT:-26000}
export LEADFLOW_DEMO_PORT=${LEADFLOW_DEMO_PORT:-26080}
export LEADFLOW_EMULATOR_PORT=${LEADFLOW_EMULATOR_PORT:-26566}
export LEADFLOW_LAMBDA_PORT=${LEADFLOW_LAMBDA_PORT:-26900}
rm -rf target/e2e
mkdir -p target/e2e
log=target/e2e/stack.log
: >"$log"

set -m
make dev >"$log" 2>&1 &
dev_pid=$!
set +m
cleanup() {
  kill -INT -- "-$dev_pid" 2>/dev/null || true
  wait "$dev_pid" 2>/dev/null || true
}
trap cleanup EXIT

deadline=$((SECONDS + 900))
until grep -q "local stack is up" "$log"; do
  kill -0 "$dev_pid" 2>/dev/null || { echo "e2e: make dev exited early" >&2; tail -40 "$log" >&2; exit 1; }
  [ $SECONDS -lt $deadline ] || { echo "e2e: stack not up within 15 minutes" >&2; tail -40 "$log" >&2; exit 1; }
  sleep 2
done
echo "e2e: stack up after ${SECONDS}s; console at http://127.0.0.1:$LEADFLOW_DEMO_PORT/console/"

status=0
(cd web && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npx playwright test "$@") || status=$?
echo "e2e: screenshots in target/e2e/screens/ ($(ls target/e2e/screens 2>/dev/null | wc -l) files), report in target/e2e/report/"
[ "$status" = 0 ] || { echo "e2e: FAILED (stack log: $log)" >&2; tail -20 "$log" >&2; }
exit "$status"
