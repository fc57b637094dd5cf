//! Attribution and ROI against the DynamoDB/SQS emulator: leads through the pipeline,
//! touches, campaigns, costs (JSON and a CSV sheet with a bad line), conversions (a
//! duplicate, a correction, a payment), the attribution consumer (redelivered, and two
//! deliveries at once), then the finance export checked row by row against a hand
//! calculation, and the nightly reconciliation.

use api::auth::{mint_hs256, Verifier};
use api::Api;
use attribution::Attribution;
use aws_lambda_events::sqs::{SqsBatchResponse, SqsEvent};
use chrono::{DateTime, Utc};
use dedup_score::DedupScore;
use domain::assign::actions::Role;
use domain::capture::submission::SubmissionRules;
use domain::lead::ports::FixedClock;
use intake::http::AllowedOrigins;
use intake::Intake;
use leadflow_aws::{DynamoStore, SqsBus};
use leadflow_tests::{answer, http_event, request, Answer, Stack};
use serde_json::{json, Value};

const SECRET: &str = "attribution-test-secret";
const ISSUER: &str = "leadflow-test";

fn t(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

fn token(roles: &[Role]) -> String {
    mint_hs256(SECRET, ISSUER, "tester", roles, 600)
}

fn api(stack: &Stack, now: &str) -> Api<DynamoStore, SqsBus, FixedClock> {
    Api {
        store: stack.store(),
        bus: stack.api_bus(),
        clock: FixedClock(t(now)),
        verifier: Verifier::hs256(SECRET, ISSUER),
    }
}

async fn call_raw(
    api: &Api<DynamoStore, SqsBus, FixedClock>,
    method: &str,
    path: &str,
    role: Role,
    content_type: &str,
    body: &str,
) -> lambda_http::Response<lambda_http::Body> {
    let auth = format!("Bearer {}", token(&[role]));
    let headers = [("content-type", content_type), ("authorization", auth.as_str())];
    api.handle(request(&http_event(method, path, &headers, body))).await
}

/// A binary body, base64 as API Gateway passes it (a GBK sheet).
async fn call_raw_bytes(
    api: &Api<DynamoStore, SqsBus, FixedClock>,
    method: &str,
    path: &str,
    role: Role,
    content_type: &str,
    body: Vec<u8>,
) -> lambda_http::Response<lambda_http::Body> {
    use base64::Engine;
    let auth = format!("Bearer {}", token(&[role]));
    let headers = [("content-type", content_type), ("authorization", auth.as_str())];
    let mut event = http_event(method, path, &headers, "");
    event["body"] = json!(base64::engine::general_purpose::STANDARD.encode(body));
    event["isBase64Encoded"] = json!(true);
    api.handle(request(&event)).await
}

async fn call(api: &Api<DynamoStore, SqsBus, FixedClock>, method: &str, path: &str, role: Role, body: Value) -> Answer {
    let body = if body.is_null() {
        String::new()
    } else {
        body.to_string()
    };
    answer(call_raw(api, method, path, role, "application/json", &body).await)
}

/// Posts to intake (a lead or an event) at `now`, then lets dedup-score take it.
async fn intake(stack: &Stack, now: &str, path: &str, body: Value) -> Value {
    let app = Intake {
        store: stack.store(),
        bus: stack.full_bus(),
        clock: FixedClock(t(now)),
        rules: SubmissionRules::default(),
        origins: AllowedOrigins::default(),
        limits: domain::capture::ratelimit::RateLimits::off(),
    };
    let event = http_event("POST", path, &[("content-type", "application/json")], &body.to_string());
    let got = answer(app.handle(request(&event)).await);
    assert!(got.status < 300, "{path}: {} {}", got.status, got.body);
    let consumer = DedupScore {
        store: stack.store(),
        bus: stack.full_bus(),
    };
    while stack.deliver("CaptureQueue", |e| consumer.handle(e, t(now))).await.0 > 0 {}
    got.body
}

/// Delivers what is on the conversions queue; each batch is handed over twice in a row
/// and twice at once, as SQS may (at-least-once delivery, concurrent consumers).
async fn attribute(stack: &Stack) {
    let app = Attribution { store: stack.store() };
    let twice = |event: SqsEvent| {
        let app = &app;
        async move {
            let first = app.handle(event.clone()).await;
            assert!(first.batch_item_failures.is_empty(), "{first:?}");
            let (a, b) = tokio::join!(app.handle(event.clone()), app.handle(event));
            assert!(a.batch_item_failures.is_empty() && b.batch_item_failures.is_empty());
            SqsBatchResponse::default()
        }
    };
    while stack.deliver("ConversionsQueue", twice).await.0 > 0 {}
    // And the funnel steps of the leads so far, which the reports add to the credit.
    stack.fold_rollups().await;
}

/// Rows of a CSV export (BOM and header checked and stripped), as cells, read the way a
/// spreadsheet reads them.
fn csv_rows(body: &str) -> Vec<Vec<String>> {
    let body = body.strip_prefix('\u{feff}').expect("a UTF-8 BOM for Excel");
    let mut reader = csv::Reader::from_reader(body.as_bytes());
    let header: Vec<String> = reader.headers().unwrap().iter().map(str::to_string).collect();
    assert_eq!(header, domain::attribution::reports::ROI_CSV_HEADER);
    reader
        .records()
        .map(|r| r.unwrap().iter().map(str::to_string).collect())
        .collect()
}

#[tokio::test]
async fn finance_gets_u_shaped_roi_that_matches_a_hand_calculation() {
    let stack = Stack::start().await;
    let admin = api(&stack, "2026-03-01T00:00:00Z");

    // Campaigns (marketing ops), then their costs (finance).
    for (id, channel, name, branch) in [
        ("spring", "baidu_sem", "春季 CRM 推广, 百度", "华南分公司"),
        ("wx", "wechat", "公众号文章", "华北分公司"),
    ] {
        let got = call(
            &admin,
            "PUT",
            &format!("/v1/campaigns/{id}"),
            Role::Manager,
            json!({"channel": channel, "name": name, "branch": branch}),
        )
        .await;
        assert_eq!(got.status, 200, "{}", got.body);
    }
    let got = call(
        &admin,
        "PUT",
        "/v1/campaigns/spring/costs/2026-03-01",
        Role::Finance,
        json!({"lines": [{"keyword": "CRM系统", "ad_spend": "2,000", "content": 500, "labour": 500}]}),
    )
    .await;
    assert_eq!(got.status, 200, "{}", got.body);
    let sheet = "\u{feff}campaign_id,day,keyword,ad_spend,content,labour\r\n\
                 spring,2026-03-02,,1000,,\r\n\
                 wx,2026/3/1,,600,200,0\r\n\
                 wx,2026-03-03,,abc,0,0\r\n";
    // A dry run answers as the upload would and saves nothing.
    let dry = answer(
        call_raw(
            &admin,
            "POST",
            "/v1/costs?dry_run=true",
            Role::Finance,
            "text/csv",
            sheet,
        )
        .await,
    );
    assert_eq!(dry.status, 207, "{}", dry.body);
    assert_eq!(
        (dry.body["replaced_days"].clone(), dry.body["dry_run"].clone()),
        (json!(2), json!(true))
    );
    let day = |d: &str| chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d").unwrap();
    let costs = || async {
        use domain::attribution::ports::ReportStore;
        stack.store().costs(day("2026-03-02"), day("2026-03-02")).await.unwrap()
    };
    assert!(costs().await.is_empty(), "a dry run saves nothing");
    let unclear = answer(
        call_raw(
            &admin,
            "POST",
            "/v1/costs?dry_run=maybe",
            Role::Finance,
            "text/csv",
            sheet,
        )
        .await,
    );
    assert_eq!(
        (unclear.status, unclear.body["fields"][0]["field"].as_str()),
        (422, Some("dry_run"))
    );
    assert!(costs().await.is_empty(), "a refused upload saves nothing");
    let got = answer(call_raw(&admin, "POST", "/v1/costs", Role::Finance, "text/csv", sheet).await);
    assert_eq!(got.status, 207, "{}", got.body);
    assert_eq!(got.body["dry_run"], false);
    assert_eq!(costs().await.len(), 1, "the upload saves");
    assert_eq!(got.body["replaced_days"], 2);
    assert_eq!(got.body["errors"][0]["line"], 4);
    assert_eq!(got.body["errors"][0]["field"], "ad_spend");
    // Re-uploading a day replaces it: still 800.00 for wx on 1 March, not 1,600.00.
    let again = answer(
        call_raw(
            &admin,
            "POST",
            "/v1/costs",
            Role::Finance,
            "text/csv",
            "campaign_id,day,ad_spend,content\nwx,2026-03-01,600,200\n",
        )
        .await,
    );
    assert_eq!(again.status, 200, "{}", again.body);
    // As Excel saves "CSV" in China: GBK, Chinese keyword included (a day outside the
    // report below).
    let (gbk, _, _) = encoding_rs::GBK.encode("campaign_id,day,keyword,ad_spend\r\nspring,2025-12-01,客户管理,300\r\n");
    let got = answer(call_raw_bytes(&admin, "POST", "/v1/costs", Role::Finance, "text/csv", gbk.to_vec()).await);
    assert_eq!(
        (got.status, got.body["replaced_days"].clone()),
        (200, json!(1)),
        "{}",
        got.body
    );

    // The models are versioned data: shares must sum to 100; a stale version is refused.
    let mut config = call(&admin, "GET", "/v1/config/attribution", Role::Finance, Value::Null)
        .await
        .body;
    assert_eq!(config["version"], 0);
    config["models"]["u_shaped"] = json!({"kind": "positional", "first": 50, "middle": 20, "last": 40});
    let bad = call(&admin, "PUT", "/v1/config/attribution", Role::Admin, config.clone()).await;
    assert_eq!(
        (bad.status, bad.body["fields"][0]["field"].as_str()),
        (422, Some("models.u_shaped"))
    );
    config["models"]["u_shaped"] = json!({"kind": "positional", "first": 40, "middle": 20, "last": 40});
    config["window_days"] = json!(90);
    let saved = call(&admin, "PUT", "/v1/config/attribution", Role::Admin, config.clone()).await;
    assert_eq!(
        (saved.status, saved.body["version"].as_u64()),
        (200, Some(1)),
        "{}",
        saved.body
    );
    let stale = call(&admin, "PUT", "/v1/config/attribution", Role::Admin, config).await;
    assert_eq!(stale.status, 409);
    let finance = call(
        &admin,
        "PUT",
        "/v1/config/attribution",
        Role::Finance,
        json!({"version": 1}),
    )
    .await;
    assert_eq!(finance.status, 403);

    // Two leads through the pipeline, and lead 1's later touches (an offline event too).
    let lead1 = intake(
        &stack,
        "2026-03-01T02:00:00Z",
        "/v1/leads",
        json!({"name": "张伟", "phone": "13800138000", "company": "北京纷扬科技有限公司", "consent": true,
               "channel": "baidu_sem", "campaign_id": "spring", "utm_term": "CRM系统"}),
    )
    .await["lead_id"]
        .as_str()
        .unwrap()
        .to_string();
    let lead2 = intake(
        &stack,
        "2026-03-02T02:00:00Z",
        "/v1/leads",
        json!({"name": "李娜", "phone": "13900139000", "consent": true, "channel": "wechat", "campaign_id": "wx"}),
    )
    .await["lead_id"]
        .as_str()
        .unwrap()
        .to_string();
    for (at, body) in [
        (
            "2026-03-05T02:00:00Z",
            json!({"event": "article_click", "phone": "13800138000", "event_id": "e2", "channel": "wechat", "campaign_id": "wx"}),
        ),
        (
            "2026-03-10T02:00:00Z",
            json!({"event": "event_attend", "phone": "13800138000", "event_id": "e3", "channel": "offline", "campaign_id": "expo"}),
        ),
        (
            "2026-03-20T02:00:00Z",
            json!({"event": "form_view", "phone": "13800138000", "event_id": "e4", "channel": "baidu_sem", "campaign_id": "spring", "utm_term": "CRM系统"}),
        ),
    ] {
        intake(&stack, at, "/v1/events", body).await;
    }

    // Conversions from the CRM (an integration token) and finance.
    let crm = api(&stack, "2026-03-26T00:00:00Z");
    let order = json!({"external_id": "ORD-1", "phone": "138-0013-8000", "kind": "order", "amount": "10000.00",
                       "currency": "CNY", "occurred_at": "2026-03-25T15:00:00+08:00"});
    let got = call(&crm, "POST", "/v1/conversions", Role::Integration, order.clone()).await;
    assert_eq!(got.status, 201, "{}", got.body);
    assert_eq!(got.body["conversion"]["lead_id"], lead1);
    let dup = call(&crm, "POST", "/v1/conversions", Role::Integration, order.clone()).await;
    assert_eq!((dup.status, dup.body["status"].as_str()), (200, Some("unchanged")));
    let mut corrected = order.clone();
    corrected["amount"] = json!(8000);
    let got = call(&crm, "POST", "/v1/conversions", Role::Finance, corrected).await;
    assert_eq!(
        (got.status, got.body["conversion"]["revision"].as_u64()),
        (200, Some(2))
    );
    let got = call(&crm, "POST", "/v1/conversions", Role::Integration,
        json!({"external_id": "PAY-1", "lead_id": lead1, "kind": "payment", "amount": 5000, "occurred_at": "2026-03-26T07:00:00+08:00"})).await;
    assert_eq!(got.status, 201, "{}", got.body);
    let got = call(&crm, "POST", "/v1/conversions", Role::Integration,
        json!({"external_id": "ORD-2", "lead_id": lead2, "kind": "order", "amount": 3000, "occurred_at": "2026-03-25T12:00:00+08:00"})).await;
    assert_eq!(got.status, 201, "{}", got.body);
    // Bad input: every field named, nothing stored.
    let bad = call(&crm, "POST", "/v1/conversions", Role::Integration,
        json!({"external_id": "ORD-9", "phone": "13700000000", "kind": "order", "amount": 1, "currency": "USD", "occurred_at": "2026-03-25T12:00:00Z"})).await;
    assert_eq!(bad.status, 422);
    assert_eq!(bad.body["fields"][0]["field"], "currency");
    let unknown = call(&crm, "POST", "/v1/conversions", Role::Integration,
        json!({"external_id": "ORD-9", "phone": "13700000000", "kind": "order", "amount": 1, "occurred_at": "2026-03-25T12:00:00Z"})).await;
    assert_eq!(
        (unknown.status, unknown.body["fields"][0]["field"].as_str()),
        (404, Some("phone"))
    );
    let rep = call(&crm, "POST", "/v1/conversions", Role::Rep, order).await;
    assert_eq!(rep.status, 403);

    attribute(&stack).await;
    let state = call(&crm, "GET", "/v1/conversions/ORD-1", Role::Finance, Value::Null).await;
    assert_eq!(state.body["settled"], true, "{}", state.body);
    assert_eq!(state.body["revisions"].as_array().unwrap().len(), 2);

    // The export finance runs. Hand calculation, U-shaped 40/20/40:
    //   ORD-1 8,000.00 over lead 1's touches spring, wx, expo, spring:
    //     spring 40 % + 40 % = 6,400.00; wx 10 % = 800.00; expo 10 % = 800.00
    //   PAY-1 5,000.00 over the same touches: spring 4,000.00; wx 500.00; expo 500.00
    //   ORD-2 3,000.00, lead 2's one touch: wx 3,000.00
    //   cost: spring 3,000.00 + 1,000.00 = 4,000.00; wx 800.00 (re-uploaded, replaced)
    //   ROI spring (6,400 − 4,000) / 4,000 = 0.6; wx (3,800 − 800) / 800 = 3.75;
    //   expo: no cost, so no ROI.
    let got = call_raw(
        &crm,
        "GET",
        "/v1/exports/roi?from=2026-03-01&to=2026-03-31&model=u_shaped&group_by=campaign&format=csv",
        Role::Finance,
        "application/json",
        "",
    )
    .await;
    assert_eq!(got.status(), 200);
    assert_eq!(got.headers()["content-type"], "text/csv; charset=utf-8");
    let body = match got.body() {
        lambda_http::Body::Text(t) => t.clone(),
        other => panic!("unexpected body {other:?}"),
    };
    let leads = [stack.lead(&lead1).await, stack.lead(&lead2).await];
    let mql = |l: &domain::Lead| u8::from(l.stage_at.contains_key("mql") || l.stage_at.contains_key("sql")).to_string();
    let (mql1, mql2) = (mql(&leads[0]), mql(&leads[1]));
    let rows = csv_rows(&body);
    let expected = [
        // channel, campaign, name, keyword, branch, cost, leads, mql, sql, opps, orders, revenue, paid, cpl
        vec![
            "baidu_sem",
            "spring",
            "春季 CRM 推广, 百度",
            "",
            "华南分公司",
            "4000.00",
            "1",
            &mql1,
            "0",
            "0",
            "1",
            "6400.00",
            "4000.00",
            "4000.00",
        ],
        vec![
            "offline", "expo", "", "", "", "0.00", "0", "0", "0", "0", "0", "800.00", "500.00", "",
        ],
        vec![
            "wechat",
            "wx",
            "公众号文章",
            "",
            "华北分公司",
            "800.00",
            "1",
            &mql2,
            "0",
            "0",
            "1",
            "3800.00",
            "500.00",
            "800.00",
        ],
    ];
    assert_eq!(rows.len(), 3, "{body}");
    for (row, want) in rows.iter().zip(&expected) {
        assert_eq!(&row[..want.len()], want.as_slice(), "{body}");
    }
    assert_eq!(rows[0].last().unwrap(), "0.6000");
    assert_eq!(rows[1].last().unwrap(), "", "no cost: ROI left blank");
    assert_eq!(rows[2].last().unwrap(), "3.7500");

    // By branch (the campaigns'): the same money, added up per branch; the expo touch has
    // no registered campaign, so no branch.
    let by_branch = call(
        &crm,
        "GET",
        "/v1/exports/roi?from=2026-03-01&to=2026-03-31&model=u_shaped&group_by=branch",
        Role::Finance,
        Value::Null,
    )
    .await;
    assert_eq!(by_branch.status, 200, "{}", by_branch.body);
    let branches: Vec<(&str, &str, &str)> = by_branch.body["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["branch"].as_str().unwrap(),
                r["cost"].as_str().unwrap(),
                r["attributed_revenue"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        branches,
        [
            ("", "0.00", "800.00"),
            ("华北分公司", "800.00", "3800.00"),
            ("华南分公司", "4000.00", "6400.00")
        ]
    );

    // JSON, grouped by channel; the export read only rollup rows.
    let json_export = call(
        &crm,
        "GET",
        "/v1/exports/roi?from=2026-03-01&to=2026-03-31&model=linear&group_by=channel",
        Role::Finance,
        Value::Null,
    )
    .await;
    assert_eq!(json_export.status, 200);
    assert_eq!(json_export.body["total"]["attributed_revenue"], "11000.00");
    assert_eq!(json_export.body["total"]["cost"], "4800.00");
    let bad_model = call(&crm, "GET", "/v1/exports/roi?model=magic", Role::Finance, Value::Null).await;
    assert_eq!(
        (bad_model.status, bad_model.body["fields"][0]["field"].as_str()),
        (404, Some("model"))
    );

    // Cancelling the corrected order takes its revenue back, once.
    let cancelled = call(&crm, "DELETE", "/v1/conversions/ORD-1", Role::Finance, Value::Null).await;
    assert_eq!(cancelled.status, 200, "{}", cancelled.body);
    // Finance's list: by the day each happened (Beijing time), newest first, the
    // cancelled order kept with its revision.
    let listed = call(
        &crm,
        "GET",
        "/v1/conversions?from=2026-03-20&to=2026-03-31",
        Role::Finance,
        Value::Null,
    )
    .await;
    assert_eq!(listed.status, 200, "{}", listed.body);
    let rows: Vec<(&str, u64, bool)> = listed.body["conversions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            let conversion = &c["conversion"];
            (
                conversion["external_id"].as_str().unwrap(),
                conversion["revision"].as_u64().unwrap(),
                conversion["cancelled"].as_bool().unwrap(),
            )
        })
        .collect();
    assert_eq!(rows, [("PAY-1", 1, false), ("ORD-1", 3, true), ("ORD-2", 1, false)]);
    let one_day = call(
        &crm,
        "GET",
        "/v1/conversions?from=2026-03-26&to=2026-03-26",
        Role::Finance,
        Value::Null,
    )
    .await;
    assert_eq!(
        one_day.body["conversions"].as_array().unwrap().len(),
        1,
        "PAY-1 happened on the 26th, Beijing time"
    );
    let bad_day = call(&crm, "GET", "/v1/conversions?to=2026-3-1", Role::Finance, Value::Null).await;
    assert_eq!(
        (bad_day.status, bad_day.body["fields"][0]["field"].as_str()),
        (422, Some("to"))
    );
    assert_eq!(
        call(&crm, "GET", "/v1/conversions", Role::Rep, Value::Null)
            .await
            .status,
        403
    );
    assert_eq!(
        call(&crm, "GET", "/v1/conversions", Role::Integration, Value::Null)
            .await
            .status,
        403,
        "a CRM reports conversions; it does not browse them"
    );
    attribute(&stack).await;
    let after = call(
        &crm,
        "GET",
        "/v1/exports/roi?from=2026-03-01&to=2026-03-31&model=u_shaped&group_by=campaign",
        Role::Finance,
        Value::Null,
    )
    .await;
    let revenue: Vec<&str> = after.body["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["attributed_revenue"].as_str().unwrap())
        .collect();
    assert_eq!(revenue, ["0.00", "0.00", "3000.00"]);
    let orders: Vec<i64> = after.body["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["orders"].as_i64().unwrap())
        .collect();
    assert_eq!(orders, [0, 0, 1]);

    // Funnel by month, and the nightly reconciliation of the order day and a lead day.
    let funnel = call(
        &crm,
        "GET",
        "/v1/reports/funnel?from=2026-03-01&to=2026-03-31&period=month&group_by=campaign",
        Role::Manager,
        Value::Null,
    )
    .await;
    assert_eq!(funnel.status, 200, "{}", funnel.body);
    let total_leads: i64 = funnel.body["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["leads"].as_i64().unwrap())
        .sum();
    assert_eq!(total_leads, 2);
    let ready_leads = owners_report(&stack).await;
    assert_eq!(ready_leads, 2);

    let app = Attribution { store: stack.store() };
    for day in ["2026-03-25", "2026-03-26", "2026-03-01"] {
        let result = app
            .reconcile(Some(day.parse().unwrap()), t("2026-03-27T00:00:00Z"))
            .await
            .unwrap();
        assert!(result.drift.is_empty(), "{day}: {:?}", result.drift);
        assert_eq!(result.pending_conversions, 0);
        assert!(result.rows_expected > 0, "{day}");
    }

    // Month rows: every write above (the folded steps, each conversion revision and its
    // cancellation, the cost days and their re-upload) moved March's month rows too. The
    // month rows began with this stack's first fold, in March, so March is read from day
    // rows. Declared kept since February, the same reports come from month rows: the
    // same answers, from no more items (fewer, with more than a day per source).
    let months = std::collections::BTreeSet::from(["2026-03-01".parse().unwrap()]);
    for series in ["funnel", "u_shaped", "linear"] {
        let drift = leadflow_tests::invariants::month_drift(&stack, series, months.clone()).await;
        assert!(drift.is_empty(), "{series}: {drift:?}");
    }
    let reports = [
        "/v1/exports/roi?from=2026-03-01&to=2026-03-31&model=u_shaped&group_by=campaign",
        "/v1/exports/roi?from=2026-02-20&to=2026-03-31&model=linear&group_by=keyword",
        "/v1/reports/funnel?from=2026-03-01&to=2026-04-03&period=quarter&group_by=channel",
        "/v1/reports/invalid-reasons?from=2026-03-01&to=2026-03-31",
    ];
    let mut by_day = Vec::new();
    for path in reports {
        by_day.push(call(&crm, "GET", path, Role::Finance, Value::Null).await.body);
    }
    stack
        .put_items(vec![std::collections::HashMap::from([
            (
                "pk".to_string(),
                aws_sdk_dynamodb::types::AttributeValue::S("FOLD".into()),
            ),
            (
                "sk".to_string(),
                aws_sdk_dynamodb::types::AttributeValue::S("SINCE".into()),
            ),
            (
                "since".to_string(),
                aws_sdk_dynamodb::types::AttributeValue::S("2026-02-28".into()),
            ),
        ])])
        .await;
    for (path, day_answer) in reports.iter().zip(by_day) {
        let month_answer = call(&crm, "GET", path, Role::Finance, Value::Null).await.body;
        let rows = |answer: &Value| answer["rows"].clone();
        assert_eq!(rows(&month_answer), rows(&day_answer), "{path}");
        if let (Some(months), Some(days)) = (month_answer["items_read"].as_u64(), day_answer["items_read"].as_u64()) {
            assert!(
                months <= days,
                "{path}: {months} items from month rows, {days} from day rows"
            );
        }
    }
    dashboard_says_what_the_three_reports_say(&crm).await;
}

/// The dashboard answer holds the funnel report's rows, the ROI export's cost columns and
/// the invalid-reasons report's rows, for the same span and grouping, and reads fewer
/// items than the three did.
async fn dashboard_says_what_the_three_reports_say(crm: &Api<DynamoStore, SqsBus, FixedClock>) {
    for (span, group_by, period) in [
        ("from=2026-03-01&to=2026-03-31", "campaign", "month"),
        ("from=2026-02-20&to=2026-03-31", "keyword", "week"),
        ("from=2026-03-01&to=2026-04-03", "branch", "quarter"),
    ] {
        let get = |path: String| async move {
            let got = call(crm, "GET", &path, Role::Marketing, Value::Null).await;
            assert_eq!(got.status, 200, "{path}: {}", got.body);
            got.body
        };
        let dashboard = get(format!(
            "/v1/reports/dashboard?{span}&group_by={group_by}&period={period}"
        ))
        .await;
        let funnel = get(format!("/v1/reports/funnel?{span}&group_by={group_by}&period={period}")).await;
        let roi = get(format!("/v1/exports/roi?{span}&group_by={group_by}")).await;
        let reasons = get(format!("/v1/reports/invalid-reasons?{span}")).await;
        assert!(!dashboard["funnel"].as_array().unwrap().is_empty(), "{span}");
        assert!(
            dashboard["costs"]
                .as_array()
                .unwrap()
                .iter()
                .any(|r| r["cost"] != "0.00"),
            "{span}"
        );
        assert_eq!(dashboard["funnel"], funnel["rows"], "{span}: funnel");
        assert_eq!(dashboard["reference"], funnel["reference"], "{span}");
        assert_eq!(dashboard["invalid_reasons"], reasons["rows"], "{span}: invalid reasons");
        assert_eq!(dashboard["previous"], reasons["previous"], "{span}");
        let cost_columns = |row: &Value| {
            let fields = [
                "branch",
                "channel",
                "campaign",
                "campaign_name",
                "keyword",
                "cost",
                "leads",
                "mql",
                "sql",
                "cpl",
                "cost_per_mql",
                "cost_per_sql",
            ];
            Value::Object(fields.iter().map(|f| (f.to_string(), row[*f].clone())).collect())
        };
        // The export also has a row for a source only credited (no lead, no cost in the
        // span): the dashboard, reading no credits, has not.
        let roi_costs: Vec<Value> = roi["rows"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|row| row["cost"] != "0.00" || row["leads"] != 0 || row["mql"] != 0 || row["sql"] != 0)
            .map(cost_columns)
            .collect();
        assert_eq!(dashboard["costs"], Value::Array(roi_costs), "{span}: costs");
        assert_eq!(dashboard["cost_total"], cost_columns(&roi["total"]), "{span}");
        let apart = funnel["items_read"].as_u64().unwrap() + roi["items_read"].as_u64().unwrap();
        let together = dashboard["items_read"].as_u64().unwrap();
        assert!(
            together < apart,
            "{span}: {together} items for the dashboard, {apart} for two of its reports"
        );
    }
}

/// Assigns the waiting leads to one rep, who follows one up; the owners report then
/// shows one pending and one following under `auto_assigned`. Returns the leads counted.
async fn owners_report(stack: &Stack) -> u64 {
    use domain::assign::ports::RoutingStore;
    use domain::{
        assign::routing::Pool, assign::routing::Rep, assign::routing::RoutingConfig, assign::routing::Strategy,
        assign::routing::Tier,
    };
    let store = stack.store();
    store
        .put_rep(&Rep {
            id: "zhang".into(),
            name: "张".into(),
            team: "north".into(),
            department: "sales".into(),
            tier: Tier::Regular,
            weight: 1,
            holding_cap: None,
            daily_cap: None,
            working_hours: None,
            out_of_office: Vec::new(),
            webhook: None,
            active: true,
        })
        .await
        .unwrap();
    store
        .put_pool(&Pool {
            id: "general".into(),
            name: "general".into(),
            strategy: Strategy::RoundRobin,
            members: vec!["zhang".into()],
            daily_cap: None,
            daily_claim_cap: None,
            webhook: None,
        })
        .await
        .unwrap();
    store
        .save_routing(&RoutingConfig {
            version: 1,
            ..RoutingConfig::default()
        })
        .await
        .unwrap();
    let assign = assign::Assign {
        store: stack.store(),
        bus: stack.full_bus(),
        notifier: domain::memory::RecordingNotifier::default(),
    };
    let at = t("2026-03-27T02:00:00Z");
    while stack.deliver("ReadyQueue", |e| assign.handle(e, at)).await.0 > 0 {}
    let leads = stack.all_leads().await;
    let followed = leads
        .iter()
        .find(|l| l.owner.as_deref() == Some("zhang"))
        .expect("assigned");
    let rep_api = api(stack, "2026-03-27T03:00:00Z");
    let auth = format!("Bearer {}", mint_hs256(SECRET, ISSUER, "zhang", &[Role::Rep], 600));
    let headers = [("content-type", "application/json"), ("authorization", auth.as_str())];
    let body = json!({"action": "follow_up", "kind": "call", "note": "interested"}).to_string();
    let path = format!("/v1/leads/{}/actions", followed.id);
    let got = answer(
        rep_api
            .handle(request(&http_event("POST", &path, &headers, &body)))
            .await,
    );
    assert_eq!(got.status, 200, "{}", got.body);

    // Owner changes are listed over the month's shards; one listed as before the shards
    // (the month alone) is still reported.
    let changes: Vec<_> = stack
        .items_with_pk_prefix("LEAD#")
        .await
        .into_iter()
        .filter(|item| {
            item.get("gsi1pk")
                .is_some_and(|pk| pk.as_s().is_ok_and(|pk| pk.starts_with("OWNERS#")))
        })
        .collect();
    assert!(changes.len() >= 2, "one owner change per assigned lead");
    for item in &changes {
        let pk = item["gsi1pk"].as_s().unwrap();
        assert!(
            pk.starts_with("OWNERS#2026-03#") && pk.len() == "OWNERS#2026-03#0".len(),
            "{pk}"
        );
    }
    stack
        .dynamo
        .update_item()
        .table_name(stack.table())
        .key("pk", changes[0]["pk"].clone())
        .key("sk", changes[0]["sk"].clone())
        .update_expression("SET gsi1pk = :month")
        .expression_attribute_values(
            ":month",
            aws_sdk_dynamodb::types::AttributeValue::S("OWNERS#2026-03".into()),
        )
        .send()
        .await
        .unwrap();

    let manager = api(stack, "2026-03-28T00:00:00Z");
    let report = call(
        &manager,
        "GET",
        "/v1/reports/owners?from=2026-03-01&to=2026-03-28",
        Role::Manager,
        Value::Null,
    )
    .await;
    assert_eq!(report.status, 200, "{}", report.body);
    let rows = report.body["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 1, "{}", report.body);
    assert_eq!(
        (rows[0]["owner"].as_str(), rows[0]["acquisition"].as_str()),
        (Some("zhang"), Some("auto_assigned"))
    );
    assert_eq!(rows[0]["counts"]["following"], 1, "{}", report.body);
    assert_eq!(rows[0]["counts"]["pending"], 1);
    let finance = call(&manager, "GET", "/v1/reports/owners", Role::Finance, Value::Null).await;
    assert_eq!(finance.status, 403);
    rows[0]["total"].as_u64().unwrap()
}

/// A conversion's chunk adds its day rows, then its month rows in a second transaction.
/// Cut between the two (the run killed right after the day rows were written), the
/// revision is not marked applied, so the redelivered message finishes the month rows:
/// they end equal to the day rows, nothing added twice.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_conversion_cut_between_its_day_and_month_rows_is_finished_by_the_redelivery() {
    use domain::attribution::credit::settle;
    let stack = Stack::start().await;
    let lead = intake(
        &stack,
        "2026-03-02T02:00:00Z",
        "/v1/leads",
        json!({"name": "李雷", "phone": "13900139000", "utm_source": "baidu", "utm_campaign": "spring"}),
    )
    .await;
    assert!(lead["lead_id"].is_string(), "{lead}");
    let crm = api(&stack, "2026-03-26T00:00:00Z");
    let order = json!({"external_id": "ORD-CUT", "phone": "13900139000", "kind": "order", "amount": "1200.00",
                       "currency": "CNY", "occurred_at": "2026-03-25T15:00:00+08:00"});
    assert_eq!(
        call(&crm, "POST", "/v1/conversions", Role::Integration, order)
            .await
            .status,
        201
    );
    stack.drain("ConversionsQueue").await;

    // Writes of the first run: the plan, then the chunk's day rows; killed after those.
    let proxy = leadflow_tests::faults::FaultProxy::start(&stack.endpoint(), 0.0, 41).await;
    let (cut_store, _) = stack.adapters_via(&proxy.sdk_config());
    let crashed = proxy.crash_after(2);
    tokio::select! {
        _ = crashed.notified() => {}
        done = settle(&cut_store, "ORD-CUT") => panic!("the run was not cut: {done:?}"),
    }
    proxy.disarm();
    let months = std::collections::BTreeSet::from(["2026-03-01".parse().unwrap()]);
    let drift = leadflow_tests::invariants::month_drift(&stack, "u_shaped", months.clone()).await;
    assert!(!drift.is_empty(), "the cut left the month rows behind the day rows");

    // The redelivery, twice: the second finds everything done.
    for _ in 0..2 {
        settle(&stack.store(), "ORD-CUT").await.unwrap();
    }
    for series in ["funnel", "u_shaped", "linear"] {
        let drift = leadflow_tests::invariants::month_drift(&stack, series, months.clone()).await;
        assert!(drift.is_empty(), "{series}: {drift:?}");
    }
    let state = call(&crm, "GET", "/v1/conversions/ORD-CUT", Role::Finance, Value::Null).await;
    assert_eq!(state.body["settled"], true, "{}", state.body);
}
