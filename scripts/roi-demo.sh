#!/usr/bin/env bash
# Finance's ROI export against the running local stack (`make dev` in another terminal):
# registers two campaigns and today's costs (one as a CSV sheet), captures a lead whose
# earlier anonymous touches (Baidu search, a WeChat article, an offline expo) join it when
# it fills in the form, reports a 10,000.00 order, waits for attribution, and writes the
# U-shaped ROI export to roi.csv. Then checks it against the hand calculation below.
# Safe to run again: every write is idempotent.
#
#   U-shaped (40/20/40) over the touches, oldest first:
#     Baidu spring page view (T-20d), WeChat article (T-15d), offline expo (T-10d),
#     Baidu spring form (today)
#     spring: 40 % + 40 % of 10,000.00 = 8,000.00   wx: 10 % = 1,000.00   expo: 10 % = 1,000.00
#   cost today: spring 3,000.00 + 1,000.00 = 4,000.00; wx 600.00 + 200.00 = 800.00
#   ROI = (revenue - cost) / cost: spring 1.0000; wx 0.2500; expo has no cost: blank
set -euo pipefail
cd "$(dirname "$0")/.."

gateway="http://127.0.0.1:${LEADFLOW_GATEWAY_PORT:-3000}"
out=${1:-roi.csv}
marketing=$(cargo run -q -p local-stack -- token --user mkt-sun)
finance=$(cargo run -q -p local-stack -- token --user fin-zhou)
crm=$(cargo run -q -p local-stack -- token --role integration --sub demo-crm)
# finance's scheduled pull: a machine client that may read the export and nothing else
exporter=$(cargo run -q -p local-stack -- token --role exporter --sub finance-etl)
ago() { python3 -c "import datetime as d; print((d.datetime.now(d.timezone.utc) - d.timedelta(days=$1)).strftime('%Y-%m-%dT%H:%M:%S.%fZ'))"; }
today=$(TZ=Asia/Shanghai date +%F)
from=$(TZ=Asia/Shanghai date -d "$today - 30 days" +%F)

send() { # method path token content-type body expected-status...
  local method=$1 path=$2 token=$3 type=$4 body=$5; shift 5
  local code
  code=$(curl -s -o /tmp/roi-demo.out -w '%{http_code}' --max-time 300 -X "$method" "$gateway$path" \
    -H "authorization: Bearer $token" -H "content-type: $type" --data-binary "$body")
  for ok in "$@"; do [ "$code" = "$ok" ] && return 0; done
  echo "roi-demo: $method $path answered $code: $(cat /tmp/roi-demo.out)" >&2
  exit 1
}
public() { # path body
  send POST "$1" none application/json "$2" 200 202
}

send PUT /v1/campaigns/spring "$marketing" application/json \
  '{"channel":"baidu_sem","name":"春季 CRM 推广","keywords":["CRM系统"]}' 200
send PUT /v1/campaigns/wx "$marketing" application/json '{"channel":"wechat","name":"公众号文章"}' 200
send PUT "/v1/campaigns/spring/costs/$today" "$finance" application/json \
  '{"lines":[{"keyword":"CRM系统","ad_spend":"2,000.00","content":500,"labour":500},{"ad_spend":1000}]}' 200
send POST /v1/costs "$finance" text/csv "$(printf 'campaign_id,day,keyword,ad_spend,content,labour\r\nwx,%s,,600,200,0\r\n' "$today")" 200

phone=13600136000
public /v1/events "{\"event\":\"page_view\",\"phone\":\"$phone\",\"event_id\":\"roi-demo-1\",\"occurred_at\":\"$(ago 20)\",\"channel\":\"baidu_sem\",\"campaign_id\":\"spring\",\"utm_term\":\"CRM系统\"}"
public /v1/events "{\"event\":\"article_click\",\"phone\":\"$phone\",\"event_id\":\"roi-demo-2\",\"occurred_at\":\"$(ago 15)\",\"channel\":\"wechat\",\"campaign_id\":\"wx\"}"
public /v1/events "{\"event\":\"event_attend\",\"phone\":\"$phone\",\"event_id\":\"roi-demo-3\",\"occurred_at\":\"$(ago 10)\",\"channel\":\"offline\",\"campaign_id\":\"expo\"}"
public /v1/leads "{\"name\":\"王芳\",\"phone\":\"$phone\",\"company\":\"上海示例贸易有限公司\",\"consent\":true,\"submission_id\":\"roi-demo-lead\",\"channel\":\"baidu_sem\",\"campaign_id\":\"spring\",\"utm_term\":\"CRM系统\"}"

# The order comes after the form (its time is taken once the lead is stored), and can name
# the lead once dedup-score has taken it (its phone key is claimed then).
ordered_at=$(ago 0)
deadline=$((SECONDS + 600))
until curl -s -o /tmp/roi-demo.out -w '%{http_code}' --max-time 300 -X POST "$gateway/v1/conversions" \
  -H "authorization: Bearer $crm" -H 'content-type: application/json' \
  -d "{\"external_id\":\"ROI-DEMO-1\",\"phone\":\"$phone\",\"kind\":\"order\",\"amount\":\"10000.00\",\"occurred_at\":\"$ordered_at\"}" \
  | grep -qE '^20[01]$'; do
  [ $SECONDS -lt $deadline ] || { echo "roi-demo: order not accepted: $(cat /tmp/roi-demo.out)" >&2; exit 1; }
  sleep 3
done
until curl -s --max-time 300 -H "authorization: Bearer $finance" "$gateway/v1/conversions/ROI-DEMO-1" | grep -q '"settled":true'; do
  [ $SECONDS -lt $deadline ] || { echo "roi-demo: the order was not attributed in time" >&2; exit 1; }
  sleep 3
done

curl -s --fail --max-time 300 -H "authorization: Bearer $exporter" -o "$out" \
  "$gateway/v1/exports/roi?from=$from&to=$today&model=u_shaped&group_by=campaign&format=csv"
echo "roi-demo: wrote $out"
cat "$out"
python3 - "$out" <<'PY'
import csv, sys
rows = {(r["channel"], r["campaign"]): r for r in csv.DictReader(open(sys.argv[1], encoding="utf-8-sig"))}
want = {
    ("baidu_sem", "spring"): ("4000.00", "8000.00", "1.0000"),
    ("wechat", "wx"): ("800.00", "1000.00", "0.2500"),
    ("offline", "expo"): ("0.00", "1000.00", ""),
}
for key, (cost, revenue, roi) in want.items():
    got = rows.get(key)
    assert got, f"no row for {key}"
    assert (got["cost"], got["attributed_revenue"], got["roi"]) == (cost, revenue, roi), (key, got)
print("roi-demo: U-shaped rows match the hand calculation")
PY
