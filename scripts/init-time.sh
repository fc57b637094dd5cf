#!/usr/bin/env bash
# Local init time of each packaged function: exec to the first poll of the Lambda runtime
# API. Nothing listens at that address, so the process exits right there; the wall time
# is config + clients + logging (+ the warm-up read for intake and api, which against a
# refused connection runs into its one-second cap). Needs `make package` first.
set -euo pipefail
cd "$(dirname "$0")/.."
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
export AWS_LAMBDA_RUNTIME_API=127.0.0.1:9 AWS_LAMBDA_FUNCTION_NAME=f AWS_LAMBDA_FUNCTION_MEMORY_SIZE=256 \
  AWS_LAMBDA_FUNCTION_VERSION=1 AWS_LAMBDA_LOG_STREAM_NAME=s AWS_LAMBDA_LOG_GROUP_NAME=g AWS_REGION=us-east-1 AWS_ACCESS_KEY_ID=x AWS_SECRET_ACCESS_KEY=x \
  AWS_ENDPOINT_URL=http://127.0.0.1:9 TABLE_NAME=t CAPTURE_QUEUE_URL=http://127.0.0.1:9/q \
  READY_QUEUE_URL=http://127.0.0.1:9/q CONVERSIONS_QUEUE_URL=http://127.0.0.1:9/q \
  JWT_ISSUER=local JWT_SECRET=local RUST_LOG=off
for f in $(awk '/Binary:/ {print $2}' infra/template.yaml); do
  unzip -q -o "target/lambda/$f/bootstrap.zip" -d "$dir/$f"
  best=""
  for _ in 1 2 3 4 5; do
    start=$(date +%s%N)
    "$dir/$f/bootstrap" >/dev/null 2>&1 || true
    ms=$(( ($(date +%s%N) - start) / 1000000 ))
    if [ -z "$best" ] || [ "$ms" -lt "$best" ]; then best=$ms; fi
  done
  printf '%-12s %5d ms (best of 5)\n' "$f" "$best"
done
