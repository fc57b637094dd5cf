//! Data-subject erasure against the emulator: one person captured three ways (a form, a
//! repeat, another channel) plus a bot-trap copy, someone else beside them; dedup-score
//! runs; two identical erasure requests race; then no item of the table holds the
//! person's phone, e-mail or name, the other person is untouched, the reports read the
//! same, the audit record is there, a repeat changes nothing and the person's next
//! submission is a new lead.

use api::auth::{mint_hs256, Verifier};
use api::Api;
use aws_sdk_dynamodb::types::AttributeValue;
use chrono::{DateTime, Duration, Utc};
use dedup_score::DedupScore;
use domain::assign::actions::Role;
use domain::capture::submission::SubmissionRules;
use domain::lead::ports::FixedClock;
use domain::lead::qualification::Label;
use domain::lead::Stage;
use intake::http::AllowedOrigins;
use intake::Intake;
use leadflow_aws::{DynamoStore, SqsBus};
use leadflow_tests::{answer, http_event, request, Answer, Stack};
use serde_json::{json, Value};
use std::collections::HashMap;

const SECRET: &str = "s3cret-for-tests";
const ISSUER: &str = "leadflow-test";
/// What must not survive anywhere: the phone's digits (in E.164 and in every key), the
/// e-mail's local part (also inside the referrer URL), the name (also inside the message).
const SECRETS: &[&str] = &["13800138000", "zhang.san", "张三丰"];

fn t(s: &str) -> DateTime<Utc> {
    s.parse().unwrap()
}

fn intake(stack: &Stack, at: DateTime<Utc>) -> Intake<DynamoStore, SqsBus, FixedClock> {
    Intake {
        limits: domain::capture::ratelimit::RateLimits::off(),
        store: stack.store(),
        bus: stack.full_bus(),
        clock: FixedClock(at),
        rules: SubmissionRules::default(),
        origins: AllowedOrigins::default(),
    }
}

fn api(stack: &Stack, now: DateTime<Utc>) -> Api<DynamoStore, SqsBus, FixedClock> {
    Api {
        store: stack.store(),
        bus: stack.api_bus(),
        clock: FixedClock(now),
        verifier: Verifier::hs256(SECRET, ISSUER),
    }
}

async fn submit(stack: &Stack, at: DateTime<Utc>, body: Value) -> String {
    let event = http_event(
        "POST",
        "/v1/leads",
        &[("content-type", "application/json")],
        &body.to_string(),
    );
    let got = answer(intake(stack, at).handle(request(&event)).await);
    assert_eq!(got.status, 202, "{body}: {}", got.body);
    got.body["lead_id"].as_str().unwrap().to_string()
}

async fn drain_capture(stack: &Stack, now: DateTime<Utc>) {
    let app = DedupScore {
        store: stack.store(),
        bus: stack.full_bus(),
    };
    while stack.deliver("CaptureQueue", |event| app.handle(event, now)).await.0 > 0 {}
}

async fn call(
    api: &Api<DynamoStore, SqsBus, FixedClock>,
    method: &str,
    path: &str,
    role: Role,
    body: Option<Value>,
) -> Answer {
    let token = mint_hs256(SECRET, ISSUER, "admin-wang", &[role], 600);
    let auth = format!("Bearer {token}");
    let headers = [("content-type", "application/json"), ("authorization", auth.as_str())];
    let body = body.map(|b| b.to_string()).unwrap_or_default();
    answer(api.handle(request(&http_event(method, path, &headers, &body))).await)
}

/// Every string in an attribute, nested ones and map keys included.
fn strings(value: &AttributeValue, out: &mut Vec<String>) {
    match value {
        AttributeValue::S(s) | AttributeValue::N(s) => out.push(s.clone()),
        AttributeValue::B(b) => out.push(String::from_utf8_lossy(b.as_ref()).into_owned()),
        AttributeValue::Ss(list) | AttributeValue::Ns(list) => out.extend(list.iter().cloned()),
        AttributeValue::L(list) => list.iter().for_each(|v| strings(v, out)),
        AttributeValue::M(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            for k in keys {
                out.push(k.clone());
                strings(&map[k], out);
            }
        }
        _ => {}
    }
}

/// The table's items as sorted text, one line per item (to compare whole tables).
async fn table_text(stack: &Stack) -> Vec<String> {
    let mut lines: Vec<String> = stack.items().await.iter().map(item_text).collect();
    lines.sort();
    lines
}

/// A lead's compressed body is searched as the lead's JSON: compressed, a value need
/// not appear in its bytes.
fn item_text(item: &HashMap<String, AttributeValue>) -> String {
    let mut keys: Vec<&String> = item.keys().collect();
    keys.sort();
    keys.iter()
        .map(|k| {
            if k.as_str() == leadflow_aws::keys::LEAD_BODY {
                let lead = leadflow_aws::item::lead_from_item(item.clone()).expect("a lead's body");
                return format!("body={}", serde_json::to_string(&lead).expect("json"));
            }
            let mut out = Vec::new();
            strings(&item[*k], &mut out);
            format!("{k}={}", out.join("|"))
        })
        .collect::<Vec<_>>()
        .join(" ")
}

async fn reports(api: &Api<DynamoStore, SqsBus, FixedClock>) -> Vec<Value> {
    let mut out = Vec::new();
    for path in [
        "/v1/reports/funnel?from=2026-11-01&to=2026-11-30&group_by=channel",
        "/v1/reports/funnel?from=2026-11-01&to=2026-11-30&group_by=campaign",
        "/v1/reports/invalid-reasons?from=2026-11-01&to=2026-11-30",
        "/v1/exports/roi?from=2026-11-01&to=2026-11-30",
        "/v1/reports/dashboard?from=2026-11-01&to=2026-11-30&period=week",
    ] {
        let got = call(api, "GET", path, Role::Admin, None).await;
        assert_eq!(got.status, 200, "{path}: {}", got.body);
        out.push(got.body);
    }
    out
}

#[tokio::test]
async fn a_person_is_erased_everywhere_and_the_numbers_stay() {
    let stack = Stack::start().await;
    let now = t("2026-11-20T09:00:00Z");
    let form = submit(
        &stack,
        now,
        json!({"name": "张三丰", "phone": "138 0013 8000", "company": "北京纷扬科技有限公司", "title": "副总裁",
               "message": "请张三丰回电", "submission_id": "form-zs-1", "campaign_id": "spring",
               "referrer": "https://ads.example.cn/?email=zhang.san@fenyang.cn"}),
    )
    .await;
    let repeat = submit(
        &stack,
        now + Duration::minutes(3),
        json!({"name": "张三丰", "phone": "+86-138-0013-8000", "email": "Zhang.San@fenyang.cn", "company": "纷扬科技"}),
    )
    .await;
    let other_channel = submit(
        &stack,
        now + Duration::minutes(6),
        json!({"email": "zhang.san@fenyang.cn", "channel": "douyin_ad", "utm_term": "crm"}),
    )
    .await;
    // The bot trap keeps what was typed on an invalid lead that no dedup key points to.
    let trapped = submit(
        &stack,
        now + Duration::minutes(7),
        json!({"name": "张三丰", "phone": "13800138000", "website": "http://spam.example"}),
    )
    .await;
    let other = submit(
        &stack,
        now + Duration::minutes(8),
        json!({"name": "李四", "phone": "13900139000", "email": "li.si@example.com", "submission_id": "form-ls-1"}),
    )
    .await;
    drain_capture(&stack, now + Duration::minutes(10)).await;
    assert_eq!(stack.lead(&repeat).await.stage, Stage::Merged);
    assert_eq!(stack.lead(&other_channel).await.stage, Stage::Merged);
    assert_eq!(stack.lead(&trapped).await.stage, Stage::Invalid);

    let later = now + Duration::hours(2);
    let admin_api = api(&stack, later);
    let reports_before = reports(&admin_api).await;
    let other_before: Vec<String> = stack
        .items_with_pk_prefix(&format!("LEAD#{other}"))
        .await
        .iter()
        .map(item_text)
        .collect();
    let before = table_text(&stack).await;
    assert!(
        SECRETS.iter().all(|s| before.iter().any(|line| line.contains(s))),
        "the search finds each value before the erasure"
    );

    // Refused: other roles, bad input (422 naming the field).
    let body = json!({"reference": "DSR-2026-0042", "phone": "138-0013-8000", "email": "ZHANG.SAN@fenyang.cn"});
    for role in [Role::Manager, Role::Rep, Role::Finance] {
        let got = call(&admin_api, "POST", "/v1/erasures", role, Some(body.clone())).await;
        assert_eq!(got.status, 403, "{role:?}");
    }
    for (bad, field) in [
        (json!({"reference": "DSR-1", "phone": "12345"}), "phone"),
        (json!({"phone": "13800138000"}), "reference"),
        (json!({"reference": "DSR-1"}), "phone"),
        (json!({"reference": "DSR-1", "lead_ids": ["nope"]}), "lead_ids.0"),
        (
            json!({"reference": "DSR-1", "phone": "13800138000", "fone": "1"}),
            "fone",
        ),
    ] {
        let got = call(&admin_api, "POST", "/v1/erasures", Role::Admin, Some(bad.clone())).await;
        assert_eq!(got.status, 422, "{bad}: {}", got.body);
        assert_eq!(got.body["fields"][0]["field"], field, "{bad}: {}", got.body);
    }
    // A well-formed id of no stored lead: 404 naming it (the data decides, not the shape).
    let unknown = json!({"reference": "DSR-1", "lead_ids": ["01KAJ0S1AW2X4S5QYJ3VQ2CZ4N"]});
    let got = call(&admin_api, "POST", "/v1/erasures", Role::Admin, Some(unknown)).await;
    assert_eq!(got.status, 404, "{}", got.body);
    assert_eq!(got.body["fields"][0]["field"], "lead_ids.0", "{}", got.body);
    assert!(table_text(&stack).await == before, "refused requests write nothing");

    // Two identical requests at once: one erases, the other answers with its record.
    let (a, b) = tokio::join!(
        call(&admin_api, "POST", "/v1/erasures", Role::Admin, Some(body.clone())),
        call(&admin_api, "POST", "/v1/erasures", Role::Admin, Some(body.clone())),
    );
    let mut statuses = [a.status, b.status];
    statuses.sort();
    assert_eq!(statuses, [200, 201], "{} / {}", a.body, b.body);
    assert_eq!(a.body, b.body, "both answer with the same record");
    let record = a.body;
    assert_eq!(record["status"], "done");
    assert_eq!(record["requested_by"], "admin-wang");
    let mut mine = vec![form.clone(), repeat.clone(), other_channel.clone(), trapped.clone()];
    mine.sort();
    assert_eq!(record["lead_ids"], json!(mine));
    assert_eq!(
        record["counts"],
        json!({"leads": 4, "repeats": 2, "invalid_leads": 1, "already_erased": 0, "touchpoints": 3,
               "notes": 0, "dedup_keys": 2, "submission_records": 1})
    );

    // A byte search over every attribute of every item.
    let after = table_text(&stack).await;
    for secret in SECRETS {
        let left: Vec<&String> = after.iter().filter(|line| line.contains(secret)).collect();
        assert!(left.is_empty(), "{secret} is still in {left:#?}");
    }
    let other_after: Vec<String> = stack
        .items_with_pk_prefix(&format!("LEAD#{other}"))
        .await
        .iter()
        .map(item_text)
        .collect();
    assert_eq!(other_after, other_before, "the other person is untouched");
    assert_eq!(
        stack.lead(&other).await.contact.phone.as_deref(),
        Some("+8613900139000")
    );
    assert_eq!(reports(&admin_api).await, reports_before, "the reports read the same");
    for id in &mine {
        let lead = stack.lead(id).await;
        assert_eq!(lead.erased_at, Some(later));
        assert!(lead.source.channel == "web_form" || lead.source.channel == "douyin_ad");
    }
    assert_eq!(stack.lead(&form).await.source.campaign_id.as_deref(), Some("spring"));
    assert_eq!(stack.lead(&form).await.repeat_count, 2);

    // The audit record, for admins only.
    let path = format!("/v1/erasures/{}", record["id"].as_str().unwrap());
    let got = call(&admin_api, "GET", &path, Role::Admin, None).await;
    assert_eq!((got.status, &got.body), (200, &record));
    assert_eq!(call(&admin_api, "GET", &path, Role::Manager, None).await.status, 403);
    assert_eq!(
        call(&admin_api, "GET", "/v1/erasures/era_nope", Role::Admin, None)
            .await
            .status,
        404
    );

    // The same request again: the same answer, not one item changed.
    let settled = table_text(&stack).await;
    let again = call(
        &api(&stack, later + Duration::days(1)),
        "POST",
        "/v1/erasures",
        Role::Admin,
        Some(body),
    )
    .await;
    assert_eq!((again.status, &again.body), (200, &record));
    assert!(table_text(&stack).await == settled, "a repeated request writes nothing");

    // The person comes back: a new lead of their own, not a repeat of an erased one.
    let back_at = later + Duration::days(2);
    let back = submit(
        &stack,
        back_at,
        json!({"phone": "13800138000", "submission_id": "form-zs-1"}),
    )
    .await;
    assert!(
        !mine.contains(&back),
        "the old submission id no longer answers with an erased lead"
    );
    drain_capture(&stack, back_at).await;
    let lead = stack.lead(&back).await;
    assert_eq!(lead.dedup.unwrap().label, Label::PureNew);
    assert_eq!(lead.stage, Stage::Aql);
}
