//! The authenticated API against the emulator: tokens and roles, lead lookup with live
//! score explanation, rules as versioned data (changes apply to the next lead), customers.

use api::auth::{mint_hs256, Verifier};
use api::Api;
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

const SECRET: &str = "s3cret-for-tests";
const ISSUER: &str = "leadflow-test";

fn token(sub: &str, roles: &[Role]) -> String {
    mint_hs256(SECRET, ISSUER, sub, roles, 600)
}

fn admin() -> String {
    token("root", &[Role::Admin])
}

fn t(s: &str) -> DateTime<Utc> {
    s.parse().unwrap()
}

fn api(stack: &Stack, now: DateTime<Utc>) -> Api<DynamoStore, SqsBus, FixedClock> {
    Api {
        store: stack.store(),
        bus: stack.api_bus(),
        clock: FixedClock(now),
        verifier: Verifier::hs256(SECRET, ISSUER),
    }
}

async fn call(
    api: &Api<DynamoStore, SqsBus, FixedClock>,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Option<Value>,
) -> Answer {
    let auth = token.map(|t| format!("Bearer {t}"));
    let mut headers = vec![("content-type", "application/json")];
    if let Some(auth) = &auth {
        headers.push(("authorization", auth.as_str()));
    }
    let body = body.map(|b| b.to_string()).unwrap_or_default();
    answer(api.handle(request(&http_event(method, path, &headers, &body))).await)
}

async fn submit_and_qualify(stack: &Stack, now: DateTime<Utc>, body: Value) -> String {
    let intake = Intake {
        store: stack.store(),
        bus: stack.full_bus(),
        clock: FixedClock(now),
        rules: SubmissionRules::default(),
        origins: AllowedOrigins::default(),
        limits: domain::capture::ratelimit::RateLimits::off(),
    };
    let event = http_event(
        "POST",
        "/v1/leads",
        &[("content-type", "application/json")],
        &body.to_string(),
    );
    let got = answer(intake.handle(request(&event)).await);
    assert_eq!(got.status, 202);
    let consumer = DedupScore {
        store: stack.store(),
        bus: stack.full_bus(),
    };
    while stack.deliver("CaptureQueue", |e| consumer.handle(e, now)).await.0 > 0 {}
    got.body["lead_id"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn every_route_needs_a_valid_token_and_the_right_role() {
    let stack = Stack::start().await;
    let api = api(&stack, t("2026-11-20T09:00:00Z"));
    let expired = mint_hs256(SECRET, ISSUER, "root", &[Role::Admin], -300);
    let forged = mint_hs256("not-the-secret", ISSUER, "root", &[Role::Admin], 600);
    let (head, _) = admin()
        .rsplit_once('.')
        .map(|(h, s)| (h.to_string(), s.to_string()))
        .unwrap();
    let tampered = format!("{head}.AAAA");
    for (method, path) in [
        ("GET", "/v1/leads/01M82P55JZ0A21HC6YSZ0PKEW7"),
        ("POST", "/v1/leads/01M82P55JZ0A21HC6YSZ0PKEW7/actions"),
        ("GET", "/v1/pools/general/leads"),
        ("GET", "/v1/reps"),
        ("PUT", "/v1/pools/general"),
        ("GET", "/v1/config/rules"),
        ("PUT", "/v1/config/rules"),
        ("PUT", "/v1/customers/c1"),
    ] {
        for bad in [
            None,
            Some("wrong"),
            Some(""),
            Some(expired.as_str()),
            Some(forged.as_str()),
            Some(tampered.as_str()),
        ] {
            let got = call(&api, method, path, bad, Some(json!({}))).await;
            assert_eq!(got.status, 401, "{method} {path} with {bad:?}");
            assert_eq!(got.body["fields"][0]["field"], "authorization");
        }
    }
    let expired_answer = call(&api, "GET", "/v1/reps", Some(&expired), None).await;
    assert_eq!(expired_answer.body["fields"][0]["reason"], "the token is expired");

    // Roles: configuration is for admins; reps and finance get 403, not 404.
    let rep = token("bj-li", &[Role::Rep]);
    let finance = token("cfo", &[Role::Finance]);
    for (who, method, path) in [
        (&rep, "PUT", "/v1/config/rules"),
        (&rep, "GET", "/v1/reps"),
        (&rep, "PUT", "/v1/reps/bj-li"),
        (&finance, "PUT", "/v1/pools/general"),
        (&finance, "GET", "/v1/config/routing"),
    ] {
        let got = call(&api, method, path, Some(who), Some(json!({}))).await;
        assert_eq!(got.status, 403, "{method} {path}");
    }
    let roleless = call(&api, "GET", "/v1/reps", Some(&token("x", &[])), None).await;
    assert_eq!(roleless.status, 403);
    let closed = Api {
        verifier: Verifier::hs256("", ISSUER),
        ..api
    };
    assert_eq!(
        call(&closed, "GET", "/v1/config/rules", Some(&admin()), None)
            .await
            .status,
        401,
        "no secret configured: closed"
    );
}

#[tokio::test]
async fn a_lead_explains_its_score_as_of_now_with_its_repeats_and_touches() {
    let stack = Stack::start().await;
    let day0 = t("2026-11-01T09:00:00Z");
    let id = submit_and_qualify(
        &stack,
        day0,
        json!({"phone": "13800138000", "company_size": "1-49", "title": "CEO"}),
    )
    .await;
    let repeat = submit_and_qualify(&stack, day0, json!({"phone": "138 0013 8000", "utm_source": "baidu"})).await;

    let got = call(
        &api(&stack, day0),
        "GET",
        &format!("/v1/leads/{id}"),
        Some(&admin()),
        None,
    )
    .await;
    assert_eq!(got.status, 200, "{}", got.body);
    assert_eq!(
        got.body["explanation"],
        json!([
            "+25 title VP or above",
            "-10 company smaller than 50 people",
            "+40 form submitted (2×)"
        ])
    );
    assert_eq!(got.body["score"]["cell"], "D3");
    assert_eq!(got.body["repeats"][0]["lead_id"], repeat.as_str());
    assert_eq!(got.body["touchpoints"].as_array().unwrap().len(), 1);
    assert_eq!(got.body["lead"]["repeat_count"], 1);

    // Thirty days later (one half-life) the same events explain half the engagement.
    let later = call(
        &api(&stack, t("2026-12-01T09:00:00Z")),
        "GET",
        &format!("/v1/leads/{id}"),
        Some(&admin()),
        None,
    )
    .await;
    assert_eq!(later.body["score"]["engagement"], 20);
    assert_eq!(later.body["explanation"][2], "+20 form submitted (2×)");

    let bad = call(&api(&stack, day0), "GET", "/v1/leads/not-an-id", Some(&admin()), None).await;
    assert_eq!((bad.status, bad.body["fields"][0]["field"].as_str()), (400, Some("id")));
    let missing = call(
        &api(&stack, day0),
        "GET",
        "/v1/leads/01M82P55JZ0A21HC6YSZ0PKEW7",
        Some(&admin()),
        None,
    )
    .await;
    assert_eq!(missing.status, 404);
}

#[tokio::test]
async fn rule_changes_are_versioned_validated_and_apply_to_the_next_lead() {
    let stack = Stack::start().await;
    let now = t("2026-11-20T09:00:00Z");
    let api = api(&stack, now);
    let mut rules = call(&api, "GET", "/v1/config/rules", Some(&admin()), None).await.body;
    assert_eq!(rules["version"], 0, "defaults until the first save");
    assert_eq!(rules["scoring"]["engagement_points"]["form_submit"], 20);

    rules["scoring"]["engagement_points"]["form_submit"] = json!(35);
    rules["cleaning"]["sensitive_words"]
        .as_array_mut()
        .unwrap()
        .push(json!("免费领取"));
    let saved = call(&api, "PUT", "/v1/config/rules", Some(&admin()), Some(rules.clone())).await;
    assert_eq!(saved.status, 200, "{}", saved.body);
    assert_eq!(saved.body["version"], 1);
    let stale = call(&api, "PUT", "/v1/config/rules", Some(&admin()), Some(rules.clone())).await;
    assert_eq!(stale.status, 409, "based on version 0, which is no longer current");
    assert_eq!(stale.body["fields"][0]["field"], "version");

    let mut broken = saved.body.clone();
    broken["scoring"]["level_minimums"] = json!([40, 60, 80]);
    broken["dedup"]["window_days"] = json!(0);
    let invalid = call(&api, "PUT", "/v1/config/rules", Some(&admin()), Some(broken)).await;
    assert_eq!(invalid.status, 422);
    let fields = invalid.fields();
    assert_eq!(fields, ["scoring.level_minimums", "dedup.window_days"]);
    assert_eq!(
        call(&api, "PUT", "/v1/config/rules", Some(&admin()), Some(json!([1])))
            .await
            .status,
        400
    );
    let unversioned = call(&api, "PUT", "/v1/config/rules", Some(&admin()), Some(json!({}))).await;
    assert_eq!(
        (unversioned.status, unversioned.body["fields"][0]["field"].as_str()),
        (422, Some("version"))
    );
    let typo = call(
        &api,
        "PUT",
        "/v1/config/rules",
        Some(&admin()),
        Some(json!({"version": 1, "scorng": {}})),
    )
    .await;
    assert_eq!(typo.status, 422, "unknown fields are refused, not silently ignored");

    // No redeploy: the next lead is scored and cleaned by version 1.
    let scored = submit_and_qualify(&stack, now, json!({"phone": "13800138000"})).await;
    let lead = call(&api, "GET", &format!("/v1/leads/{scored}"), Some(&admin()), None).await;
    assert_eq!(lead.body["score"]["engagement"], 35);
    let spam = submit_and_qualify(&stack, now, json!({"phone": "13700137000", "message": "点击免费领取"})).await;
    let lead = call(&api, "GET", &format!("/v1/leads/{spam}"), Some(&admin()), None).await;
    assert_eq!(lead.body["lead"]["stage"], "invalid");
}

#[tokio::test]
async fn a_draft_is_tried_on_a_sample_lead_and_nothing_is_saved() {
    let stack = Stack::start().await;
    let now = t("2026-11-20T09:00:00Z");
    let api = api(&stack, now);
    let marketing = token("mkt", &[Role::Marketing]);
    let sample = json!({
        "title": "市场副总裁", "company_size": "1000人以上", "industry": "软件",
        "events": [{"kind": "form_submit"}, {"kind": "page_view", "days_ago": 30}]
    });
    let mut draft = call(&api, "GET", "/v1/config/rules", Some(&marketing), None).await.body;
    draft["scoring"]["engagement_points"]["form_submit"] = json!(35);
    draft["scoring"]["fit_rules"][2]["points"] = json!(40);

    let tried = call(
        &api,
        "POST",
        "/v1/config/rules/try",
        Some(&marketing),
        Some(json!({"rules": draft, "sample": sample})),
    )
    .await;
    assert_eq!(tried.status, 200, "{}", tried.body);
    assert_eq!(tried.body["score"]["fit"], 30 + 25 + 40);
    // 35 for the form now; a page view's 5 halved by the 30-day half-life rounds to 3.
    assert_eq!(tried.body["score"]["engagement"], 35 + 3);
    assert_eq!(tried.body["score"]["cell"], "A4");
    assert_eq!(tried.body["rules_version"], 0);
    assert_eq!(tried.body["mql"], false, "38 is below the 60 an MQL needs");
    assert_eq!(
        tried.body["explanation"],
        json!([
            "+30 company has 500+ people",
            "+25 title VP or above",
            "+40 target industry",
            "+35 form submitted",
            "+3 visited a web page"
        ])
    );

    // Nothing was saved; without a draft the saved rules score it.
    let saved = call(&api, "GET", "/v1/config/rules", Some(&marketing), None).await.body;
    assert_eq!(
        (
            saved["version"].clone(),
            saved["scoring"]["engagement_points"]["form_submit"].clone()
        ),
        (json!(0), json!(20))
    );
    let as_saved = call(
        &api,
        "POST",
        "/v1/config/rules/try",
        Some(&marketing),
        Some(json!({"sample": sample})),
    )
    .await;
    assert_eq!(
        (as_saved.status, as_saved.body["score"]["fit"].clone()),
        (200, json!(70))
    );
    assert_eq!(as_saved.body["score"]["engagement"], 20 + 3);

    // A broken draft or sample is named field by field, as a save would name it.
    let mut broken = saved.clone();
    broken["scoring"]["level_minimums"] = json!([40, 60, 80]);
    let bad = call(
        &api,
        "POST",
        "/v1/config/rules/try",
        Some(&marketing),
        Some(json!({"rules": broken, "sample": {"events": [{"kind": "page_view", "days_ago": 4000}]}})),
    )
    .await;
    assert_eq!(bad.status, 422);
    let fields = bad.fields();
    assert_eq!(fields, ["rules.scoring.level_minimums", "sample.events[0].days_ago"]);
    // Refused naming the field: serde would read a struct from an array, but the
    // documents are objects; a misspelt field or an unknown event kind is no guess.
    for (body, field) in [
        (json!({"sample": [null, null]}), "sample"),
        (json!({"rules": [], "sample": {}}), "rules"),
        (
            json!({"sample": {"events": [{"kind": "page_view"}, ["page_view", 3]]}}),
            "sample.events[1]",
        ),
        (json!({"sample": {"titel": "CEO"}}), "sample.titel"),
        (
            json!({"sample": {"events": [{"kind": "fax"}]}}),
            "sample.events[0].kind",
        ),
    ] {
        let refused = call(&api, "POST", "/v1/config/rules/try", Some(&marketing), Some(body)).await;
        assert_eq!((refused.status, refused.fields()), (422, vec![field]));
    }
    let rep = token("bj-zhang", &[Role::Rep]);
    let refused = call(
        &api,
        "POST",
        "/v1/config/rules/try",
        Some(&rep),
        Some(json!({"sample": {}})),
    )
    .await;
    assert_eq!(refused.status, 403);
}

#[tokio::test]
async fn customers_are_validated_and_then_matched() {
    let stack = Stack::start().await;
    let now = t("2026-11-20T09:00:00Z");
    let api = api(&stack, now);
    let bad = call(
        &api,
        "PUT",
        "/v1/customers/c%201",
        Some(&admin()),
        Some(json!({"name": "", "contact_phones": ["123"]})),
    )
    .await;
    assert_eq!(bad.status, 422);
    let fields = bad.fields();
    assert_eq!(fields, ["id", "name", "contact_phones[0]"]);
    let ok = call(
        &api,
        "PUT",
        "/v1/customers/cust-9",
        Some(&admin()),
        Some(json!({"name": "深圳市腾云网络科技有限公司", "contact_phones": ["0755-8888 1234"], "owner": "rep-wang"})),
    )
    .await;
    assert_eq!(ok.status, 200, "{}", ok.body);
    assert_eq!(ok.body["company_core"], "腾云");
    assert_eq!(ok.body["contact_phones"][0], "+8675588881234");
    let id = submit_and_qualify(&stack, now, json!({"phone": "13800138000", "company": "腾云网络"})).await;
    let lead = call(&api, "GET", &format!("/v1/leads/{id}"), Some(&admin()), None).await;
    assert_eq!(lead.body["lead"]["owner"], "rep-wang");
    assert_eq!(lead.body["lead"]["dedup"]["label"], "existing_customer");
}
