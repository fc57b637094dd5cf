//! Intake against a real DynamoDB/SQS emulator, driven with API Gateway v2 events.

use chrono::{Duration, Utc};
use domain::capture::submission::SubmissionRules;
use domain::lead::ports::{LeadStore, SystemClock};
use domain::{capture::intake::redrive_stuck, capture::intake::RedrivePolicy};
use intake::http::AllowedOrigins;
use intake::Intake;
use leadflow_aws::{DynamoStore, SqsBus};
use leadflow_tests::{answer, http_event, request, Answer, Stack};
use serde_json::{json, Value};

const ORIGIN: &str = "http://127.0.0.1:8080";

fn app(stack: &Stack) -> Intake<DynamoStore, SqsBus, SystemClock> {
    app_with_bus(stack, stack.bus())
}

fn app_with_bus(stack: &Stack, bus: SqsBus) -> Intake<DynamoStore, SqsBus, SystemClock> {
    Intake {
        store: stack.store(),
        bus,
        clock: SystemClock,
        rules: SubmissionRules::default(),
        origins: AllowedOrigins::new([ORIGIN.to_string()]),
        limits: domain::capture::ratelimit::RateLimits::off(),
    }
}

async fn post(app: &Intake<DynamoStore, SqsBus, SystemClock>, content_type: &str, body: &str) -> Answer {
    let event = http_event(
        "POST",
        "/v1/leads",
        &[("content-type", content_type), ("origin", ORIGIN)],
        body,
    );
    answer(app.handle(request(&event)).await)
}

async fn post_json(app: &Intake<DynamoStore, SqsBus, SystemClock>, body: Value) -> Answer {
    post(app, "application/json", &body.to_string()).await
}

fn s<'a>(
    item: &'a std::collections::HashMap<String, aws_sdk_dynamodb::types::AttributeValue>,
    path: &[&str],
) -> &'a str {
    let mut value = item.get(path[0]).expect(path[0]);
    for key in &path[1..] {
        value = value.as_m().expect("map").get(*key).expect(key);
    }
    value.as_s().expect("string")
}

#[tokio::test]
async fn an_accepted_lead_is_stored_with_its_touchpoint_and_queued() {
    let stack = Stack::start().await;
    let app = app(&stack);
    let event: Value = serde_json::from_str(include_str!("fixtures/apigw-post-lead.json")).unwrap();
    let got = answer(app.handle(request(&event)).await);

    assert_eq!(got.status, 202, "{}", got.body);
    assert_eq!(got.body["status"], "received");
    assert_eq!(got.headers["access-control-allow-origin"], ORIGIN);
    let lead_id = got.body["lead_id"].as_str().unwrap().to_string();

    let leads = stack.items_with_pk_prefix("LEAD#").await;
    let item = leads.iter().find(|i| s(i, &["sk"]) == "LEAD").expect("lead item");
    assert_eq!(s(item, &["pk"]), format!("LEAD#{lead_id}"));
    assert_eq!(s(item, &["stage"]), "received");
    assert!(
        s(item, &["gsi1pk"]).starts_with("OUTBOX#"),
        "received leads sit in the outbox index"
    );
    let lead = leadflow_aws::item::lead_from_item(item.clone()).expect("the lead's body");
    assert_eq!(lead.contact.phone.as_deref(), Some("+8613800138000"));
    assert_eq!(lead.contact.email.as_deref(), Some("zhang@example.com"));
    assert_eq!(lead.company.as_ref().map(|c| c.core.as_str()), Some("纷扬"));
    assert_eq!(lead.source.utm.term.as_deref(), Some("crm"));
    let touch = leads
        .iter()
        .find(|i| s(i, &["sk"]).starts_with("TP#"))
        .expect("touchpoint item");
    assert_eq!(s(touch, &["kind"]), "form_submit");

    let messages = stack.drain("CaptureQueue").await;
    assert_eq!(messages.len(), 1);
    assert_eq!(messages[0]["v"], 1);
    assert_eq!(messages[0]["type"], "lead.captured");
    assert_eq!(messages[0]["data"]["lead_id"], lead_id.as_str());
}

#[tokio::test]
async fn a_plain_html_form_post_redirects_to_an_allowed_origin_only() {
    let stack = Stack::start().await;
    let app = app(&stack);
    let form = "name=%E6%9D%8E%E5%9B%9B&phone=%EF%BC%91%EF%BC%93%EF%BC%98%EF%BC%90%EF%BC%90%EF%BC%91%EF%BC%93%EF%BC%98%EF%BC%90%EF%BC%90%EF%BC%90&website=&redirect=http%3A%2F%2F127.0.0.1%3A8080%2Fthanks.html";
    let got = post(&app, "application/x-www-form-urlencoded", form).await;
    assert_eq!(got.status, 303);
    assert_eq!(got.headers["location"], "http://127.0.0.1:8080/thanks.html");

    let evil = "phone=13900139000&redirect=https%3A%2F%2F127.0.0.1%3A8080%40evil.example%2F";
    let got = post(&app, "application/x-www-form-urlencoded; charset=UTF-8", evil).await;
    assert_eq!(got.status, 202, "stored, but not redirected off the allow-list");
    assert_eq!(got.body["warnings"][0]["field"], "redirect");

    let phones: Vec<String> = stack
        .all_leads()
        .await
        .into_iter()
        .filter_map(|lead| lead.contact.phone)
        .collect();
    assert_eq!(phones.len(), 2);
    assert!(
        phones.contains(&"+8613800138000".to_string()),
        "full-width digits normalised: {phones:?}"
    );
    assert_eq!(stack.drain("CaptureQueue").await.len(), 2);
}

#[tokio::test]
async fn a_form_post_that_fails_validation_shows_the_visitor_a_page_never_json() {
    let stack = Stack::start().await;
    let app = app(&stack);
    let form = "application/x-www-form-urlencoded";

    // With an error page on the allow-list: back to it, naming the failing fields.
    let back = "name=%E6%9D%8E&phone=12&error_redirect=http%3A%2F%2F127.0.0.1%3A8080%2Fform.html%3Fcampaign%3Dspring";
    let got = post(&app, form, back).await;
    assert_eq!(got.status, 303, "{}", got.body);
    assert_eq!(
        got.headers["location"],
        "http://127.0.0.1:8080/form.html?campaign=spring&lead_errors=phone"
    );

    // Without one (or with one off the allow-list): a page in the form's language.
    let event = http_event(
        "POST",
        "/v1/leads",
        &[
            ("content-type", form),
            ("origin", ORIGIN),
            ("referer", "http://127.0.0.1:8080/form.html"),
        ],
        "name=%E6%9D%8E&error_redirect=https%3A%2F%2Fevil.example%2F",
    );
    let got = answer(app.handle(request(&event)).await);
    assert_eq!(got.status, 422);
    assert_eq!(got.headers["content-type"], "text/html; charset=utf-8");
    let html = got.body.as_str().expect("a page, not JSON");
    assert!(
        html.contains("<html lang=\"zh-CN\">") && html.contains("提交未成功"),
        "{html}"
    );
    assert!(
        html.contains("<b>联系方式</b>: 请至少填写手机号、邮箱或微信号中的一项"),
        "names the missing contact and what to do, in Chinese: {html}"
    );
    assert!(
        html.contains("href=\"http://127.0.0.1:8080/form.html\""),
        "links back to the form"
    );

    let got = post(&app, form, "email=nope&lang=en").await;
    let html = got.body.as_str().expect("a page");
    assert!(
        html.contains("<html lang=\"en\">") && html.contains("<b>E-mail</b>"),
        "{html}"
    );

    // Scripts posting JSON still read the JSON error.
    let got = post_json(&app, json!({"phone": "12"})).await;
    assert_eq!(
        (got.status, got.body["fields"][0]["field"].as_str()),
        (422, Some("phone"))
    );
    assert!(stack.items_with_pk_prefix("LEAD#").await.is_empty(), "nothing stored");
}

#[tokio::test]
async fn the_same_submission_id_gives_the_same_lead_once_even_concurrently() {
    let stack = Stack::start().await;
    let app = app(&stack);
    let body = json!({"phone": "13800138000", "submission_id": "form-42-abc"});
    let first = post_json(&app, body.clone()).await;
    assert_eq!(first.status, 202);
    let again = post_json(&app, body.clone()).await;
    assert_eq!(again.status, 202);
    assert_eq!(again.body["lead_id"], first.body["lead_id"]);

    // Ten browsers retrying a new submission at once: the conditional transaction lets one win.
    let racing = json!({"email": "race@example.com", "submission_id": "form-43-race"});
    let answers = futures::future::join_all((0..10).map(|_| post_json(&app, racing.clone()))).await;
    let ids: std::collections::BTreeSet<String> = answers
        .iter()
        .map(|a| a.body["lead_id"].as_str().unwrap().to_string())
        .collect();
    assert!(answers.iter().all(|a| a.status == 202));
    assert_eq!(ids.len(), 1, "one lead id for every racer: {ids:?}");

    let leads = stack
        .items_with_pk_prefix("LEAD#")
        .await
        .into_iter()
        .filter(|i| s(i, &["sk"]) == "LEAD")
        .count();
    assert_eq!(leads, 2);
    assert_eq!(
        stack.drain("CaptureQueue").await.len(),
        2,
        "one message per lead, none for repeats"
    );
}

#[tokio::test]
async fn bad_input_gets_a_clear_error_and_stores_nothing() {
    let stack = Stack::start().await;
    let app = app(&stack);
    let big = json!({"email": "a@b.com", "message": "x".repeat(17 * 1024)}).to_string();
    let cases: Vec<(&str, String, u16, &str)> = vec![
        ("text/xml", "<lead/>".into(), 415, "content-type"),
        ("multipart/form-data; boundary=x", "--x--".into(), 415, "content-type"),
        ("application/json", big, 413, "body"),
        ("application/json", "{not json".into(), 400, "body"),
        ("application/json", "[1,2]".into(), 400, "body"),
        ("application/json", "".into(), 400, "body"),
        ("application/x-www-form-urlencoded", "name=%FF%FE".into(), 400, "body"),
        (
            "application/json",
            json!({"name": "no contact"}).to_string(),
            422,
            "contact",
        ),
        ("application/json", json!({"phone": "12345"}).to_string(), 422, "phone"),
        ("application/json", json!({"email": "nope"}).to_string(), 422, "email"),
        (
            "application/json",
            json!({"email": "a@b.com", "consent": "perhaps"}).to_string(),
            422,
            "consent",
        ),
        (
            "application/json",
            json!({"email": "a@b.com", "utm_source": {"x": 1}}).to_string(),
            422,
            "utm_source",
        ),
        (
            "application/json",
            json!({"email": "a@b.com", "name": "n".repeat(101)}).to_string(),
            422,
            "name",
        ),
    ];
    for (content_type, body, status, field) in cases {
        let got = post(&app, content_type, &body).await;
        assert_eq!(got.status, status, "{content_type} {}", &body[..body.len().min(60)]);
        assert!(got.body["error"].is_string(), "error message present");
        let fields = got.fields();
        assert!(fields.contains(&field), "{field} named in {fields:?}");
        assert!(got.body["fields"][0]["reason"].as_str().is_some_and(|r| !r.is_empty()));
    }
    let get = answer(app.handle(request(&http_event("GET", "/v1/leads", &[], ""))).await);
    assert_eq!(get.status, 405);
    let other = answer(
        app.handle(request(&http_event(
            "POST",
            "/v1/nope",
            &[("content-type", "application/json")],
            "{}",
        )))
        .await,
    );
    assert_eq!(other.status, 404);

    assert!(stack.items().await.is_empty(), "nothing stored for rejected input");
    assert!(
        stack.drain("CaptureQueue").await.is_empty(),
        "nothing queued for rejected input"
    );
}

#[tokio::test]
async fn a_bad_phone_beside_a_good_email_is_kept_not_lost() {
    let stack = Stack::start().await;
    let app = app(&stack);
    let got = post_json(&app, json!({"phone": "12345", "email": "Li.Si@Example.com"})).await;
    assert_eq!(got.status, 202);
    assert_eq!(got.body["warnings"][0]["field"], "phone");
    let lead = stack.all_leads().await.remove(0);
    assert_eq!(lead.contact.email.as_deref(), Some("li.si@example.com"));
    assert_eq!(lead.unusable["phone"], "12345");
}

#[tokio::test]
async fn a_custom_field_without_a_name_is_dropped_and_the_lead_reads_back() {
    // DynamoDB refuses an empty map key (and the emulator stores one so that it cannot be
    // read back): the lead must be stored without it, not lost or left unreadable.
    let stack = Stack::start().await;
    let app = app(&stack);
    let got = post_json(&app, json!({"phone": "13800138000", "": "x", "budget": "50万"})).await;
    assert_eq!(got.status, 202, "{}", got.body);
    assert_eq!(got.body["warnings"][0]["field"], "body");
    let id = domain::lead::LeadId::parse(got.body["lead_id"].as_str().unwrap()).unwrap();
    let lead = stack.store().get_lead(&id).await.expect("reads back").expect("stored");
    assert_eq!(lead.extra.keys().collect::<Vec<_>>(), ["budget"]);
}

#[tokio::test]
async fn the_honeypot_answers_like_success_but_stores_an_invalid_unrouted_lead() {
    let stack = Stack::start().await;
    let app = app(&stack);
    let got = post_json(&app, json!({"phone": "13800138000", "website": "http://spam.example"})).await;
    assert_eq!(got.status, 202);
    assert_eq!(got.body["status"], "received", "bots cannot tell");
    let items = stack.items_with_pk_prefix("LEAD#").await;
    assert_eq!(items.len(), 1, "no touchpoint for a bot");
    assert_eq!(s(&items[0], &["stage"]), "invalid");
    let lead = leadflow_aws::item::lead_from_item(items[0].clone()).expect("the lead's body");
    assert_eq!(lead.invalid_reason.expect("a reason").code, "honeypot");
    assert!(!items[0].contains_key("gsi1pk"), "not in the outbox");
    assert!(stack.drain("CaptureQueue").await.is_empty(), "never routed");
}

#[tokio::test]
async fn cors_preflight_is_answered_for_allowed_origins_only() {
    let stack = Stack::start().await;
    let app = app(&stack);
    let ok = answer(
        app.handle(request(&http_event(
            "OPTIONS",
            "/v1/leads",
            &[("origin", ORIGIN), ("access-control-request-method", "POST")],
            "",
        )))
        .await,
    );
    assert_eq!(ok.status, 204);
    assert_eq!(ok.headers["access-control-allow-origin"], ORIGIN);
    assert!(ok.headers["access-control-allow-methods"]
        .to_str()
        .unwrap()
        .contains("POST"));
    let denied = answer(
        app.handle(request(&http_event(
            "OPTIONS",
            "/v1/leads",
            &[("origin", "https://evil.example")],
            "",
        )))
        .await,
    );
    assert_eq!(denied.status, 403);
    assert!(!denied.headers.contains_key("access-control-allow-origin"));
}

#[tokio::test]
async fn a_lead_whose_message_could_not_be_sent_is_redriven_from_the_outbox() {
    let stack = Stack::start().await;
    let broken_bus = SqsBus::new(stack.sqs.clone()).with_queue(
        domain::lead::messages::Topic::Capture,
        format!("{}/123456789012/NoSuchQueue", stack.provisioned.endpoint),
    );
    let app = app_with_bus(&stack, broken_bus);
    let got = post_json(&app, json!({"email": "outbox@example.com"})).await;
    assert_eq!(got.status, 202, "the lead is stored even though the send failed");
    assert!(stack.drain("CaptureQueue").await.is_empty());

    let store = stack.store();
    let bus = stack.bus();
    let policy = RedrivePolicy::default();
    let early = redrive_stuck(&store, &bus, Utc::now(), policy).await.unwrap();
    assert_eq!(early.found, 0, "within the grace period the lead is left alone");

    let later = Utc::now() + Duration::minutes(6);
    let report = redrive_stuck(&store, &bus, later, policy).await.unwrap();
    assert_eq!((report.found, report.resent), (1, 1));
    let messages = stack.drain("CaptureQueue").await;
    assert_eq!(messages.len(), 1);
    assert_eq!(messages[0]["data"]["lead_id"], got.body["lead_id"]);

    // Bounded: after max_redrives attempts the lead is left for a human.
    for _ in 1..policy.max_redrives {
        redrive_stuck(&store, &bus, later, policy).await.unwrap();
    }
    let exhausted = redrive_stuck(&store, &bus, later, policy).await.unwrap();
    assert_eq!(exhausted.found, 0);
}
