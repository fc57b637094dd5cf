//! Follow-up deadlines against the DynamoDB/SQS emulator, with the sweep's clock set by
//! its event time: a breach after a holiday (violation, recycle, the next rep), a
//! follow-up in time, overlapping sweeps, a backlog drained over bounded runs with reads
//! that follow what is due (over the due index's shards, and its partitions from before
//! them), SLA policies as data, and the reports.

use api::auth::{mint_hs256, Verifier};
use api::Api;
use assign::Assign;
use aws_sdk_dynamodb::types::AttributeValue;
use chrono::{DateTime, Duration, Utc};
use domain::assign::actions::Role;
use domain::assign::auto::assign_lead;
use domain::lead::{Lead, LeadId, OwnerChangeHow, Stage};
use domain::memory::RecordingNotifier;
use domain::{
    assign::ports::RoutingStore, follow_up::ports::SlaStore, lead::ports::FixedClock, lead::ports::LeadStore,
};
use domain::{
    assign::routing::Pool, assign::routing::Rep, assign::routing::RoutingConfig, assign::routing::Strategy,
    assign::routing::Tier,
};
use domain::{follow_up::sla::refresh, follow_up::sla::SlaConfig};
use leadflow_aws::{DynamoStore, SqsBus};
use leadflow_tests::{answer, http_event, request, tick, Answer, Stack};
use serde_json::{json, Value};
use sla_sweep::Sweep;

const SECRET: &str = "deadline-test-secret";
const ISSUER: &str = "leadflow-test";
/// Friday before Qingming 2026 (Saturday 4 to Monday 6 April), 15:00 Beijing time.
const FRIDAY: &str = "2026-04-03T15:00:00+08:00";
/// 24 h of working days later: Tuesday 7 April, 15:00.
const DUE: &str = "2026-04-07T15:00:00+08:00";

fn t(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

fn sweep(stack: &Stack, due_per_run: usize) -> Sweep<DynamoStore, SqsBus> {
    Sweep {
        store: stack.store(),
        bus: stack.full_bus(),
        redrive: domain::capture::intake::RedrivePolicy::default(),
        due_per_run,
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

async fn call(
    api: &Api<DynamoStore, SqsBus, FixedClock>,
    method: &str,
    path: &str,
    role: (&str, Role),
    body: Option<Value>,
) -> Answer {
    let auth = format!("Bearer {}", mint_hs256(SECRET, ISSUER, role.0, &[role.1], 600));
    let headers = [("content-type", "application/json"), ("authorization", auth.as_str())];
    let body = body.map(|b| b.to_string()).unwrap_or_default();
    answer(api.handle(request(&http_event(method, path, &headers, &body))).await)
}

fn rep(id: &str) -> Rep {
    Rep {
        id: id.into(),
        name: id.into(),
        team: "north".into(),
        department: "华北销售部".into(),
        tier: Tier::Regular,
        weight: 1,
        holding_cap: Some(10_000),
        daily_cap: None,
        working_hours: None,
        out_of_office: Vec::new(),
        webhook: None,
        active: true,
    }
}

async fn org(store: &DynamoStore) {
    for id in ["zhang", "li"] {
        store.put_rep(&rep(id)).await.unwrap();
    }
    store
        .put_pool(&Pool {
            id: "beijing".into(),
            name: "北京".into(),
            strategy: Strategy::RoundRobin,
            members: vec!["zhang".into(), "li".into()],
            daily_cap: None,
            daily_claim_cap: None,
            webhook: None,
        })
        .await
        .unwrap();
    let routing = RoutingConfig {
        version: 1,
        default_pool: "beijing".into(),
        ..RoutingConfig::default()
    };
    store.save_routing(&routing).await.unwrap();
}

/// A qualified lead, assigned at `at` (the first goes to zhang).
async fn assigned(stack: &Stack, at: DateTime<Utc>) -> LeadId {
    let store = stack.store();
    let mut lead = Lead::new(LeadId::generate(at), "web_form", at);
    lead.set_stage(Stage::Aql, at);
    store
        .create_lead(&domain::lead::ports::NewLead::new(lead.clone(), None))
        .await
        .unwrap();
    assign_lead(&store, &stack.full_bus(), &lead.id, at).await.unwrap();
    lead.id
}

/// A change counts in its pool's numbers on the UTC day of its time, whatever month lists
/// it: one at 20:00 UTC on 30 April is 04:00 on 1 May in Beijing, listed under May, and
/// counts on 30 April.
#[tokio::test]
async fn pool_numbers_count_a_change_on_its_utc_day_whatever_month_lists_it() {
    let stack = Stack::start().await;
    let store = stack.store();
    org(&store).await;
    assigned(&stack, t("2026-04-30T20:00:00Z")).await;
    assigned(&stack, t("2026-05-01T00:30:00Z")).await;
    let day = |d: &str| d.parse::<chrono::NaiveDate>().unwrap();
    for ((from, to), handed_out) in [
        (("2026-04-30", "2026-04-30"), Some(1)),
        (("2026-04-01", "2026-04-30"), Some(1)),
        (("2026-05-01", "2026-05-31"), Some(1)),
        (("2026-04-30", "2026-05-01"), Some(2)),
        (("2026-05-02", "2026-06-30"), None),
        (("2026-03-01", "2026-04-29"), None),
    ] {
        let numbers = store.pool_numbers(day(from), day(to)).await.unwrap();
        assert_eq!(
            numbers.get("beijing").map(|n| n.handed_out),
            handed_out,
            "{from} to {to}: {numbers:?}"
        );
    }
}

#[tokio::test]
async fn a_lead_assigned_before_a_holiday_breaches_after_it_and_goes_to_the_next_rep() {
    let stack = Stack::start().await;
    let store = stack.store();
    org(&store).await;
    let id = assigned(&stack, t(FRIDAY)).await;
    let lead = stack.lead(id.as_str()).await;
    assert_eq!(lead.owner.as_deref(), Some("zhang"));
    assert_eq!(lead.sla[0].due_at, Some(t(DUE)));
    stack.drain("ReadyQueue").await;

    let early = sweep(&stack, 500)
        .handle(tick(t(DUE) - Duration::minutes(1)))
        .await
        .unwrap();
    assert_eq!((early.deadlines_checked, early.breached, early.reminded), (1, 0, 1));
    let on_time = sweep(&stack, 500).handle(tick(t(DUE))).await.unwrap();
    assert_eq!(on_time.breached, 1);

    let recycled = stack.lead(id.as_str()).await;
    assert_eq!((recycled.owner.as_deref(), recycled.stage), (None, Stage::Recycled));
    assert_eq!(store.rep("zhang").await.unwrap().unwrap().1.active_leads, 0);
    // The queue carries the reminder, the breach notice and the lead.ready to re-route.
    let app = Assign {
        store: stack.store(),
        bus: stack.full_bus(),
        notifier: RecordingNotifier::default(),
    };
    while stack.deliver("ReadyQueue", |e| app.handle(e, t(DUE))).await.0 > 0 {}
    let next = stack.lead(id.as_str()).await;
    assert_eq!(next.owner.as_deref(), Some("li"), "the next rep, not zhang again");
    assert_eq!(next.acquisition, Some(OwnerChangeHow::Recycled));

    let api = api(&stack, t("2026-04-30T00:00:00Z"));
    let report = call(
        &api,
        "GET",
        "/v1/reports/violations?from=2026-04-01&to=2026-05-01&group_by=department",
        ("boss", Role::Manager),
        None,
    )
    .await;
    assert_eq!(report.status, 200, "{}", report.body);
    assert_eq!(report.body["total"], 1);
    assert_eq!(report.body["groups"], json!([{"key": "华北销售部", "violations": 1}]));
    let v = &report.body["violations"][0];
    assert_eq!(
        (v["owner"].as_str(), v["clock"].as_str()),
        (Some("zhang"), Some("first_contact"))
    );
    assert_eq!(v["due_at"].as_str().map(|d| t(&d.replace('Z', "+00:00"))), Some(t(DUE)));
    assert_eq!(v["evidence"]["last_follow_up_at"], Value::Null);
    assert_eq!(v["action"], "reassign_next");

    let recycle_rates = || {
        call(
            &api,
            "GET",
            "/v1/reports/recycle-rate?from=2026-04-01&to=2026-04-30",
            ("cfo", Role::Finance),
            None,
        )
    };
    let rates = recycle_rates().await;
    assert_eq!(rates.status, 200, "{}", rates.body);
    assert_eq!(rates.body["pools"][0]["pool"], "beijing");
    assert_eq!(
        (
            rates.body["pools"][0]["handed_out"].as_u64(),
            rates.body["pools"][0]["recycled"].as_u64()
        ),
        (Some(2), Some(1))
    );
    assert_eq!(rates.body["pools"][0]["health"], "too_loose");

    // The numbers are counted where each change is listed: no counter is written beside
    // it. Days counted before (a month's counters, in its shares or alone) are added in.
    assert_eq!(stack.items_with_pk_prefix("STATS#").await.len(), 0);
    for (pk, counter, n) in [
        ("STATS#2026-04", "handed_out", "3"),
        ("STATS#2026-04#2", "recycled", "1"),
        ("STATS#2026-05#1", "handed_out", "7"),
    ] {
        stack
            .dynamo
            .put_item()
            .table_name(stack.table())
            .item("pk", AttributeValue::S(pk.into()))
            .item("sk", AttributeValue::S(format!("{}-01#beijing", &pk[6..13])))
            .item(counter, AttributeValue::N(n.into()))
            .send()
            .await
            .unwrap();
    }
    let rates = recycle_rates().await;
    assert_eq!(
        (
            rates.body["pools"][0]["handed_out"].as_u64(),
            rates.body["pools"][0]["recycled"].as_u64()
        ),
        (Some(5), Some(2)),
        "May's counter is out of the period: {}",
        rates.body
    );
    let rep_view = call(&api, "GET", "/v1/reports/violations", ("zhang", Role::Rep), None).await;
    assert_eq!(rep_view.status, 403);
    for bad in [
        "group_by=team",
        "from=yesterday",
        "to=2026-04-31",
        "from=2026-05-01%2000:00:00Z",
    ] {
        let got = call(
            &api,
            "GET",
            &format!("/v1/reports/violations?{bad}"),
            ("boss", Role::Manager),
            None,
        )
        .await;
        assert_eq!(got.status, 422, "{bad}: {}", got.body);
    }
    // Any two valid times make a report: `from` after `to` is an empty period, and a
    // period over a year starts a year (366 days) before `to`, as its `from` says.
    let report = |query: &'static str| call(&api, "GET", query, ("boss", Role::Manager), None);
    let empty = report("/v1/reports/violations?from=2026-05-01&to=2026-04-01").await;
    assert_eq!((empty.status, &empty.body["total"]), (200, &json!(0)), "{}", empty.body);
    let long = report("/v1/reports/violations?from=2000-01-01&to=2026-05-01T00:00:00Z").await;
    assert_eq!(long.status, 200, "{}", long.body);
    assert_eq!(long.body["from"], "2025-04-30T00:00:00Z");
    assert_eq!(long.body["total"], 1);
}

#[tokio::test]
async fn a_follow_up_in_time_leaves_no_violation() {
    let stack = Stack::start().await;
    org(&stack.store()).await;
    let id = assigned(&stack, t(FRIDAY)).await;
    let just_before = t(DUE) - Duration::seconds(1);
    let followed = call(
        &api(&stack, just_before),
        "POST",
        &format!("/v1/leads/{id}/actions"),
        ("zhang", Role::Rep),
        Some(json!({"action": "follow_up", "kind": "call", "note": "reached, call back"})),
    )
    .await;
    assert_eq!(followed.status, 200, "{}", followed.body);
    let report = sweep(&stack, 500).handle(tick(t(DUE))).await.unwrap();
    assert_eq!(report.breached, 0);
    assert!(stack
        .store()
        .violations(t(FRIDAY), t(DUE) + Duration::days(30))
        .await
        .unwrap()
        .is_empty());
    assert_eq!(stack.lead(id.as_str()).await.owner.as_deref(), Some("zhang"));
}

#[tokio::test]
async fn two_sweeps_at_once_record_one_violation() {
    let stack = Stack::start().await;
    org(&stack.store()).await;
    let id = assigned(&stack, t(FRIDAY)).await;
    let (a, b) = (sweep(&stack, 500), sweep(&stack, 500));
    let (one, two) = tokio::join!(a.handle(tick(t(DUE))), b.handle(tick(t(DUE))));
    assert_eq!(one.unwrap().breached + two.unwrap().breached, 1);
    let violations = stack
        .store()
        .violations(t(FRIDAY), t(DUE) + Duration::days(1))
        .await
        .unwrap();
    assert_eq!(violations.len(), 1);
    let changes = stack.store().owner_changes(&id).await.unwrap();
    assert_eq!(changes.len(), 2, "assigned, then recycled once: {changes:?}");
}

#[tokio::test]
async fn a_backlog_drains_over_bounded_runs_reading_only_what_is_due() {
    let stack = Stack::start().await;
    let store = stack.store();
    org(&store).await;
    let config = SlaConfig::default();
    let at = t(FRIDAY);
    // 60 owned leads whose first contact is overdue, 30 whose clocks run for weeks. (The
    // 10,000-clock backlog runs on the in-memory adapters: the emulator copies the whole
    // table on every transaction, so hundreds of breaches here take minutes.)
    for i in 0..90 {
        let created = if i < 60 { at } else { at + Duration::days(40) };
        let mut lead = Lead::new(LeadId::generate(created), "web_form", created);
        lead.set_stage(Stage::Aql, created);
        lead.owner = Some("zhang".into());
        lead.owner_since = Some(created);
        lead.owner_change_id = Some(format!("seed-{i}"));
        lead.pool = Some("beijing".into());
        refresh(&mut lead, &config, created);
        store
            .create_lead(&domain::lead::ports::NewLead::new(lead.clone(), None))
            .await
            .unwrap();
    }
    // The overdue clocks of one day are spread over the index's shards, not one partition.
    let overdue: Vec<_> = stack
        .items_with_pk_prefix("LEAD#")
        .await
        .into_iter()
        .filter(|item| item["sk"].as_s().is_ok_and(|sk| sk == "LEAD"))
        .filter(|item| {
            item.get("gsi2pk")
                .is_some_and(|pk| pk.as_s().is_ok_and(|pk| pk.starts_with("DUE#2026-04")))
        })
        .collect();
    assert_eq!(overdue.len(), 60);
    let shards: std::collections::BTreeSet<&str> = overdue
        .iter()
        .map(|item| item["gsi2pk"].as_s().unwrap().as_str())
        .collect();
    assert!(shards.len() >= 3, "one day's entries over the shards: {shards:?}");
    assert!(shards.iter().all(|pk| pk.matches('#').count() == 2), "{shards:?}");
    // Ten as written before shards (the day alone): still found, in the same runs.
    for item in overdue.iter().take(10) {
        let sharded = item["gsi2pk"].as_s().unwrap();
        let day = sharded.rsplit_once('#').unwrap().0;
        stack
            .dynamo
            .update_item()
            .table_name(stack.table())
            .key("pk", item["pk"].clone())
            .key("sk", item["sk"].clone())
            .update_expression("SET gsi2pk = :day")
            .expression_attribute_values(":day", aws_sdk_dynamodb::types::AttributeValue::S(day.into()))
            .send()
            .await
            .unwrap();
    }
    let now = at + Duration::days(30);
    let mut runs = Vec::new();
    loop {
        let report = sweep(&stack, 15).handle(tick(now)).await.unwrap();
        runs.push((report.deadlines_checked, report.due_entries_read));
        if !report.deadlines_pending {
            break;
        }
        assert!(runs.len() < 20, "the backlog does not drain: {runs:?}");
    }
    println!("runs (checked, index entries read): {runs:?}");
    assert!(runs.len() >= 4, "bounded at 15 per run: {runs:?}");
    assert!(
        runs.iter().all(|(checked, read)| *checked <= 15 && *read <= 16),
        "reads follow what is due, not the 30 running clocks: {runs:?}"
    );
    let violations = store.violations(at, now).await.unwrap();
    assert_eq!(violations.len(), 60, "every overdue lead once, the running ones not");
    let last = sweep(&stack, 15).handle(tick(now)).await.unwrap();
    assert_eq!((last.deadlines_checked, last.due_entries_read), (0, 0));
}

#[tokio::test]
async fn sla_policies_are_versioned_data_with_field_errors() {
    let stack = Stack::start().await;
    let api = api(&stack, t(FRIDAY));
    let admin = ("root", Role::Admin);
    let mut config = call(&api, "GET", "/v1/config/sla", ("boss", Role::Manager), None)
        .await
        .body;
    assert_eq!(config["version"], 0);
    assert_eq!(config["calendars"][0]["id"], "cn");
    assert_eq!(config["calendars"][0]["covers_until"], "2026-12-31");
    let policies: Vec<&str> = config["policies"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["id"].as_str().unwrap())
        .collect();
    assert_eq!(policies, ["standard", "toc", "tob"]);

    config["by_pool"] = json!({"consumer": "toc", "vip": "nowhere"});
    config["policies"][0]["clocks"][0]["within"] = json!({"unit": "hours", "amount": 0});
    let bad = call(&api, "PUT", "/v1/config/sla", admin, Some(config.clone())).await;
    let fields = bad.fields();
    assert_eq!((bad.status, fields), (422, vec!["policies[0].clocks[0].within"]));

    // Well-formed, but naming a policy the document does not hold: a conflict with its
    // own list (409 naming the field), which no schema can state.
    config["policies"][0]["clocks"][0]["within"] = json!({"unit": "hours", "amount": 8});
    let unknown = call(&api, "PUT", "/v1/config/sla", admin, Some(config.clone())).await;
    assert_eq!(unknown.status, 409, "{}", unknown.body);
    assert_eq!(unknown.body["fields"][0]["field"], "by_pool.vip", "{}", unknown.body);

    // A calendar saved without its reach gets the end of its last listed year; one that
    // stops short of a listed date is refused by name.
    config["by_pool"] = json!({"consumer": "toc"});
    let mut own = config["calendars"][0].clone();
    own["id"] = json!("bj-office");
    own["holidays"] = json!([{"date": "2027-02-10", "name": "春节"}]);
    own["make_up_days"] = json!([]);
    own["covers_until"] = json!("2027-01-31");
    config["calendars"] = json!([config["calendars"][0].clone(), own.clone()]);
    let short = call(&api, "PUT", "/v1/config/sla", admin, Some(config.clone())).await;
    assert_eq!(short.status, 422, "{}", short.body);
    assert_eq!(short.body["fields"][0]["field"], "calendars[1].covers_until");
    config["calendars"][1].as_object_mut().unwrap().remove("covers_until");
    let saved = call(&api, "PUT", "/v1/config/sla", admin, Some(config.clone())).await;
    assert_eq!(
        (saved.status, saved.body["version"].as_u64()),
        (200, Some(1)),
        "{}",
        saved.body
    );
    let read = call(&api, "GET", "/v1/config/sla", admin, None).await.body;
    assert_eq!(read["calendars"][1]["covers_until"], "2027-12-31");
    let stale = call(&api, "PUT", "/v1/config/sla", admin, Some(config)).await;
    assert_eq!(stale.status, 409);
    let as_rep = call(&api, "PUT", "/v1/config/sla", ("zhang", Role::Rep), Some(json!({}))).await;
    assert_eq!(as_rep.status, 403);
    assert_eq!(
        stack.store().sla_config().await.unwrap().policies[0].clocks[0].within,
        domain::follow_up::calendar::Span::Hours(8)
    );
}
