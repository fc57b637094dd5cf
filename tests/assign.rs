//! Assignment against the DynamoDB/SQS emulator: caps under concurrency, working hours
//! and out-of-office, waiting in a pool and the sweep's pickup, claim races, roles on the
//! lead API, admin configuration, and webhook notices over real HTTP.

use api::Api;
use assign::Assign;
use aws_lambda_events::sqs::{SqsBatchResponse, SqsEvent};
use chrono::{DateTime, NaiveTime, Utc, Weekday};
use domain::assign::actions::Role;
use domain::lead::{Company, Lead, LeadId, OwnerChangeHow, Stage};
use domain::memory::RecordingNotifier;
use domain::{assign::notify::Webhook, assign::notify::WebhookFormat};
use domain::{assign::ports::Notifier, assign::ports::RoutingStore, lead::ports::FixedClock, lead::ports::LeadStore};
use domain::{
    assign::routing::Absence, assign::routing::Pool, assign::routing::Rep, assign::routing::RoutingConfig,
    assign::routing::Strategy, assign::routing::WorkingHours,
};
use domain::{lead::messages::Envelope, lead::messages::Message, lead::messages::ReadyReason};
use domain::{lead::qualification::Grade, qualify::scoring::score, qualify::scoring::ScoringRules};
use leadflow_aws::notifier::HttpNotifier;
use leadflow_aws::{DynamoStore, SqsBus};
use leadflow_tests::{answer, api_token, http_event, rep, request, Answer, Stack};
use serde_json::{json, Value};
use sla_sweep::Sweep;
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// Monday 10:00 in Beijing.
const WORK: &str = "2026-11-23T02:00:00Z";
/// Tuesday 02:00 in Beijing.
const NIGHT: &str = "2026-11-23T18:00:00Z";

fn t(s: &str) -> DateTime<Utc> {
    s.parse().unwrap()
}

fn office_hours() -> WorkingHours {
    WorkingHours {
        time_zone: chrono_tz::Asia::Shanghai,
        days: vec![Weekday::Mon, Weekday::Tue, Weekday::Wed, Weekday::Thu, Weekday::Fri],
        start: NaiveTime::from_hms_opt(9, 0, 0).unwrap(),
        end: NaiveTime::from_hms_opt(18, 0, 0).unwrap(),
    }
}

fn pool(id: &str, strategy: Strategy, members: &[&str]) -> Pool {
    Pool {
        id: id.into(),
        name: id.into(),
        strategy,
        members: members.iter().map(|m| m.to_string()).collect(),
        daily_cap: None,
        daily_claim_cap: None,
        webhook: None,
    }
}

async fn org(store: &DynamoStore, reps: &[Rep], pools: &[Pool]) {
    for r in reps {
        store.put_rep(r).await.unwrap();
    }
    for p in pools {
        store.put_pool(p).await.unwrap();
    }
    let routing = RoutingConfig {
        version: 1,
        default_pool: pools[0].id.clone(),
        ..RoutingConfig::default()
    };
    store.save_routing(&routing).await.unwrap();
}

/// A lead as dedup-score leaves it: cleaned, scored, `aql`.
async fn qualified(store: &DynamoStore, at: DateTime<Utc>, company: &str) -> LeadId {
    let mut lead = Lead::new(LeadId::generate(at), "web_form", at);
    lead.set_stage(Stage::Aql, at);
    lead.contact.phone = Some("+8613800138000".into());
    if !company.is_empty() {
        lead.company = Some(Company {
            raw: company.into(),
            core: company.into(),
        });
    }
    lead.score = Some(score(&lead, &[], &ScoringRules::default(), at));
    store
        .create_lead(&domain::lead::ports::NewLead::new(lead.clone(), None))
        .await
        .unwrap();
    lead.id
}

fn ready_event(ids: &[LeadId], at: DateTime<Utc>) -> SqsEvent {
    let records: Vec<Value> = ids
        .iter()
        .map(|id| {
            let envelope = Envelope::new(
                Message::LeadReady {
                    lead_id: id.clone(),
                    reason: ReadyReason::New,
                    version: 1,
                },
                at,
            );
            json!({
                "messageId": format!("m-{id}-{}", ulid::Ulid::new()),
                "body": envelope.to_json(),
                "attributes": {"ApproximateReceiveCount": "1"},
                "messageAttributes": {},
                "eventSource": "aws:sqs",
            })
        })
        .collect();
    serde_json::from_value(json!({ "Records": records })).expect("a valid SQS event")
}

fn assigner<N: Notifier>(stack: &Stack, notifier: N) -> Assign<DynamoStore, SqsBus, N> {
    Assign {
        store: stack.store(),
        bus: stack.full_bus(),
        notifier,
    }
}

fn api(stack: &Stack, now: DateTime<Utc>) -> Api<DynamoStore, SqsBus, FixedClock> {
    stack.api(FixedClock(now))
}

fn token(sub: &str, role: Role) -> String {
    api_token(sub, &[role])
}

async fn call(
    api: &Api<DynamoStore, SqsBus, FixedClock>,
    method: &str,
    path: &str,
    token: &str,
    body: Option<Value>,
) -> Answer {
    let auth = format!("Bearer {token}");
    let headers = [("content-type", "application/json"), ("authorization", auth.as_str())];
    let body = body.map(|b| b.to_string()).unwrap_or_default();
    let event = http_event(method, path, &headers, &body);
    answer(api.handle(request(&event)).await)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn caps_hold_when_fifty_leads_are_assigned_at_once() {
    let stack = Stack::start().await;
    let store = stack.store();
    let reps: Vec<Rep> = ["a", "b", "c"]
        .iter()
        .map(|id| Rep {
            holding_cap: Some(10),
            ..rep(id)
        })
        .collect();
    org(&store, &reps, &[pool("team", Strategy::RoundRobin, &["a", "b", "c"])]).await;
    let now = t(WORK);
    let mut ids = Vec::new();
    for _ in 0..50 {
        ids.push(qualified(&store, now, "").await);
    }

    // 100 invocations at once: every lead.ready delivered twice, as SQS may.
    let started = Instant::now();
    let mut invocations = Vec::new();
    for id in ids.iter().chain(ids.iter()) {
        let app = assigner(&stack, RecordingNotifier::default());
        let event = ready_event(std::slice::from_ref(id), now);
        invocations.push(tokio::spawn(async move { app.handle(event, now).await }));
    }
    let mut failures = 0;
    for invocation in invocations {
        let response: SqsBatchResponse = invocation.await.unwrap();
        failures += response.batch_item_failures.len();
    }
    let elapsed = started.elapsed();

    let leads = stack.all_leads().await;
    let mut held = std::collections::BTreeMap::<String, u32>::new();
    for lead in &leads {
        if let Some(owner) = &lead.owner {
            *held.entry(owner.clone()).or_default() += 1;
        }
    }
    let waiting = leads.iter().filter(|l| l.waiting_in_pool() == Some("team")).count();
    println!(
        "50 leads x 2 deliveries, 100 concurrent invocations, 3 reps with cap 10: held {held:?}, \
         {waiting} waiting, {failures} failed deliveries, {elapsed:?}"
    );
    assert_eq!(failures, 0, "no delivery gave up");
    assert!(held.values().all(|n| *n <= 10), "a cap was exceeded: {held:?}");
    assert_eq!(held.values().sum::<u32>(), 30, "every rep filled to the cap: {held:?}");
    assert_eq!(waiting, 20, "the rest wait in the pool, none dropped");
    for r in &reps {
        let (_, counters) = store.rep(&r.id).await.unwrap().unwrap();
        assert_eq!(
            counters.active_leads, held[&r.id],
            "{}'s counter matches what they hold",
            r.id
        );
    }
    for id in &ids {
        let changes = store.owner_changes(id).await.unwrap();
        assert!(
            changes.len() <= 1,
            "duplicate delivery assigned {id} twice: {changes:?}"
        );
    }
}

#[tokio::test]
async fn off_shift_and_out_of_office_reps_are_skipped() {
    let stack = Stack::start().await;
    let store = stack.store();
    let now = t(WORK);
    let night = Rep {
        working_hours: Some(WorkingHours {
            start: NaiveTime::from_hms_opt(22, 0, 0).unwrap(),
            end: NaiveTime::from_hms_opt(6, 0, 0).unwrap(),
            ..office_hours()
        }),
        ..rep("night")
    };
    let away = Rep {
        out_of_office: vec![Absence {
            from: t("2026-11-20T00:00:00Z"),
            until: t("2026-11-27T00:00:00Z"),
        }],
        ..rep("away")
    };
    let here = Rep {
        working_hours: Some(office_hours()),
        ..rep("here")
    };
    org(
        &store,
        &[night, away, here],
        &[pool("team", Strategy::RoundRobin, &["night", "away", "here"])],
    )
    .await;
    let app = assigner(&stack, RecordingNotifier::default());
    for _ in 0..3 {
        let id = qualified(&store, now, "").await;
        let response = app.handle(ready_event(std::slice::from_ref(&id), now), now).await;
        assert!(response.batch_item_failures.is_empty());
        assert_eq!(stack.lead(id.as_str()).await.owner.as_deref(), Some("here"));
    }
}

#[tokio::test]
async fn at_night_a_lead_waits_in_its_pool_and_the_sweep_hands_it_out_in_the_morning() {
    let stack = Stack::start().await;
    let store = stack.store();
    let day_rep = |id: &str| Rep {
        working_hours: Some(office_hours()),
        ..rep(id)
    };
    org(
        &store,
        &[day_rep("zhang"), day_rep("li"), rep("outsider")],
        &[pool("beijing", Strategy::RoundRobin, &["zhang", "li"])],
    )
    .await;
    let id = qualified(&store, t(NIGHT), "北京纷扬").await;
    let app = assigner(&stack, RecordingNotifier::default());
    app.handle(ready_event(std::slice::from_ref(&id), t(NIGHT)), t(NIGHT))
        .await;
    let parked = stack.lead(id.as_str()).await;
    assert_eq!(
        (parked.owner.as_deref(), parked.waiting_in_pool()),
        (None, Some("beijing"))
    );

    // The pool lists it to its members, contact masked; not to others.
    let api = api(&stack, t(NIGHT));
    let listed = call(&api, "GET", "/v1/pools/beijing/leads", &token("li", Role::Rep), None).await;
    assert_eq!(listed.status, 200, "{}", listed.body);
    assert_eq!(listed.body["leads"][0]["lead_id"], id.as_str());
    assert_eq!(listed.body["leads"][0]["phone"], "+86138****8000");
    let outsider = call(
        &api,
        "GET",
        "/v1/pools/beijing/leads",
        &token("outsider", Role::Rep),
        None,
    )
    .await;
    assert_eq!(outsider.status, 403);

    let sweep = Sweep {
        store: stack.store(),
        bus: stack.full_bus(),
        redrive: domain::capture::intake::RedrivePolicy::default(),
        due_per_run: 100,
    };
    let tick = |at: &str| {
        serde_json::from_value(json!({
            "version": "0", "id": "tick", "detail-type": "Scheduled Event", "source": "aws.events",
            "account": "123456789012", "time": at, "region": "us-east-1", "resources": [], "detail": {}
        }))
        .unwrap()
    };
    assert_eq!(
        sweep.handle(tick(NIGHT)).await.unwrap().reoffered,
        0,
        "still nobody at work"
    );
    let morning = "2026-11-24T01:05:00Z"; // Tuesday 09:05
    assert_eq!(sweep.handle(tick(morning)).await.unwrap().reoffered, 1);
    let (received, failed) = stack.deliver("ReadyQueue", |event| app.handle(event, t(morning))).await;
    assert_eq!((received, failed), (1, 0));
    let picked = stack.lead(id.as_str()).await;
    assert!(picked.owner.is_some(), "picked up in the morning");
    assert_eq!(picked.waiting_in_pool(), None);
    let listed = call(&api, "GET", "/v1/pools/beijing/leads", &token("li", Role::Rep), None).await;
    assert_eq!(listed.body["leads"], json!([]));
}

#[tokio::test]
async fn two_reps_claim_one_lead_at_once_one_wins_the_other_gets_409() {
    let stack = Stack::start().await;
    let store = stack.store();
    org(
        &store,
        &[rep("zhang"), rep("li"), rep("outsider")],
        &[
            Pool {
                daily_claim_cap: Some(5),
                ..pool("public", Strategy::ClaimOnly, &["zhang", "li"])
            },
            pool("other", Strategy::ClaimOnly, &["outsider"]),
        ],
    )
    .await;
    let now = t(WORK);
    let id = qualified(&store, now, "").await;
    assigner(&stack, RecordingNotifier::default())
        .handle(ready_event(std::slice::from_ref(&id), now), now)
        .await;
    let path = format!("/v1/leads/{id}/actions");
    let api = api(&stack, now);
    let (zhang_token, li_token) = (token("zhang", Role::Rep), token("li", Role::Rep));
    let claim = Some(json!({"action": "claim"}));
    let (first, second) = tokio::join!(
        call(&api, "POST", &path, &zhang_token, claim.clone()),
        call(&api, "POST", &path, &li_token, claim.clone()),
    );
    let mut statuses = [first.status, second.status];
    statuses.sort();
    assert_eq!(statuses, [200, 409], "{} / {}", first.body, second.body);
    let winner = if first.status == 200 { "zhang" } else { "li" };
    let lead = stack.lead(id.as_str()).await;
    assert_eq!(lead.owner.as_deref(), Some(winner));
    assert_eq!(lead.acquisition, Some(OwnerChangeHow::Claimed));
    let (_, counters) = store.rep(winner).await.unwrap().unwrap();
    assert_eq!(counters.active_leads, 1);
    let loser = if winner == "zhang" { "li" } else { "zhang" };
    assert_eq!(store.rep(loser).await.unwrap().unwrap().1.active_leads, 0);

    // The pool says what is left of today's allowance: one claim counted, not two.
    let listed = call(&api, "GET", "/v1/pools/public/leads", &token(loser, Role::Rep), None).await;
    assert_eq!(listed.status, 200, "{}", listed.body);
    assert_eq!(
        listed.body["claims"],
        json!({"daily_cap": 5, "claimed_today": 1, "left": 4})
    );
    assert_eq!(listed.body["leads"], json!([]));
    // A rep lists the pools they claim from, and only those; a manager lists every pool.
    let pools_of = |body: &Value| -> Vec<String> {
        body["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["id"].as_str().unwrap().to_string())
            .collect()
    };
    let mine = call(&api, "GET", "/v1/pools", &token(loser, Role::Rep), None).await;
    assert_eq!(pools_of(&mine.body), ["public"]);
    let all = call(&api, "GET", "/v1/pools", &token("boss", Role::Manager), None).await;
    assert_eq!(pools_of(&all.body), ["other", "public"]);
}

#[tokio::test]
async fn reps_act_on_their_own_leads_and_managers_on_any() {
    let stack = Stack::start().await;
    let store = stack.store();
    org(
        &store,
        &[rep("zhang"), rep("li")],
        &[pool(
            "team",
            Strategy::Designated {
                rep: Some("zhang".into()),
                team: None,
            },
            &["zhang", "li"],
        )],
    )
    .await;
    let now = t(WORK);
    let id = qualified(&store, now, "").await;
    assigner(&stack, RecordingNotifier::default())
        .handle(ready_event(std::slice::from_ref(&id), now), now)
        .await;
    let api = api(&stack, now);
    let lead_path = format!("/v1/leads/{id}");
    let actions = format!("{lead_path}/actions");
    let (zhang, li) = (token("zhang", Role::Rep), token("li", Role::Rep));

    assert_eq!(call(&api, "GET", &lead_path, &li, None).await.status, 403);
    let mine = call(&api, "GET", &lead_path, &zhang, None).await;
    assert_eq!(mine.status, 200);
    assert_eq!(mine.body["owner_changes"][0]["how"], "auto_assigned");
    let theirs = call(&api, "POST", &actions, &li, Some(json!({"action": "qualify_mql"}))).await;
    assert_eq!(theirs.status, 403, "{}", theirs.body);

    let bad_reason = call(
        &api,
        "POST",
        &actions,
        &zhang,
        Some(json!({"action": "invalid", "reason": "bored"})),
    )
    .await;
    assert_eq!(
        (bad_reason.status, bad_reason.body["fields"][0]["field"].as_str()),
        (422, Some("reason"))
    );
    let unknown = call(&api, "POST", &actions, &zhang, Some(json!({"action": "teleport"}))).await;
    assert_eq!(unknown.status, 422);
    let illegal = call(&api, "POST", &actions, &zhang, Some(json!({"action": "convert"}))).await;
    assert_eq!(illegal.status, 409, "aql cannot convert: {}", illegal.body);

    let followed = call(
        &api,
        "POST",
        &actions,
        &zhang,
        Some(json!({"action": "follow_up", "kind": "call", "note": "budget next quarter", "bant": {"budget": "300k", "timeline": "Q1"}})),
    )
    .await;
    assert_eq!(followed.status, 200, "{}", followed.body);
    assert_eq!(followed.body["lead"]["bant"]["budget"], "300k");

    let by_rep = call(
        &api,
        "POST",
        &actions,
        &zhang,
        Some(json!({"action": "transfer", "to": "li"})),
    )
    .await;
    assert_eq!(by_rep.status, 403);
    let by_manager = call(
        &api,
        "POST",
        &actions,
        &token("boss", Role::Manager),
        Some(json!({"action": "transfer", "to": "li", "note": "territory change"})),
    )
    .await;
    assert_eq!(by_manager.status, 200, "{}", by_manager.body);
    assert_eq!(by_manager.body["lead"]["owner"], "li");
    assert_eq!(
        call(&api, "GET", &lead_path, &zhang, None).await.status,
        403,
        "no longer theirs"
    );
    let invalid = call(
        &api,
        "POST",
        &actions,
        &li,
        Some(json!({"action": "invalid", "reason": "competitor"})),
    )
    .await;
    assert_eq!(invalid.status, 200);
    assert_eq!(invalid.body["lead"]["invalid_reason"]["code"], "competitor");
    assert_eq!(store.rep("li").await.unwrap().unwrap().1.active_leads, 0);
    assert_eq!(store.rep("zhang").await.unwrap().unwrap().1.active_leads, 0);
    // The transfer's notice is queued for the new owner.
    let notices: Vec<Value> = stack.drain("ReadyQueue").await;
    assert!(notices.iter().any(|m| m["type"] == "lead.assigned"));
}

#[tokio::test]
async fn admins_configure_reps_pools_and_routing_with_field_errors() {
    let stack = Stack::start().await;
    let api = api(&stack, t(WORK));
    let admin = token("root", Role::Admin);

    let typo = call(
        &api,
        "PUT",
        "/v1/reps/bj-li",
        &admin,
        Some(json!({"name": "Li", "tier": "top", "wieght": 3})),
    )
    .await;
    assert_eq!(
        (typo.status, typo.body["fields"][0]["field"].as_str()),
        (422, Some("wieght"))
    );
    let bad = call(
        &api,
        "PUT",
        "/v1/reps/bj-li",
        &admin,
        Some(json!({"name": "Li", "tier": "top", "weight": 0, "webhook": {"url": "http://example.com/x", "format": "slack"}})),
    )
    .await;
    let fields = bad.fields();
    assert_eq!((bad.status, fields), (422, vec!["weight", "webhook.url"]));
    let other_id = call(
        &api,
        "PUT",
        "/v1/reps/bj-li",
        &admin,
        Some(json!({"id": "bj-wang", "name": "Li", "tier": "top"})),
    )
    .await;
    assert_eq!(
        (other_id.status, &other_id.body["fields"][0]["field"]),
        (409, &json!("id"))
    );
    let saved = call(
        &api,
        "PUT",
        "/v1/reps/bj-li",
        &admin,
        Some(json!({"name": "李娜", "tier": "top", "weight": 3, "daily_cap": 30,
            "working_hours": {"time_zone": "Asia/Shanghai", "days": ["Mon", "Tue"], "start": "09:00:00", "end": "18:00:00"}})),
    )
    .await;
    assert_eq!(saved.status, 200, "{}", saved.body);
    assert_eq!(saved.body["holding"]["holding_cap"], 200, "top tier default");

    let ghost = call(
        &api,
        "PUT",
        "/v1/pools/bj",
        &admin,
        Some(json!({"name": "北京", "strategy": {"kind": "weighted"}, "members": ["bj-li", "ghost"]})),
    )
    .await;
    assert_eq!(
        (ghost.status, ghost.body["fields"][0]["field"].as_str()),
        (409, Some("members[1]")),
        "a rep who does not exist (yet) conflicts with the team as it is"
    );
    let pool = call(
        &api,
        "PUT",
        "/v1/pools/bj",
        &admin,
        Some(json!({"name": "北京", "strategy": {"kind": "weighted"}, "members": ["bj-li"]})),
    )
    .await;
    assert_eq!(pool.status, 200, "{}", pool.body);

    let mut routing = call(&api, "GET", "/v1/config/routing", &admin, None).await.body;
    assert_eq!(routing["version"], 0);
    routing["rules"] = json!([{"pool": "nowhere", "provinces": ["北京"]}]);
    routing["default_pool"] = json!("bj");
    let unknown_pool = call(&api, "PUT", "/v1/config/routing", &admin, Some(routing.clone())).await;
    assert_eq!(
        (unknown_pool.status, unknown_pool.body["fields"][0]["field"].as_str()),
        (422, Some("rules[0].pool"))
    );
    routing["rules"][0]["pool"] = json!("bj");
    let saved = call(&api, "PUT", "/v1/config/routing", &admin, Some(routing.clone())).await;
    assert_eq!((saved.status, saved.body["version"].as_u64()), (200, Some(1)));
    let stale = call(&api, "PUT", "/v1/config/routing", &admin, Some(routing)).await;
    assert_eq!(stale.status, 409);

    let in_use = call(&api, "DELETE", "/v1/pools/bj", &admin, None).await;
    assert_eq!(in_use.status, 409, "routing still sends leads there");
    let store = stack.store();
    let id = qualified(&store, t(WORK), "北京纷扬").await;
    assigner(&stack, RecordingNotifier::default())
        .handle(ready_event(&[id], t(WORK)), t(WORK))
        .await;
    let holding = call(&api, "DELETE", "/v1/reps/bj-li", &admin, None).await;
    assert_eq!(holding.status, 409, "bj-li holds a lead");
    let listed = call(&api, "GET", "/v1/reps", &token("boss", Role::Manager), None).await;
    assert_eq!(listed.body["items"][0]["holding"]["active_leads"], 1);
    assert_eq!(listed.body["items"][0]["holding"]["received_today"], 1);
}

#[tokio::test]
async fn the_demo_org_routes_an_a1_beijing_lead_to_the_top_rep_and_02_00_leads_as_configured() {
    let stack = Stack::start().await;
    let store = stack.store();
    local_stack::seed::apply(&local_stack::seed::load("http://127.0.0.1:8080").unwrap(), &store)
        .await
        .unwrap();
    let app = assigner(&stack, RecordingNotifier::default());

    let mut a1 = Lead::new(LeadId::generate(t(WORK)), "web_form", t(WORK));
    a1.set_stage(Stage::Aql, t(WORK));
    a1.company = Some(Company {
        raw: "北京纷扬科技有限公司".into(),
        core: "纷扬".into(),
    });
    let mut s = score(&a1, &[], &ScoringRules::default(), t(WORK));
    (s.grade, s.level, s.cell) = (Grade::A, 1, "A1".into());
    a1.score = Some(s);
    store
        .create_lead(&domain::lead::ports::NewLead::new(a1.clone(), None))
        .await
        .unwrap();
    app.handle(ready_event(&[a1.id.clone()], t(WORK)), t(WORK)).await;
    assert_eq!(
        stack.lead(a1.id.as_str()).await.owner.as_deref(),
        Some("bj-zhang"),
        "top tier, at work"
    );

    // 02:00: the Beijing team is asleep, the lead waits in its pool; a lead for the
    // general pool goes to the night shift.
    let beijing = qualified(&store, t(NIGHT), "北京纷扬").await;
    let general = qualified(&store, t(NIGHT), "").await;
    app.handle(ready_event(&[beijing.clone(), general.clone()], t(NIGHT)), t(NIGHT))
        .await;
    assert_eq!(stack.lead(beijing.as_str()).await.waiting_in_pool(), Some("beijing"));
    assert_eq!(stack.lead(general.as_str()).await.owner.as_deref(), Some("night-zhao"));
}

/// Collects the JSON bodies posted to it.
async fn webhook_receiver() -> (String, Arc<Mutex<Vec<Value>>>) {
    use http_body_util::{BodyExt, Full};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    let received = Arc::new(Mutex::new(Vec::new()));
    let sink = received.clone();
    tokio::spawn(async move {
        loop {
            let (stream, _) = listener.accept().await.unwrap();
            let sink = sink.clone();
            tokio::spawn(async move {
                let service = hyper::service::service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
                    let sink = sink.clone();
                    async move {
                        let body = req.into_body().collect().await.unwrap().to_bytes();
                        sink.lock()
                            .unwrap()
                            .push(serde_json::from_slice(&body).unwrap_or(Value::Null));
                        Ok::<_, std::convert::Infallible>(hyper::Response::new(Full::new(hyper::body::Bytes::from(
                            r#"{"errcode":0}"#,
                        ))))
                    }
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    (url, received)
}

#[tokio::test]
async fn the_new_owner_gets_one_webhook_notice_even_when_the_message_repeats() {
    let stack = Stack::start().await;
    let store = stack.store();
    let (url, received) = webhook_receiver().await;
    let zhang = Rep {
        webhook: Some(Webhook::new(url, WebhookFormat::Wecom)),
        ..rep("zhang")
    };
    org(&store, &[zhang], &[pool("team", Strategy::RoundRobin, &["zhang"])]).await;
    let now = t(WORK);
    let id = qualified(&store, now, "北京纷扬").await;
    let app = assigner(&stack, HttpNotifier::new());
    app.handle(ready_event(std::slice::from_ref(&id), now), now).await;
    // The duplicate lead.ready re-announces; both lead.assigned messages are delivered.
    app.handle(ready_event(std::slice::from_ref(&id), now), now).await;
    let mut delivered = 0;
    loop {
        let (n, failed) = stack.deliver("ReadyQueue", |e| app.handle(e, now)).await;
        assert_eq!(failed, 0);
        if n == 0 {
            break;
        }
        delivered += n;
    }
    assert_eq!(delivered, 2);
    let notices = received.lock().unwrap().clone();
    assert_eq!(notices.len(), 1, "{notices:?}");
    assert_eq!(notices[0]["msgtype"], "text");
    let text = notices[0]["text"]["content"].as_str().unwrap();
    assert!(text.contains(id.as_str()) && text.contains("+86138****8000"), "{text}");
}

/// Counts on `rep`'s profile item, as a release from before 2026-12-07 kept them: leads
/// held, and received on the WORK day.
async fn counted_on_the_profile(stack: &Stack, rep: &str, active: u32, received: Option<u32>) {
    use aws_sdk_dynamodb::types::AttributeValue;
    let mut update = stack
        .dynamo
        .update_item()
        .table_name(stack.table())
        .key("pk", AttributeValue::S("REPS".into()))
        .key("sk", AttributeValue::S(rep.into()))
        .update_expression("SET active_leads = :active")
        .expression_attribute_values(":active", AttributeValue::N(active.to_string()));
    if let Some(received) = received {
        update = update
            .update_expression("SET active_leads = :active, #today = :received")
            .expression_attribute_names("#today", "received#2026-11-23")
            .expression_attribute_values(":received", AttributeValue::N(received.to_string()));
    }
    update.send().await.unwrap();
}

/// A lead `rep` was charged for before the move.
async fn held_before_the_move(store: &DynamoStore, rep: &str, now: DateTime<Utc>) -> Lead {
    let mut lead = Lead::new(LeadId::generate(now), "web_form", now);
    lead.set_stage(Stage::Aql, now);
    lead.owner = Some(rep.into());
    lead.owner_change_id = Some(format!("01JOLDCHANGE{rep}"));
    lead.pool = Some("team".into());
    store
        .create_lead(&domain::lead::ports::NewLead::new(lead.clone(), None))
        .await
        .unwrap();
    lead
}

/// Its owner returns `lead` to its pool.
async fn returned_by(api: &Api<DynamoStore, SqsBus, FixedClock>, lead: &Lead) {
    let owner = lead.owner.as_deref().unwrap();
    let path = format!("/v1/leads/{}/actions", lead.id);
    let body = json!({"action": "return_to_pool"});
    let returned = call(api, "POST", &path, &token(owner, Role::Rep), Some(body)).await;
    assert_eq!(returned.status, 200, "{}", returned.body);
}

/// Until 2026-12-07 a rep's counters were kept on the rep's profile item, in the one
/// partition all reps share. What was counted there is a base that nothing writes any
/// more: the caps hold with it, a lead charged there is released from the rep's own
/// counters, and new counts go to the rep's own partition. A deleted rep's counters are
/// marked, so an assignment decided before the delete cannot charge the rep.
#[tokio::test]
async fn counts_kept_with_the_profile_before_the_move_still_hold_the_caps() {
    use domain::assign::ports::{LeadChange, RepCharge};
    use domain::lead::ports::Saved;
    let stack = Stack::start().await;
    let store = stack.store();
    let now = t(WORK);
    let zhang = Rep {
        holding_cap: Some(4),
        daily_cap: Some(2),
        ..rep("zhang")
    };
    org(
        &store,
        &[zhang.clone(), rep("li")],
        &[pool("team", Strategy::RoundRobin, &["zhang"])],
    )
    .await;
    // Two leads held and one received today, counted the old way.
    counted_on_the_profile(&stack, "zhang", 2, Some(1)).await;
    let held_before = held_before_the_move(&store, "zhang", now).await;

    let app = assigner(&stack, RecordingNotifier::default());
    let owned = |ids: &[LeadId]| {
        let stack = &stack;
        let ids = ids.to_vec();
        async move {
            let mut n = 0;
            for id in &ids {
                n += usize::from(stack.lead(id.as_str()).await.owner.is_some());
            }
            n
        }
    };
    let counters = || async { store.rep("zhang").await.unwrap().unwrap().1 };
    let mut ids = Vec::new();
    for _ in 0..3 {
        ids.push(qualified(&store, now, "").await);
    }
    app.handle(ready_event(&ids, now), now).await;
    assert_eq!(owned(&ids).await, 1, "the daily cap (2) counts the one received before");
    assert_eq!(
        (
            counters().await.active_leads,
            counters().await.received.on(now.date_naive())
        ),
        (3, 2)
    );

    store
        .put_rep(&Rep {
            daily_cap: Some(10),
            ..zhang.clone()
        })
        .await
        .unwrap();
    app.handle(ready_event(&ids, now), now).await;
    assert_eq!(owned(&ids).await, 2, "the holding cap (4) counts the two held before");
    assert_eq!(counters().await.active_leads, 4);

    // A lead charged before the move, returned: the rep's own count goes down for it.
    let api = api(&stack, now);
    returned_by(&api, &held_before).await;
    assert_eq!(counters().await.active_leads, 3);
    app.handle(ready_event(&ids, now), now).await;
    assert_eq!(owned(&ids).await, 3);
    assert_eq!(counters().await.active_leads, 4);
    let own = stack.items_with_pk_prefix("REPC#zhang").await;
    assert_eq!(
        own[0]["active_leads"].as_n().unwrap(),
        "2",
        "three charged, one released: {own:?}"
    );
    let profile = stack.items_with_pk_prefix("REPS").await;
    let profile = profile.iter().find(|i| i["sk"].as_s().unwrap() == "zhang").unwrap();
    assert_eq!(
        profile["active_leads"].as_n().unwrap(),
        "2",
        "the base is never written"
    );
    assert_eq!(
        store.delete_rep("zhang").await.unwrap(),
        Some(Saved::Conflict),
        "holds leads"
    );
    // The store's own conditions count the base too, whatever the caller decided: zhang
    // holds 4 (2 + 2 of his own) and received 4 today (1 + 3).
    let lead = stack.lead(ids[0].as_str()).await;
    let change = || LeadChange::new(&lead, lead.clone(), now.date_naive());
    let charge = |holding_cap: u32, daily_cap: Option<u32>| LeadChange {
        charge: Some(RepCharge {
            rep: "zhang".into(),
            holding_cap,
            daily_cap,
            counts_today: true,
        }),
        ..change()
    };
    let release_above = |floor: u32| LeadChange {
        release: Some("zhang".into()),
        release_floor: Some(floor),
        ..change()
    };
    assert_eq!(
        store.commit_change(&charge(4, None)).await.unwrap(),
        Saved::Conflict,
        "holding cap"
    );
    assert_eq!(
        store.commit_change(&charge(100, Some(4))).await.unwrap(),
        Saved::Conflict,
        "daily cap"
    );
    assert_eq!(
        store.commit_change(&release_above(3)).await.unwrap(),
        Saved::Saved,
        "4 > 3"
    );
    assert_eq!(
        store.commit_change(&release_above(3)).await.unwrap(),
        Saved::Conflict,
        "3 > 3"
    );
    assert_eq!(counters().await.active_leads, 3);

    // wang's base is at his holding cap (3), but one of those leads has been returned
    // since: his own count is -1, and there is room for one.
    let wang = Rep {
        holding_cap: Some(3),
        ..rep("wang")
    };
    store.put_rep(&wang).await.unwrap();
    counted_on_the_profile(&stack, "wang", 3, None).await;
    returned_by(&api, &held_before_the_move(&store, "wang", now).await).await;
    for expected in [200, 409] {
        let unowned = qualified(&store, now, "").await;
        let path = format!("/v1/leads/{unowned}/actions");
        let body = json!({"action": "assign", "to": "wang"});
        let given = call(&api, "POST", &path, &token("boss", Role::Manager), Some(body)).await;
        assert_eq!(given.status, expected, "{}", given.body);
        assert_eq!(store.rep("wang").await.unwrap().unwrap().1.active_leads, 3);
    }

    // li holds nothing and is deleted; an assignment decided while li was there finds li
    // retired, even if the profile came back without li being saved again.
    let reps = stack.items_with_pk_prefix("REPS").await;
    let li_profile = reps.into_iter().find(|i| i["sk"].as_s().unwrap() == "li").unwrap();
    assert_eq!(store.delete_rep("li").await.unwrap(), Some(Saved::Saved));
    let lead = stack.lead(ids[0].as_str()).await;
    let charging_li = || LeadChange {
        charge: Some(RepCharge {
            rep: "li".into(),
            holding_cap: 10,
            daily_cap: None,
            counts_today: true,
        }),
        ..LeadChange::new(&lead, lead.clone(), now.date_naive())
    };
    assert_eq!(
        store.commit_change(&charging_li()).await.unwrap(),
        Saved::Conflict,
        "no profile"
    );
    stack
        .dynamo
        .put_item()
        .table_name(stack.table())
        .set_item(Some(li_profile))
        .send()
        .await
        .unwrap();
    assert_eq!(
        store.commit_change(&charging_li()).await.unwrap(),
        Saved::Conflict,
        "retired"
    );
    // A release meanwhile (a lead li held once, returned) counts down the retired item;
    // li saved again starts from nothing all the same.
    let release_li = LeadChange {
        release: Some("li".into()),
        ..LeadChange::new(&lead, lead.clone(), now.date_naive())
    };
    assert_eq!(store.commit_change(&release_li).await.unwrap(), Saved::Saved);
    store.put_rep(&rep("li")).await.unwrap();
    assert_eq!(
        store.commit_change(&charging_li()).await.unwrap(),
        Saved::Saved,
        "saved again"
    );
    assert_eq!(store.rep("li").await.unwrap().unwrap().1.active_leads, 1);
}
