#!/usr/bin/env bash
# Proves the README's run command works: starts `make dev`, posts a lead through the
# gateway, checks it was stored, qualified by dedup-score and routed by assign (to a rep,
# or to its pool and then claimed), checks tokens and roles, runs finance's ROI demo
# (scripts/roi-demo.sh) and a small spike of the load driver, then stops the stack with Ctrl-C
# (SIGINT) and checks that nothing is left listening. Before stopping, Schemathesis fuzzes
# the API against openapi.yaml (scripts/schemathesis.sh). Bounded: gives up after 15 minutes.
set -euo pipefail
cd "$(dirname "$0")/.."

export LEADFLOW_GATEWAY_PORT=${LEADFLOW_GATEWAY_PORT:-13000}
export LEADFLOW_DEMO_PORT=${LEADFLOW_DEMO_PORT:-18080}
export LEADFLOW_EMULATOR_PORT=${LEADFLOW_EMULATOR_PORT:-14566}
export LEADFLOW_LAMBDA_PORT=${LEADFLOW_LAMBDA_PORT:-19000}
gateway="http://127.0.0.1:$LEADFLOW_GATEWAY_PORT"
log=$(mktemp)

# Job control: `make dev` gets its own process group, and SIGINT to that group is what a
# terminal's Ctrl-C sends (without it, background jobs of a script ignore SIGINT).
set -m
make dev >"$log" 2>&1 &
dev_pid=$!
set +m
interrupt() { kill -INT -- "-$dev_pid" 2>/dev/null || true; }
cleanup() {
  interrupt
  wait "$dev_pid" 2>/dev/null || true
}
trap cleanup EXIT
fail() { echo "smoke-dev: FAILED: $*" >&2; tail -40 "$log" >&2; exit 1; }

deadline=$((SECONDS + 900))
until grep -q "local stack is up" "$log"; do
  kill -0 "$dev_pid" 2>/dev/null || fail "make dev exited early"
  [ $SECONDS -lt $deadline ] || fail "stack not up within 15 minutes"
  sleep 2
done
echo "smoke-dev: stack up after ${SECONDS}s"

code=$(curl -s -o /tmp/smoke-body.json -w '%{http_code}' --max-time 600 -X POST "$gateway/v1/leads" \
  -H 'content-type: application/json' \
  -d '{"name":"烟雾测试","phone":"+86 138 0013 8000","company":"北京纷扬科技有限公司","submission_id":"smoke-1"}')
[ "$code" = 202 ] || fail "POST /v1/leads answered $code: $(cat /tmp/smoke-body.json)"
lead_id=$(python3 -c 'import json,sys; print(json.load(open("/tmp/smoke-body.json"))["lead_id"])')
echo "smoke-dev: lead $lead_id accepted"

code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 60 -X POST "$gateway/v1/leads" -H 'content-type: application/json' -d '{"name":"x"}')
[ "$code" = 422 ] || fail "invalid lead answered $code, expected 422"
code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 60 "http://127.0.0.1:$LEADFLOW_DEMO_PORT/")
[ "$code" = 200 ] || fail "demo page answered $code"

# The runner delivers lead.captured to dedup-score, which qualifies the lead and sends
# lead.ready; assign routes it to the demo org's Beijing pool: to a rep during Beijing
# office hours, else it waits in the pool. Either way it is routed and nothing is left.
admin=$(cargo run -q -p local-stack -- token --role admin)
routed() {
  curl -s --max-time 300 -H "authorization: Bearer $admin" "$gateway/v1/leads/$lead_id" >/tmp/smoke-lead.json || return 1
  python3 - <<'PY'
import json, sys
lead = json.load(open("/tmp/smoke-lead.json")).get("lead", {})
sys.exit(0 if lead.get("stage") == "aql" and (lead.get("owner") or lead.get("pool") == "beijing") else 1)
PY
}
until routed; do
  [ $SECONDS -lt $deadline ] || { cat /tmp/smoke-lead.json; fail "lead not qualified and routed in time"; }
  sleep 3
done
grep -q '"cell"' /tmp/smoke-lead.json || fail "lead lookup has no score cell"
owner=$(python3 -c 'import json; print(json.load(open("/tmp/smoke-lead.json"))["lead"].get("owner") or "")')
echo "smoke-dev: lead routed (owner: ${owner:-none, waiting in pool beijing})"
peek=$(cargo run -q -p local-stack -- peek)
echo "$peek"
for queue in CaptureQueue CaptureDLQ ReadyDLQ; do
  grep -q "queue $queue: 0 messages" <<<"$peek" || fail "$queue is not empty"
done

# Tokens and roles: none → 401; a rep who does not own the lead → 403.
code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 60 "$gateway/v1/leads/$lead_id")
[ "$code" = 401 ] || fail "lead lookup without a token answered $code, expected 401"
outsider=$(cargo run -q -p local-stack -- token --role rep --sub sh-chen)
code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 60 -H "authorization: Bearer $outsider" "$gateway/v1/leads/$lead_id")
[ "$code" = 403 ] || fail "another rep's lookup answered $code, expected 403"
if [ -z "$owner" ]; then
  # Off hours: a Beijing rep claims it from the pool.
  rep=$(cargo run -q -p local-stack -- token --role rep --sub bj-li)
  code=$(curl -s -o /tmp/smoke-claim.json -w '%{http_code}' --max-time 300 -X POST -H "authorization: Bearer $rep" \
    -H 'content-type: application/json' -d '{"action":"claim"}' "$gateway/v1/leads/$lead_id/actions")
  [ "$code" = 200 ] || fail "claim answered $code: $(cat /tmp/smoke-claim.json)"
  echo "smoke-dev: claimed by bj-li from the pool"
fi

# A trade-show sheet as Excel saves it in China (GBK): dry run, then the real run until
# its progress report is done with exact counts.
manager=$(cargo run -q -p local-stack -- token --role manager --sub ops-lin)
printf '姓名,手机,公司,备注\r\n展会甲,13812340001,上海展会科技有限公司,"要报价,\r\n两行备注"\r\n展会乙,12345,,\r\n展会丙,13812340003,,\r\n' \
  | python3 -c 'import sys; sys.stdout.buffer.write(sys.stdin.buffer.read().decode().encode("gb18030"))' >/tmp/smoke-expo.csv
import_url="$gateway/v1/imports?channel=trade_show&campaign_id=expo-smoke&file_name=expo.csv"
code=$(curl -s -o /tmp/smoke-dry.json -w '%{http_code}' --max-time 300 -X POST -H "authorization: Bearer $manager" \
  -H 'content-type: text/csv' --data-binary @/tmp/smoke-expo.csv "$import_url&dry_run=true")
[ "$code" = 200 ] || fail "import dry run answered $code: $(cat /tmp/smoke-dry.json)"
grep -q '"encoding":"gbk/gb18030"' /tmp/smoke-dry.json && grep -q '"invalid":1,' /tmp/smoke-dry.json \
  && grep -q '"valid":2,' /tmp/smoke-dry.json \
  || fail "dry run report: $(cat /tmp/smoke-dry.json)"
code=$(curl -s -o /tmp/smoke-import.json -w '%{http_code}' --max-time 300 -X POST -H "authorization: Bearer $manager" \
  -H 'content-type: text/csv' --data-binary @/tmp/smoke-expo.csv "$import_url")
[ "$code" = 202 ] || fail "import answered $code: $(cat /tmp/smoke-import.json)"
import_id=$(sed -n 's/.*"import_id":"\([^"]*\)".*/\1/p' /tmp/smoke-import.json)
for _ in $(seq 1 60); do
  curl -s --max-time 60 -H "authorization: Bearer $manager" "$gateway/v1/imports/$import_id" >/tmp/smoke-progress.json
  grep -q '"status":"done"' /tmp/smoke-progress.json && break
  sleep 5
done
grep -q '"created":2,.*"invalid":1,.*"pending":0' /tmp/smoke-progress.json \
  || fail "import progress: $(cat /tmp/smoke-progress.json)"
echo "smoke-dev: GBK import $import_id done (2 created, 1 invalid with its line)"

# An ad platform's signed push: the admin configures the source, a signed push is
# accepted, the same body under a forged signature is refused.
hook_secret=smoke-hook-secret-0123456789abcdef0123
code=$(curl -s -o /tmp/smoke-hook-config.json -w '%{http_code}' --max-time 60 -X PUT -H "authorization: Bearer $admin" \
  -H 'content-type: application/json' "$gateway/v1/config/hooks/toutiao" \
  -d '{"channel":"toutiao","mapping":{"name":"data.name","phone":"data.telphone","submission_id":"data.clue_id"},"secret":"'"$hook_secret"'"}')
[ "$code" = 201 ] || [ "$code" = 200 ] || fail "hook source answered $code: $(cat /tmp/smoke-hook-config.json)"
hook_body='{"data":{"clue_id":"smoke-1","name":"推送","telphone":"13812340009"}}'
push() { # $1 = secret to sign with
  python3 - "$1" "$hook_body" "$gateway/v1/hooks/toutiao" <<'PY'
import hashlib, hmac, sys, time, urllib.error, urllib.request
secret, body, url = sys.argv[1], sys.argv[2].encode(), sys.argv[3]
ts = str(int(time.time()))
sig = "sha256=" + hmac.new(secret.encode(), ts.encode() + b"." + body, hashlib.sha256).hexdigest()
req = urllib.request.Request(url, body, {"content-type": "application/json",
    "x-leadflow-timestamp": ts, "x-leadflow-signature": sig})
try:
    print(urllib.request.urlopen(req, timeout=60).status)
except urllib.error.HTTPError as e:
    print(e.code)
PY
}
[ "$(push "$hook_secret")" = 202 ] || fail "a signed push was not accepted"
[ "$(push forged-secret-0123456789abcdef0123456789)" = 401 ] || fail "a forged push was not refused with 401"
echo "smoke-dev: signed push accepted, forged push refused"

# Finance's documented command: the U-shaped ROI export matches its hand calculation.
scripts/roi-demo.sh /tmp/smoke-roi.csv || fail "the ROI demo failed"

# The load driver, small: a mixed spike through the gateway, then every accepted lead
# must reach its final state (BENCHMARKS.md has the full-size run).
cargo run -q -p local-stack -- spike --rate 2 --seconds 10 --settle 300 \
  || fail "spike: an accepted lead did not reach its final state, or a request failed"
peek=$(cargo run -q -p local-stack -- peek)
grep -q "queue ConversionsDLQ: 0 messages" <<<"$peek" || fail "ConversionsDLQ is not empty"

# The API against its description (openapi.yaml), every check, last: its random
# requests change configuration. Bounded by SCHEMATHESIS_SECONDS (default 150).
scripts/schemathesis.sh "$gateway" \
  || fail "schemathesis: a 5xx, an undocumented status, a body off the schema, or a request refused (accepted) that the spec calls valid (invalid)"

interrupt
wait "$dev_pid" || true
trap - EXIT
for port in $LEADFLOW_GATEWAY_PORT $LEADFLOW_DEMO_PORT $LEADFLOW_EMULATOR_PORT $LEADFLOW_LAMBDA_PORT; do
  if (echo >"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then fail "port $port still open after Ctrl-C"; fi
done
echo "smoke-dev: passed (stack stopped cleanly)"
