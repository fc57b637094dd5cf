//! The SLA sweep on in-memory adapters: breach → violation + recycle + the next rep; a
//! follow-up in time; reminders once; overlapping sweeps; a 10,000-clock backlog that
//! drains over bounded runs. The same flows run against the emulator in
//! `tests/deadlines.rs`.

use chrono::{DateTime, Duration, Utc};
use domain::lead::{Lead, LeadId, OwnerChangeHow, Stage};
use domain::memory::{InMemoryBus, InMemoryStore};
use domain::{assign::actions::act, assign::actions::Action, assign::actions::Actor, assign::actions::Role};
use domain::{assign::auto::assign_lead, assign::auto::Assigned};
use domain::{assign::deadlines::check_lead, assign::deadlines::sweep_deadlines, assign::deadlines::Checked};
use domain::{
    assign::ports::FollowUpKind, assign::ports::RoutingStore, follow_up::ports::SlaStore, lead::ports::LeadStore,
};
use domain::{
    assign::routing::Pool, assign::routing::Rep, assign::routing::RoutingConfig, assign::routing::Strategy,
    assign::routing::Tier,
};
use domain::{follow_up::sla::BreachAction, follow_up::sla::SlaConfig};
use domain::{lead::messages::Message, lead::messages::ReadyReason};

fn t(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

/// Friday before Qingming 2026 (Saturday 4 to Monday 6 April), 15:00 Beijing time.
const FRIDAY: &str = "2026-04-03T15:00:00+08:00";
/// 24 working hours later: Tuesday 7 April, 15:00.
const DUE: &str = "2026-04-07T15:00:00+08:00";

fn rep(id: &str) -> Rep {
    Rep {
        id: id.into(),
        name: id.into(),
        team: "north".into(),
        department: "华北销售部".into(),
        tier: Tier::Regular,
        weight: 1,
        holding_cap: None,
        daily_cap: None,
        working_hours: None,
        out_of_office: Vec::new(),
        webhook: None,
        active: true,
    }
}

async fn org() -> InMemoryStore {
    let store = InMemoryStore::default();
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
    store
}

/// A new lead assigned (to zhang, the first in rotation) at `at`.
async fn assigned(store: &InMemoryStore, bus: &InMemoryBus, at: DateTime<Utc>) -> LeadId {
    let mut lead = Lead::new(LeadId::generate(at), "web_form", at);
    lead.set_stage(Stage::Aql, at);
    store
        .create_lead(&domain::lead::ports::NewLead::new(lead.clone(), None))
        .await
        .unwrap();
    assign_lead(store, bus, &lead.id, at).await.unwrap();
    lead.id
}

async fn lead(store: &InMemoryStore, id: &LeadId) -> Lead {
    store.get_lead(id).await.unwrap().unwrap()
}

#[tokio::test]
async fn a_missed_first_contact_is_recorded_and_the_lead_goes_to_the_next_rep() {
    let store = org().await;
    let bus = InMemoryBus::default();
    let id = assigned(&store, &bus, t(FRIDAY)).await;
    let first = lead(&store, &id).await;
    assert_eq!(first.owner.as_deref(), Some("zhang"));
    assert_eq!(first.sla[0].due_at, Some(t(DUE)), "24 h skip the holiday");

    let a_minute_early = t(DUE) - Duration::minutes(1);
    let early = sweep_deadlines(&store, &bus, a_minute_early, 100).await.unwrap();
    assert_eq!(
        (early.breached, early.reminded),
        (0, 1),
        "reminded at 80 %, not breached"
    );
    let report = sweep_deadlines(&store, &bus, t(DUE), 100).await.unwrap();
    assert_eq!(report.breached, 1);

    let violations = store.all_violations();
    assert_eq!(violations.len(), 1);
    let v = &violations[0];
    assert_eq!((v.owner.as_str(), v.clock.as_str()), ("zhang", "first_contact"));
    assert_eq!((v.due_at, v.started_at), (t(DUE), t(FRIDAY)));
    assert_eq!(v.owner_department.as_deref(), Some("华北销售部"));
    assert_eq!(v.action, BreachAction::ReassignNext);
    assert_eq!(
        v.evidence["last_follow_up_at"],
        serde_json::Value::Null,
        "nothing was done"
    );

    let recycled = lead(&store, &id).await;
    assert_eq!((recycled.owner.as_deref(), recycled.stage), (None, Stage::Recycled));
    assert_eq!(store.rep_counters("zhang").unwrap().active_leads, 0);
    let ready = bus.sent().into_iter().rev().find_map(|e| match e.message {
        Message::LeadReady { reason, .. } => Some(reason),
        _ => None,
    });
    assert_eq!(ready, Some(ReadyReason::Recycled));
    assert!(bus
        .sent()
        .iter()
        .any(|e| matches!(&e.message, Message::SlaBreached { owner, .. } if owner == "zhang")));

    // The queued lead.ready: routed again, skipping zhang.
    assert!(matches!(
        assign_lead(&store, &bus, &id, t(DUE)).await.unwrap(),
        Assigned::Assigned { rep, .. } if rep == "li"
    ));
    let next = lead(&store, &id).await;
    assert_eq!(next.acquisition, Some(OwnerChangeHow::Recycled));
    assert_eq!(next.sla[0].started_at, t(DUE), "li's own clock starts now");
    let numbers = store
        .pool_numbers(t(FRIDAY).date_naive(), t(DUE).date_naive())
        .await
        .unwrap();
    assert_eq!((numbers["beijing"].handed_out, numbers["beijing"].recycled), (2, 1));
}

#[tokio::test]
async fn a_follow_up_a_second_before_the_sweep_wins() {
    let store = org().await;
    let bus = InMemoryBus::default();
    let id = assigned(&store, &bus, t(FRIDAY)).await;
    let follow_up = Action::FollowUp {
        kind: FollowUpKind::Call,
        note: None,
        bant: Default::default(),
    };
    let zhang = Actor {
        id: "zhang".into(),
        roles: vec![Role::Rep],
    };
    act(&store, &bus, &id, &follow_up, &zhang, t(DUE) - Duration::seconds(1))
        .await
        .unwrap();
    // The index still held the old instant; the sweep re-checks and finds it done.
    let outcome = check_lead(&store, &bus, &id, t(DUE)).await.unwrap();
    assert!(
        matches!(outcome, Checked::Rescheduled | Checked::Reminded { .. }),
        "{outcome:?}"
    );
    assert!(store.all_violations().is_empty());
    assert_eq!(lead(&store, &id).await.owner.as_deref(), Some("zhang"));
}

#[tokio::test]
async fn overlapping_sweeps_record_one_violation() {
    let store = org().await;
    let bus = InMemoryBus::default();
    let id = assigned(&store, &bus, t(FRIDAY)).await;
    let (a, b) = tokio::join!(
        check_lead(&store, &bus, &id, t(DUE)),
        check_lead(&store, &bus, &id, t(DUE))
    );
    let breaches = [a.unwrap(), b.unwrap()]
        .iter()
        .filter(|c| matches!(c, Checked::Breached { .. }))
        .count();
    assert_eq!(breaches, 1);
    assert_eq!(store.all_violations().len(), 1);
    assert_eq!(
        store.owner_changes(&id).await.unwrap().len(),
        2,
        "assigned, then recycled once"
    );
}

#[tokio::test]
async fn a_backlog_of_ten_thousand_due_clocks_drains_over_bounded_runs() {
    let store = org().await;
    let bus = InMemoryBus::default();
    // Escalation moves no lead, so the run measures the sweep itself.
    let mut config = SlaConfig::default();
    for rule in &mut config.policies[0].clocks {
        rule.on_breach = BreachAction::Escalate;
    }
    config.version = 1;
    store.save_sla_config(&config).await.unwrap();
    for id in ["zhang", "li"] {
        let roomy = Rep {
            holding_cap: Some(100_000),
            ..rep(id)
        };
        store.put_rep(&roomy).await.unwrap();
    }
    let start = t(FRIDAY);
    for _ in 0..10_000 {
        assigned(&store, &bus, start).await;
    }
    let later = start + Duration::days(30);
    let mut runs = Vec::new();
    loop {
        let report = sweep_deadlines(&store, &bus, later, 1_000).await.unwrap();
        assert!(report.entries_read <= 1_001, "reads grow with what is due: {report:?}");
        runs.push(report.checked);
        if !report.more {
            break;
        }
        assert!(runs.len() < 100, "the backlog does not drain");
    }
    // Each `aql` lead breaches three clocks (first contact, MQL decision, untouched), one
    // per check, oldest first: 30 runs of 1,000.
    assert_eq!(store.all_violations().len(), 30_000);
    assert_eq!(runs.len(), 30);
    assert!(runs.iter().all(|n| *n <= 1_000));
    let after = sweep_deadlines(&store, &bus, later, 1_000).await.unwrap();
    assert_eq!((after.checked, after.entries_read), (0, 0), "nothing left due");
}

#[tokio::test]
async fn each_clock_runs_to_its_own_action() {
    let store = org().await;
    let bus = InMemoryBus::default();
    let id = assigned(&store, &bus, t("2026-11-23T10:00:00+08:00")).await;
    let zhang = Actor {
        id: "zhang".into(),
        roles: vec![Role::Rep],
    };
    let monday = t("2026-11-23T11:00:00+08:00");
    for action in [
        Action::FollowUp {
            kind: FollowUpKind::Visit,
            note: None,
            bant: Default::default(),
        },
        Action::QualifyMql { note: None },
        Action::QualifySql { note: None },
    ] {
        act(&store, &bus, &id, &action, &zhang, monday).await.unwrap();
    }
    let sql = lead(&store, &id).await;
    let outcome = sql.sla.iter().find(|c| c.clock == "sql_outcome").unwrap();
    assert_eq!(outcome.due_at, Some(t("2026-12-02T11:00:00+08:00")), "7 working days");
    // Untouched for 7 working days breaches first? No: both run 7 days from 11:00; the
    // outcome clock escalates and the untouched clock recycles, earliest first.
    let checked = check_lead(&store, &bus, &id, t("2026-12-02T11:00:00+08:00"))
        .await
        .unwrap();
    assert!(matches!(checked, Checked::Breached { .. }), "{checked:?}");
    let again = check_lead(&store, &bus, &id, t("2026-12-02T11:00:00+08:00"))
        .await
        .unwrap();
    assert!(matches!(again, Checked::Breached { .. }), "the other clock: {again:?}");
    let clocks: Vec<String> = store.all_violations().iter().map(|v| v.clock.clone()).collect();
    assert_eq!(clocks.len(), 2);
    assert!(clocks.contains(&"sql_outcome".to_string()) && clocks.contains(&"untouched".to_string()));
    let last = check_lead(&store, &bus, &id, t("2026-12-02T11:00:00+08:00"))
        .await
        .unwrap();
    assert_eq!(last, Checked::Rescheduled, "nothing left to do");
}

#[test]
fn a_clock_on_unowned_leads_may_only_escalate_or_reactivate() {
    use domain::follow_up::sla::{RunsWhile, Satisfier};
    let mut config = SlaConfig::default();
    assert!(config.validate().is_empty(), "{:?}", config.validate());
    let claim = |config: &mut SlaConfig| {
        config.policies[0]
            .clocks
            .iter_mut()
            .position(|c| c.name == "claim")
            .unwrap()
    };
    let i = claim(&mut config);
    config.policies[0].clocks[i].on_breach = BreachAction::RecycleToPool;
    let j = config.policies[0]
        .clocks
        .iter()
        .position(|c| c.name == "first_contact")
        .unwrap();
    config.policies[0].clocks[j].satisfied_by.push(Satisfier::Claimed);
    config.policies[0].clocks[j].on_breach = BreachAction::Reactivate;
    let fields: Vec<(String, String)> = config.validate().into_iter().map(|e| (e.field, e.reason)).collect();
    assert_eq!(
        fields.iter().map(|(f, _)| f.as_str()).collect::<Vec<_>>(),
        [
            format!("policies[0].clocks[{j}].satisfied_by"),
            format!("policies[0].clocks[{j}].on_breach"),
            format!("policies[0].clocks[{i}].on_breach"),
        ],
        "{fields:?}"
    );
    assert_eq!(config.policies[0].clocks[i].runs_while, RunsWhile::Unowned);
}

#[tokio::test]
async fn a_lead_that_becomes_mql_while_it_waits_starts_its_claim_deadline() {
    let store = org().await;
    let mut pool = store.pool("beijing").await.unwrap().unwrap();
    pool.strategy = Strategy::ClaimOnly;
    store.put_pool(&pool).await.unwrap();
    let bus = InMemoryBus::default();
    // Monday 1 June 2026, 09:30 Beijing time: parked as an AQL, no clock runs.
    let at = t("2026-06-01T09:30:00+08:00");
    let id = assigned(&store, &bus, at).await;
    let parked = lead(&store, &id).await;
    assert_eq!((parked.owner.as_deref(), parked.sla_next_check), (None, None));
    // Engagement makes it MQL (qualification moves the stage, not the clocks), and
    // routing is asked again: it still waits, and its claim clock now runs.
    let later = at + Duration::minutes(10);
    let mut mql = parked.clone();
    mql.set_stage(Stage::Mql, later);
    mql.revise(later);
    let base = parked.version;
    let commit = domain::qualify::ports::DedupCommit::of(vec![(mql, base)]);
    domain::qualify::pipeline::commit_decision(&store, &commit)
        .await
        .unwrap();
    let again = assign_lead(&store, &bus, &id, later).await.unwrap();
    assert!(matches!(again, Assigned::StillWaiting { .. }), "{again:?}");
    let waiting = lead(&store, &id).await;
    let claim = waiting
        .sla
        .iter()
        .find(|c| c.clock == "claim")
        .expect("the claim clock runs");
    assert_eq!(
        claim.due_at,
        Some(t("2026-06-01T11:40:00+08:00")),
        "2 working hours from MQL"
    );
    assert_eq!(
        waiting.sla_next_check,
        Some(t("2026-06-01T10:40:00+08:00")),
        "its reminder at half time"
    );
}
