//! The nurture loop and the pool claim deadline against the DynamoDB/SQS emulator,
//! through the functions as they run: intake, dedup-score, assign, the api and the
//! sweep, each with its clock set. A lead goes to nurture (a rep's action with a
//! reason, or an MQL not made SQL in time), wakes (engagement, or its re-check) and is
//! routed to another rep as `reactivated`; an MQL nobody claims reminds and then
//! escalates to its pool's channel, once however often the sweep and the queue repeat.

use assign::Assign;
use chrono::{DateTime, Duration, Utc};
use domain::assign::actions::Role;
use domain::assign::auto::assign_lead;
use domain::assign::ports::RoutingStore;
use domain::assign::routing::{Pool, RoutingConfig, Strategy};
use domain::follow_up::ports::SlaStore;
use domain::lead::ports::{FixedClock, LeadStore, NewLead};
use domain::lead::{Lead, LeadId, OwnerChangeHow, Stage};
use domain::memory::RecordingNotifier;
use leadflow_aws::DynamoStore;
use leadflow_tests::{answer, api_token, http_event, rep, request, tick, Answer, Stack};
use serde_json::{json, Value};
use sla_sweep::Sweep;

/// Monday 1 June 2026, 09:30 Beijing time: a working day in a working week.
const MONDAY: &str = "2026-06-01T09:30:00+08:00";

fn t(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

async fn sweep(stack: &Stack, at: DateTime<Utc>) -> sla_sweep::SweepReport {
    let sweep = Sweep {
        store: stack.store(),
        bus: stack.full_bus(),
        redrive: domain::capture::intake::RedrivePolicy::default(),
        due_per_run: 500,
    };
    sweep.handle(tick(at)).await.unwrap()
}

async fn post(stack: &Stack, at: DateTime<Utc>, path: &str, body: Value) -> Answer {
    let intake = stack.intake_at(FixedClock(at));
    let event = http_event("POST", path, &[("content-type", "application/json")], &body.to_string());
    answer(intake.handle(request(&event)).await)
}

async fn act(stack: &Stack, at: DateTime<Utc>, who: &str, role: Role, lead: &str, body: Value) -> Answer {
    let api = stack.api(FixedClock(at));
    let auth = format!("Bearer {}", api_token(who, &[role]));
    let headers = [("content-type", "application/json"), ("authorization", auth.as_str())];
    let path = format!("/v1/leads/{lead}/actions");
    answer(
        api.handle(request(&http_event("POST", &path, &headers, &body.to_string())))
            .await,
    )
}

async fn org(store: &DynamoStore, strategy: Strategy, webhook: Option<&str>) {
    for id in ["zhang", "li"] {
        store.put_rep(&rep(id)).await.unwrap();
    }
    store
        .put_pool(&Pool {
            id: "beijing".into(),
            name: "北京".into(),
            strategy,
            members: vec!["zhang".into(), "li".into()],
            daily_cap: None,
            daily_claim_cap: None,
            webhook: webhook
                .map(|url| domain::assign::notify::Webhook::new(url, domain::assign::notify::WebhookFormat::Wecom)),
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

fn how_of(changes: &[domain::assign::ports::OwnerChange]) -> Vec<(Option<&str>, Option<&str>, OwnerChangeHow)> {
    changes
        .iter()
        .map(|c| (c.from.as_deref(), c.to.as_deref(), c.how))
        .collect()
}

#[tokio::test]
async fn a_nurtured_lead_wakes_on_engagement_and_goes_to_another_rep() {
    let stack = Stack::start().await;
    let store = stack.store();
    org(&store, Strategy::RoundRobin, None).await;
    let t0 = t(MONDAY);
    let form = json!({"name": "王芳", "phone": "13800138000", "consent": true, "channel": "web_form"});
    let got = post(&stack, t0, "/v1/leads", form).await;
    assert!(got.status < 300, "{} {}", got.status, got.body);
    let id = got.body["lead_id"].as_str().unwrap().to_string();
    stack.settle(t0).await;
    assert_eq!(stack.lead(&id).await.owner.as_deref(), Some("zhang"));

    // A reason is required, and names the field when missing or unknown.
    let t1 = t0 + Duration::hours(2);
    for bad in [
        json!({"action": "nurture"}),
        json!({"action": "nurture", "reason": "busy"}),
    ] {
        let refused = act(&stack, t1, "zhang", Role::Rep, &id, bad.clone()).await;
        assert_eq!(refused.status, 422, "{bad}: {}", refused.body);
        assert!(refused.body.to_string().contains("reason"), "{}", refused.body);
    }
    let nurtured = act(
        &stack,
        t1,
        "zhang",
        Role::Rep,
        &id,
        json!({"action": "nurture", "reason": "no_budget", "note": "明年预算"}),
    )
    .await;
    assert_eq!(nurtured.status, 200, "{}", nurtured.body);
    let lead = stack.lead(&id).await;
    assert_eq!((lead.stage, lead.owner.as_deref()), (Stage::Nurture, None));
    assert_eq!(lead.previous_owner.as_deref(), Some("zhang"));
    assert_eq!(lead.nurture.as_ref().map(|n| n.reason.as_str()), Some("no_budget"));
    assert_eq!(
        store.rep("zhang").await.unwrap().unwrap().1.active_leads,
        0,
        "zhang's hold released"
    );
    // The former owner no longer works it.
    let gone = act(
        &stack,
        t1,
        "zhang",
        Role::Rep,
        &id,
        json!({"action": "follow_up", "kind": "call"}),
    )
    .await;
    assert_eq!(gone.status, 403, "{}", gone.body);

    // The next new lead goes to li, so round robin would offer zhang the next one.
    let other = json!({"name": "赵磊", "phone": "13900139000", "consent": true, "channel": "web_form"});
    let other = post(&stack, t1, "/v1/leads", other).await.body["lead_id"]
        .as_str()
        .unwrap()
        .to_string();
    stack.settle(t1).await;
    assert_eq!(stack.lead(&other).await.owner.as_deref(), Some("li"));

    // A page view (5 points) is not enough; a chat (20) is, and a redelivery of it
    // changes nothing.
    let t2 = t0 + Duration::days(20);
    let view = json!({"event": "page_view", "phone": "13800138000", "event_id": "v1", "channel": "web_form"});
    assert!(post(&stack, t2, "/v1/events", view).await.status < 300);
    stack.settle(t2).await;
    assert_eq!(stack.lead(&id).await.stage, Stage::Nurture);
    let chat = json!({"event": "chat_consult", "phone": "13800138000", "event_id": "c1", "channel": "web_form"});
    assert!(post(&stack, t2, "/v1/events", chat.clone()).await.status < 300);
    assert!(post(&stack, t2, "/v1/events", chat).await.status < 300);
    stack.settle(t2).await;
    let woke = stack.lead(&id).await;
    assert_eq!(
        (woke.stage, woke.owner.as_deref()),
        (Stage::Recycled, Some("li")),
        "not zhang again"
    );
    assert_eq!(woke.acquisition, Some(OwnerChangeHow::Reactivated));
    assert_eq!((woke.nurture.clone(), woke.reactivated_at), (None, None));
    let changes = store.owner_changes(&LeadId::parse(&id).unwrap()).await.unwrap();
    assert_eq!(
        how_of(&changes),
        [
            (None, Some("zhang"), OwnerChangeHow::AutoAssigned),
            (Some("zhang"), None, OwnerChangeHow::Nurtured),
            (None, Some("li"), OwnerChangeHow::Reactivated),
        ]
    );
    assert_eq!(changes[1].note.as_deref(), Some("no_budget: 明年预算"));
}

#[tokio::test]
async fn an_mql_not_made_sql_in_time_is_nurtured_and_its_re_check_routes_it_again() {
    let stack = Stack::start().await;
    let store = stack.store();
    org(&store, Strategy::RoundRobin, None).await;
    let t0 = t(MONDAY);
    let mut lead = Lead::new(LeadId::generate(t0), "web_form", t0);
    lead.set_stage(Stage::Mql, t0);
    store.create_lead(&NewLead::new(lead.clone(), None)).await.unwrap();
    assign_lead(&store, &stack.full_bus(), &lead.id, t0).await.unwrap();
    let id = lead.id.to_string();
    assert_eq!(stack.lead(&id).await.owner.as_deref(), Some("zhang"));
    // Contacted in time, so only the SQL decision is left to miss.
    let called = act(
        &stack,
        t0 + Duration::hours(1),
        "zhang",
        Role::Rep,
        &id,
        json!({"action": "follow_up", "kind": "call"}),
    )
    .await;
    assert_eq!(called.status, 200, "{}", called.body);
    stack.drain("ReadyQueue").await;

    // 7 working days after MQL: Wednesday 10 June, 09:30.
    let due = t("2026-06-10T09:30:00+08:00");
    assert_eq!(sweep(&stack, due - Duration::minutes(1)).await.breached, 0);
    assert_eq!(sweep(&stack, due).await.breached, 1);
    assert_eq!(
        sweep(&stack, due + Duration::minutes(5)).await.breached,
        0,
        "handled once"
    );
    let nurtured = stack.lead(&id).await;
    assert_eq!((nurtured.stage, nurtured.owner.as_deref()), (Stage::Nurture, None));
    assert_eq!(
        nurtured.nurture.as_ref().map(|n| n.reason.as_str()),
        Some("deadline:sql_decision")
    );
    let violations = store.violations(t0, due + Duration::days(1)).await.unwrap();
    assert_eq!(violations.len(), 1);
    assert_eq!(
        (violations[0].owner.as_str(), violations[0].clock.as_str()),
        ("zhang", "sql_decision")
    );
    stack.settle(due).await;
    assert_eq!(stack.lead(&id).await.owner, None, "a nurtured lead is not routed");

    // The next new lead goes to li, so round robin would offer zhang the next one.
    let mut other = Lead::new(LeadId::generate(due), "web_form", due);
    other.set_stage(Stage::Mql, due);
    store.create_lead(&NewLead::new(other.clone(), None)).await.unwrap();
    assign_lead(&store, &stack.full_bus(), &other.id, due).await.unwrap();
    assert_eq!(stack.lead(other.id.as_str()).await.owner.as_deref(), Some("li"));
    stack.drain("ReadyQueue").await;

    // Its re-check, 60 working days later, sends it back to routing: to li, not zhang
    // who let it go. No violation.
    let recheck = stack.lead(&id).await.sla_next_check.expect("the re-check is scheduled");
    sweep(&stack, recheck).await;
    stack.settle(recheck).await;
    let back = stack.lead(&id).await;
    assert_eq!(
        (back.owner.as_deref(), back.acquisition),
        (Some("li"), Some(OwnerChangeHow::Reactivated))
    );
    let of_this_lead = store
        .violations(t0, recheck + Duration::days(1))
        .await
        .unwrap()
        .into_iter()
        .filter(|v| v.lead_id.as_str() == id)
        .count();
    assert_eq!(of_this_lead, 1, "a re-check is no violation");
}

#[tokio::test]
async fn an_unclaimed_mql_reminds_then_escalates_to_its_pool_once() {
    let stack = Stack::start().await;
    let store = stack.store();
    let hook = "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=pool";
    org(&store, Strategy::ClaimOnly, Some(hook)).await;
    let t0 = t(MONDAY);
    let mut ids = Vec::new();
    for _ in 0..2 {
        let mut lead = Lead::new(LeadId::generate(t0), "web_form", t0);
        lead.set_stage(Stage::Mql, t0);
        store.create_lead(&NewLead::new(lead.clone(), None)).await.unwrap();
        assign_lead(&store, &stack.full_bus(), &lead.id, t0).await.unwrap();
        ids.push(lead.id.to_string());
    }
    let waiting = stack.lead(&ids[0]).await;
    assert_eq!(
        (waiting.owner.as_deref(), waiting.pool.as_deref()),
        (None, Some("beijing"))
    );
    stack.drain("ReadyQueue").await;

    // Each notice reaches the pool's channel once, though the queue delivers it twice:
    // the first delivery leaves every message to come back.
    let assign = Assign {
        store: stack.store(),
        bus: stack.full_bus(),
        notifier: RecordingNotifier::default(),
    };
    let twice = |at: DateTime<Utc>| {
        let (stack, assign) = (&stack, &assign);
        async move {
            let first = stack
                .deliver_leaving("ReadyQueue", Some(1), || true, |e| assign.handle(e, at))
                .await;
            tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
            let (again, failed) = stack.deliver("ReadyQueue", |e| assign.handle(e, at)).await;
            assert_eq!((first.failed, again, failed), (0, first.received, 0));
            first.received
        }
    };

    // Half of 2 working hours: 10:30; the deadline 11:30.
    let remind = t("2026-06-01T10:30:00+08:00");
    let due = t("2026-06-01T11:30:00+08:00");
    let reminded = sweep(&stack, remind).await;
    assert_eq!((reminded.reminded, reminded.breached), (2, 0));
    assert_eq!(twice(remind).await, 2, "two reminders");
    // Li claims the second one before its deadline.
    let claimed = act(
        &stack,
        remind + Duration::minutes(10),
        "li",
        Role::Rep,
        &ids[1],
        json!({"action": "claim"}),
    )
    .await;
    assert_eq!(claimed.status, 200, "{}", claimed.body);
    stack.drain("ReadyQueue").await;
    let escalated = sweep(&stack, due).await;
    assert_eq!(escalated.breached, 1, "only the unclaimed lead");
    assert_eq!(sweep(&stack, due + Duration::minutes(5)).await.breached, 0);
    assert_eq!(twice(due).await, 1, "one escalation");

    let texts: Vec<String> = assign
        .notifier
        .sent()
        .into_iter()
        .filter(|(url, _)| url == hook)
        .map(|(_, body)| body["text"]["content"].as_str().unwrap_or_default().to_string())
        .collect();
    let about = |id: &str, word: &str| texts.iter().filter(|t| t.contains(id) && t.contains(word)).count();
    assert_eq!(about(&ids[0], "提醒"), 1, "{texts:?}");
    assert_eq!(about(&ids[0], "无人领取"), 1, "{texts:?}");
    assert_eq!(about(&ids[1], "无人领取"), 0, "{texts:?}");
    let violations = store.violations(t0, due + Duration::days(1)).await.unwrap();
    assert_eq!(violations.len(), 1);
    let v = &violations[0];
    assert_eq!(
        (
            v.lead_id.as_str(),
            v.owner.as_str(),
            v.pool.as_deref(),
            v.clock.as_str()
        ),
        (ids[0].as_str(), "", Some("beijing"), "claim")
    );
    let still = stack.lead(&ids[0]).await;
    assert_eq!(
        (still.owner.as_deref(), still.stage),
        (None, Stage::Mql),
        "escalation moves nothing"
    );
}
