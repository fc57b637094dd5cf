//! `POST /v1/routing/preview` against the DynamoDB/SQS emulator: reps, pools and routing
//! set up through the API; a lead previewed by description and by id, each skip reason
//! on the right rep; the table byte-identical after any number of previews; and then a
//! real assignment (the assign function on `lead.ready`) giving the lead to the rep the
//! preview named. Role refusals and bad inputs.

use api::Api;
use assign::Assign;
use aws_lambda_events::sqs::SqsEvent;
use aws_sdk_dynamodb::types::AttributeValue;
use chrono::{DateTime, Utc};
use domain::assign::actions::Role;
use domain::lead::ports::{FixedClock, LeadStore, NewLead};
use domain::lead::qualification::Grade;
use domain::lead::{Lead, LeadId, Stage};
use domain::memory::RecordingNotifier;
use domain::qualify::scoring::{score, ScoringRules};
use domain::{lead::messages::Envelope, lead::messages::Message, lead::messages::ReadyReason};
use leadflow_aws::{DynamoStore, SqsBus};
use leadflow_tests::{answer, api_token, http_event, request, Answer, Stack};
use serde_json::{json, Value};

/// Monday 10:00 in Beijing.
const WORK: &str = "2026-11-23T02:00:00Z";
const PREVIEW: &str = "/v1/routing/preview";

fn t(s: &str) -> DateTime<Utc> {
    s.parse().unwrap()
}

fn api(stack: &Stack, now: DateTime<Utc>) -> Api<DynamoStore, SqsBus, FixedClock> {
    stack.api(FixedClock(now))
}

fn token(sub: &str, role: Role) -> String {
    api_token(sub, &[role])
}

async fn call(api: &Api<DynamoStore, SqsBus, FixedClock>, method: &str, path: &str, token: &str, body: &str) -> Answer {
    let auth = format!("Bearer {token}");
    let headers = [("content-type", "application/json"), ("authorization", auth.as_str())];
    answer(api.handle(request(&http_event(method, path, &headers, body))).await)
}

async fn put(api: &Api<DynamoStore, SqsBus, FixedClock>, path: &str, body: Value) -> Value {
    let got = call(api, "PUT", path, &token("root", Role::Admin), &body.to_string()).await;
    assert_eq!(got.status, 200, "PUT {path}: {}", got.body);
    got.body
}

async fn preview(api: &Api<DynamoStore, SqsBus, FixedClock>, body: Value) -> Value {
    let got = call(api, "POST", PREVIEW, &token("boss", Role::Manager), &body.to_string()).await;
    assert_eq!(got.status, 200, "{}", got.body);
    got.body
}

/// The skip code the preview gives `rep` (`None`: chosen).
fn skipped(preview: &Value, rep: &str) -> Option<String> {
    let row = preview["reps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == rep)
        .unwrap_or_else(|| panic!("{rep} is listed: {preview}"));
    row["skipped"]["code"].as_str().map(str::to_string)
}

/// The real assignment: the assign function handling `lead.ready` for `id`.
async fn assign_for_real(stack: &Stack, id: &LeadId, now: DateTime<Utc>) -> Option<String> {
    let envelope = Envelope::new(
        Message::LeadReady {
            lead_id: id.clone(),
            reason: ReadyReason::New,
            version: 1,
        },
        now,
    );
    let event: SqsEvent = serde_json::from_value(json!({"Records": [{
        "messageId": format!("m-{id}"),
        "body": envelope.to_json(),
        "attributes": {"ApproximateReceiveCount": "1"},
        "messageAttributes": {},
        "eventSource": "aws:sqs",
    }]}))
    .unwrap();
    let app = Assign {
        store: stack.store(),
        bus: stack.full_bus(),
        notifier: RecordingNotifier::default(),
    };
    let response = app.handle(event, now).await;
    assert!(response.batch_item_failures.is_empty());
    stack.lead(id.as_str()).await.owner
}

/// An `aql` lead as dedup-score leaves it, in `province`, scored (into `cell` if given).
async fn stored_lead(store: &DynamoStore, at: DateTime<Utc>, province: &str, cell: Option<(Grade, u8)>) -> LeadId {
    let mut lead = Lead::new(LeadId::generate(at), "web_form", at);
    lead.set_stage(Stage::Aql, at);
    lead.profile.province = Some(province.into());
    let mut s = score(&lead, &[], &ScoringRules::default(), at);
    if let Some((grade, level)) = cell {
        (s.grade, s.level, s.cell) = (grade, level, format!("{grade:?}{level}"));
    }
    lead.score = Some(s);
    store.create_lead(&NewLead::new(lead.clone(), None)).await.unwrap();
    lead.id
}

/// An attribute value written out byte for byte, with its type, map keys in order.
fn canonical(value: &AttributeValue) -> String {
    let sorted = |mut parts: Vec<String>| {
        parts.sort();
        parts.join(",")
    };
    match value {
        AttributeValue::S(s) => format!("S{s:?}"),
        AttributeValue::N(n) => format!("N{n}"),
        AttributeValue::Bool(b) => format!("BOOL{b}"),
        AttributeValue::Null(_) => "NULL".into(),
        AttributeValue::B(b) => format!("B{:?}", b.as_ref()),
        AttributeValue::Ss(set) => format!("SS[{}]", sorted(set.iter().map(|s| format!("{s:?}")).collect())),
        AttributeValue::Ns(set) => format!("NS[{}]", sorted(set.clone())),
        AttributeValue::Bs(set) => format!(
            "BS[{}]",
            sorted(set.iter().map(|b| format!("{:?}", b.as_ref())).collect())
        ),
        AttributeValue::L(list) => format!("L[{}]", list.iter().map(canonical).collect::<Vec<_>>().join(",")),
        AttributeValue::M(map) => format!(
            "M{{{}}}",
            sorted(map.iter().map(|(k, v)| format!("{k:?}:{}", canonical(v))).collect())
        ),
        other => panic!("an attribute type this test does not know: {other:?}"),
    }
}

/// Every item of the table, each written out in full, in a stable order.
async fn table_dump(stack: &Stack) -> Vec<String> {
    let mut items: Vec<String> = stack
        .items()
        .await
        .into_iter()
        .map(|item| canonical(&AttributeValue::M(item)))
        .collect();
    items.sort();
    items
}

/// The demo team: a weighted Beijing pool where each member is out for another reason,
/// and a warm-up pool whose leads fill one member's holding cap and another's daily cap.
async fn team(api: &Api<DynamoStore, SqsBus, FixedClock>) {
    let office = json!({"time_zone": "Asia/Shanghai", "days": ["Mon","Tue","Wed","Thu","Fri"],
        "start": "09:00:00", "end": "18:00:00"});
    let night = json!({"time_zone": "Asia/Shanghai", "days": ["Mon","Tue","Wed","Thu","Fri"],
        "start": "22:00:00", "end": "06:00:00"});
    for (id, rep) in [
        (
            "bj-zhang",
            json!({"name": "张伟", "tier": "top", "weight": 1, "working_hours": office}),
        ),
        (
            "bj-li",
            json!({"name": "李娜", "tier": "regular", "weight": 3, "working_hours": office}),
        ),
        (
            "bj-wang",
            json!({"name": "王芳", "tier": "regular", "working_hours": night}),
        ),
        (
            "bj-zhao",
            json!({"name": "赵磊", "tier": "regular",
            "out_of_office": [{"from": "2026-11-20T00:00:00Z", "until": "2026-11-27T00:00:00Z"}]}),
        ),
        ("bj-sun", json!({"name": "孙丽", "tier": "new", "holding_cap": 1})),
        ("bj-qian", json!({"name": "钱勇", "tier": "regular", "daily_cap": 1})),
        ("sh-chen", json!({"name": "陈杰", "tier": "top"})),
    ] {
        put(api, &format!("/v1/reps/{id}"), rep).await;
    }
    put(
        api,
        "/v1/pools/beijing",
        json!({"name": "北京", "strategy": {"kind": "weighted"},
            "members": ["bj-zhang", "bj-li", "bj-wang", "bj-zhao", "bj-sun", "bj-qian"]}),
    )
    .await;
    put(
        api,
        "/v1/pools/warmup",
        json!({"name": "天津", "strategy": {"kind": "round_robin"}, "members": ["bj-sun", "bj-qian"]}),
    )
    .await;
    put(
        api,
        "/v1/pools/shanghai",
        json!({"name": "上海", "strategy": {"kind": "claim_only"}, "members": ["sh-chen"]}),
    )
    .await;
    put(
        api,
        "/v1/config/routing",
        json!({"version": 0, "default_pool": "beijing", "rules": [
            {"pool": "warmup", "provinces": ["天津"]},
            {"pool": "shanghai", "provinces": ["上海"]},
            {"pool": "beijing", "provinces": ["北京"]},
        ]}),
    )
    .await;
}

#[tokio::test]
async fn the_preview_names_every_skip_reason_writes_nothing_and_assignment_agrees() {
    let stack = Stack::start().await;
    let store = stack.store();
    let now = t(WORK);
    let api = api(&stack, now);
    team(&api).await;
    // Two Tianjin leads, really assigned: 孙丽 is then at her holding cap, 钱勇 at his
    // daily cap.
    for expected in ["bj-sun", "bj-qian"] {
        let id = stored_lead(&store, now, "天津", None).await;
        let named = preview(&api, json!({"lead_id": id})).await;
        assert_eq!(named["rep"], expected, "{named}");
        assert_eq!(assign_for_real(&stack, &id, now).await.as_deref(), Some(expected));
    }

    // A lead described as a Beijing VP at a 1000+ software company: grade B (70 points),
    // so the weighted pool goes by weight.
    let described = json!({"lead": {"company": "北京纷扬科技有限公司", "title": "销售副总裁",
        "industry": "软件", "company_size": "1000人以上", "channel": "web_form", "events": ["form_submit"]}});
    // The same lead stored, to preview by id.
    let id = stored_lead(&store, now, "北京", None).await;
    let before = table_dump(&stack).await;
    let by_body = preview(&api, described.clone()).await;
    assert_eq!(by_body["lead"]["id"], Value::Null);
    assert_eq!(
        (&by_body["lead"]["province"], &by_body["lead"]["province_from"]),
        (&json!("北京"), &json!("company"))
    );
    assert_eq!(
        by_body["lead"]["score"]["cell"], "B4",
        "scored with the rules in service"
    );
    assert_eq!(
        (
            &by_body["pool"]["id"],
            &by_body["pool"]["rule"],
            &by_body["pool"]["strategy"]
        ),
        (&json!("beijing"), &json!(2), &json!("weighted"))
    );
    let rules: Vec<(bool, Value)> = by_body["rules"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["matched"].as_bool().unwrap(), r["reason"]["code"].clone()))
        .collect();
    assert_eq!(
        rules,
        [
            (false, json!("province")),
            (false, json!("province")),
            (true, Value::Null)
        ]
    );
    assert!(
        by_body["rules"][0]["reason"]["text"].as_str().unwrap().contains("天津"),
        "{}",
        by_body["rules"][0]
    );
    assert_eq!(by_body["rep"], "bj-li", "weight 3 against 1: {by_body}");
    assert_eq!(by_body["how"], "auto_assigned");
    assert_eq!(by_body["no_rep"], Value::Null);
    for (rep, reason) in [
        ("bj-li", None),
        ("bj-zhang", Some("rotation")),
        ("bj-wang", Some("off_shift")),
        ("bj-zhao", Some("out_of_office")),
        ("bj-sun", Some("holding_cap")),
        ("bj-qian", Some("daily_cap")),
        ("sh-chen", Some("not_a_member")),
    ] {
        assert_eq!(skipped(&by_body, rep).as_deref(), reason, "{rep}: {by_body}");
    }
    let sun = by_body["reps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == "bj-sun")
        .unwrap();
    assert_eq!(
        (&sun["holding"], &sun["holding_cap"], &sun["eligible"], &sun["member"]),
        (&json!(1), &json!(1), &json!(false), &json!(true))
    );
    let qian = by_body["reps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == "bj-qian")
        .unwrap();
    assert_eq!((&qian["assigned_today"], &qian["daily_cap"]), (&json!(1), &json!(1)));
    let wang = by_body["reps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == "bj-wang")
        .unwrap();
    assert_eq!(wang["on_shift"], false);
    assert!(wang["skipped"]["text"].as_str().unwrap().contains("22:00"), "{wang}");

    // An A1 lead (VP, 1000+, software, two whitepapers; four strong events): the top
    // tier first.
    let a1 = preview(
        &api,
        json!({"lead": {"company": "北京纷扬科技有限公司", "title": "销售副总裁", "industry": "软件",
            "company_size": "1000人以上", "events": ["form_submit", "chat_consult", "event_attend",
            "email_reply", "whitepaper_download", "whitepaper_download"]}}),
    )
    .await;
    assert_eq!(a1["lead"]["score"]["cell"], "A1", "{}", a1["lead"]);
    assert_eq!(a1["rep"], "bj-zhang");
    assert_eq!(skipped(&a1, "bj-li").as_deref(), Some("tier"));

    // The stored lead, previewed by id: the same decision.
    let by_id = preview(&api, json!({"lead_id": id})).await;
    assert_eq!(by_id["lead"]["id"], id.as_str());
    assert_eq!((&by_id["rep"], &by_id["reps"]), (&by_body["rep"], &by_body["reps"]));

    // None of it wrote anything: not a counter, not a rotation position, not the lead.
    for _ in 0..3 {
        preview(&api, described.clone()).await;
        preview(&api, json!({"lead_id": id})).await;
    }
    let after = table_dump(&stack).await;
    assert!(
        before.len() > 10,
        "the table holds the team, the leads and the counters"
    );
    assert_eq!(before, after, "a preview changed the table");

    // The real assignment picks the rep the preview named, then the next lead's preview
    // follows the rotation, and so does the assignment.
    assert_eq!(assign_for_real(&stack, &id, now).await.as_deref(), Some("bj-li"));
    assert_ne!(table_dump(&stack).await, after, "the comparison does see a write");
    for _ in 0..4 {
        let next = stored_lead(&store, now, "北京", None).await;
        let named = preview(&api, json!({"lead_id": next})).await;
        let rep = named["rep"].as_str().expect("someone is eligible").to_string();
        assert_eq!(assign_for_real(&stack, &next, now).await, Some(rep));
    }
    let a1_lead = stored_lead(&store, now, "北京", Some((Grade::A, 1))).await;
    let named = preview(&api, json!({"lead_id": a1_lead})).await;
    assert_eq!(named["rep"], "bj-zhang");
    assert_eq!(
        assign_for_real(&stack, &a1_lead, now).await.as_deref(),
        Some("bj-zhang")
    );

    // Owned now: assignment leaves it, and the preview says so.
    let owned = preview(&api, json!({"lead_id": a1_lead})).await;
    assert_eq!(
        (&owned["rep"], &owned["no_rep"]["code"]),
        (&Value::Null, &json!("already_owned"))
    );
    // A claim-only pool: nobody now, everyone eligible stays so.
    let shanghai = preview(&api, json!({"lead": {"province": "上海"}})).await;
    assert_eq!(shanghai["no_rep"]["code"], "claim_only");
    assert_eq!(skipped(&shanghai, "sh-chen").as_deref(), Some("claim_only"));
    assert_eq!(skipped(&shanghai, "bj-li").as_deref(), Some("not_a_member"));
}

#[tokio::test]
async fn roles_and_bad_inputs() {
    let stack = Stack::start().await;
    let now = t(WORK);
    let api = api(&stack, now);
    team(&api).await;
    let body = json!({"lead": {"province": "北京"}}).to_string();
    for (role, status) in [
        (Role::Manager, 200),
        (Role::Admin, 200),
        (Role::Rep, 403),
        (Role::Finance, 403),
        (Role::Marketing, 403),
        (Role::Integration, 403),
        (Role::Exporter, 403),
    ] {
        let got = call(&api, "POST", PREVIEW, &token("someone", role), &body).await;
        assert_eq!(got.status, status, "{role:?}: {}", got.body);
        if status == 403 {
            assert_eq!(got.body["fields"][0]["field"], "authorization");
        }
    }
    let manager = token("boss", Role::Manager);
    let unknown = LeadId::generate(now);
    for (body, status, field) in [
        (json!({}), 422, "body"),
        (json!({"lead_id": unknown, "lead": {}}), 422, "body"),
        (json!({"lead_id": "not-a-ulid"}), 422, "lead_id"),
        (json!({"lead_id": unknown}), 404, "lead_id"),
        (json!({"lead": {"province": "北京"}, "at": "tonight"}), 422, "at"),
        (json!({"lead": {"city": "深圳"}}), 422, "lead.city"),
        (json!({"lead": {"utm_source": "baidu"}}), 422, "lead.utm_source"),
        (json!({"lead": {"phone": "12"}}), 422, "lead.phone"),
        (json!({"lead": {"channel": "展会!"}}), 422, "lead.channel"),
        (json!({"lead": {"industry": 7}}), 422, "lead.industry"),
        (
            json!({"lead": {"events": ["form_submit", "bored"]}}),
            422,
            "lead.events[1]",
        ),
        (json!({"lead": "北京"}), 422, "lead"),
    ] {
        let got = call(&api, "POST", PREVIEW, &manager, &body.to_string()).await;
        assert_eq!(
            (got.status, got.body["fields"][0]["field"].as_str()),
            (status, Some(field)),
            "{body}: {}",
            got.body
        );
    }
    let not_json = call(&api, "POST", PREVIEW, &manager, "{").await;
    assert_eq!(
        (not_json.status, not_json.body["fields"][0]["field"].as_str()),
        (400, Some("body"))
    );
    let city = call(
        &api,
        "POST",
        PREVIEW,
        &manager,
        &json!({"lead": {"city": "深圳"}}).to_string(),
    )
    .await;
    assert!(
        city.body["fields"][0]["reason"].as_str().unwrap().contains("province"),
        "the refusal says what to give instead: {}",
        city.body
    );
}
