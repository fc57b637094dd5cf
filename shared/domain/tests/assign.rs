//! Assignment and lead actions against the in-memory adapters: what gets written, what
//! gets counted, who may do what. The same flows run against the DynamoDB emulator in
//! `tests/assign.rs`, where the caps are also put under concurrency.

use chrono::{DateTime, NaiveTime, Utc, Weekday};
use domain::lead::messages::Message;
use domain::lead::{Bant, Company, Lead, LeadId, OwnerChangeHow, Stage};
use domain::memory::{InMemoryBus, InMemoryStore, RecordingNotifier};
use domain::{
    assign::actions::act, assign::actions::ActError, assign::actions::Action, assign::actions::Actor,
    assign::actions::InvalidCode, assign::actions::Role,
};
use domain::{
    assign::auto::assign_lead, assign::auto::notify_assigned, assign::auto::reoffer_waiting, assign::auto::Assigned,
    assign::auto::Noticed,
};
use domain::{assign::notify::Webhook, assign::notify::WebhookFormat};
use domain::{assign::ports::FollowUpKind, assign::ports::RoutingStore, lead::ports::LeadStore};
use domain::{
    assign::routing::Pool, assign::routing::Rep, assign::routing::RouteRule, assign::routing::RoutingConfig,
    assign::routing::Strategy, assign::routing::Tier, assign::routing::WorkingHours,
};

fn t(s: &str) -> DateTime<Utc> {
    s.parse().unwrap()
}

/// Monday 10:00 in Beijing.
const WORK: &str = "2026-11-23T02:00:00Z";
/// Tuesday 02:00 in Beijing.
const NIGHT: &str = "2026-11-23T18:00:00Z";

fn office_hours() -> WorkingHours {
    WorkingHours {
        time_zone: chrono_tz::Asia::Shanghai,
        days: vec![Weekday::Mon, Weekday::Tue, Weekday::Wed, Weekday::Thu, Weekday::Fri],
        start: NaiveTime::from_hms_opt(9, 0, 0).unwrap(),
        end: NaiveTime::from_hms_opt(18, 0, 0).unwrap(),
    }
}

fn rep(id: &str, tier: Tier) -> Rep {
    Rep {
        id: id.into(),
        name: id.into(),
        team: "north".into(),
        department: "华北销售部".into(),
        tier,
        weight: 1,
        holding_cap: None,
        daily_cap: None,
        working_hours: Some(office_hours()),
        out_of_office: Vec::new(),
        webhook: Some(Webhook::new(
            format!("https://chat.example.com/{id}"),
            WebhookFormat::Wecom,
        )),
        active: true,
    }
}

async fn org() -> InMemoryStore {
    let store = InMemoryStore::default();
    for r in [rep("zhang", Tier::Top), rep("li", Tier::Regular)] {
        store.put_rep(&r).await.unwrap();
    }
    store
        .put_pool(&Pool {
            id: "beijing".into(),
            name: "北京".into(),
            strategy: Strategy::RoundRobin,
            members: vec!["zhang".into(), "li".into()],
            daily_cap: None,
            daily_claim_cap: Some(1),
            webhook: None,
        })
        .await
        .unwrap();
    let routing = RoutingConfig {
        version: 1,
        rules: vec![RouteRule {
            pool: "beijing".into(),
            provinces: vec!["北京".into()],
            ..RouteRule::default()
        }],
        default_pool: "beijing".into(),
        ..RoutingConfig::default()
    };
    store.save_routing(&routing).await.unwrap();
    store
}

async fn qualified_lead(store: &InMemoryStore, at: DateTime<Utc>) -> LeadId {
    let mut lead = Lead::new(LeadId::generate(at), "web_form", at);
    lead.set_stage(Stage::Aql, at);
    lead.company = Some(Company {
        raw: "北京纷扬科技有限公司".into(),
        core: "纷扬".into(),
    });
    store
        .create_lead(&domain::lead::ports::NewLead::new(lead.clone(), None))
        .await
        .unwrap();
    lead.id
}

fn actor(id: &str, role: Role) -> Actor {
    Actor {
        id: id.into(),
        roles: vec![role],
    }
}

async fn lead(store: &InMemoryStore, id: &LeadId) -> Lead {
    store.get_lead(id).await.unwrap().unwrap()
}

#[tokio::test]
async fn assignment_sets_the_owner_counts_it_and_announces_it_once() {
    let store = org().await;
    let bus = InMemoryBus::default();
    let notifier = RecordingNotifier::default();
    let now = t(WORK);
    let id = qualified_lead(&store, now).await;

    let got = assign_lead(&store, &bus, &id, now).await.unwrap();
    assert_eq!(
        got,
        Assigned::Assigned {
            rep: "zhang".into(),
            pool: "beijing".into()
        }
    );
    let saved = lead(&store, &id).await;
    assert_eq!(saved.owner.as_deref(), Some("zhang"));
    assert_eq!(saved.owner_department.as_deref(), Some("华北销售部"));
    assert_eq!(saved.acquisition, Some(OwnerChangeHow::AutoAssigned));
    assert_eq!(
        saved.sla.first().map(|c| (c.clock.as_str(), c.started_at)),
        Some(("first_contact", now))
    );
    assert_eq!(store.rep_counters("zhang").unwrap().active_leads, 1);
    let changes = store.owner_changes(&id).await.unwrap();
    assert_eq!((changes.len(), changes[0].how), (1, OwnerChangeHow::AutoAssigned));

    // Redelivered lead.ready: nothing new is written, the notice is announced again…
    assert_eq!(
        assign_lead(&store, &bus, &id, now).await.unwrap(),
        Assigned::AlreadyOwned
    );
    assert_eq!(store.rep_counters("zhang").unwrap().active_leads, 1);
    let announced: Vec<String> = bus
        .sent()
        .into_iter()
        .filter_map(|e| match e.message {
            Message::LeadAssigned { change_id, .. } => Some(change_id),
            _ => None,
        })
        .collect();
    assert_eq!(announced.len(), 2);
    // …and sent once.
    for change_id in &announced {
        notify_assigned(&store, &notifier, &id, change_id).await.unwrap();
    }
    let sent = notifier.sent();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].0, "https://chat.example.com/zhang");
    assert!(sent[0].1["text"]["content"]
        .as_str()
        .unwrap()
        .contains("新线索已自动分配给你"));

    // The next lead rotates to the other rep.
    let second = qualified_lead(&store, now).await;
    assert!(matches!(
        assign_lead(&store, &bus, &second, now).await.unwrap(),
        Assigned::Assigned { rep, .. } if rep == "li"
    ));
}

#[tokio::test]
async fn a_failed_webhook_is_retried_and_still_sent_once() {
    let store = org().await;
    let bus = InMemoryBus::default();
    let notifier = RecordingNotifier::default();
    let id = qualified_lead(&store, t(WORK)).await;
    assign_lead(&store, &bus, &id, t(WORK)).await.unwrap();
    let change_id = lead(&store, &id).await.owner_change_id.unwrap();
    notifier.set_failing(true);
    assert!(notify_assigned(&store, &notifier, &id, &change_id).await.is_err());
    notifier.set_failing(false);
    assert_eq!(
        notify_assigned(&store, &notifier, &id, &change_id).await.unwrap(),
        Noticed::Sent
    );
    assert_eq!(
        notify_assigned(&store, &notifier, &id, &change_id).await.unwrap(),
        Noticed::AlreadySent
    );
    assert_eq!(notifier.sent().len(), 1);
    assert_eq!(
        notify_assigned(&store, &notifier, &id, "an-older-change")
            .await
            .unwrap(),
        Noticed::Stale
    );
}

#[tokio::test]
async fn at_night_the_lead_waits_in_its_pool_and_is_offered_again_in_the_morning() {
    let store = org().await;
    let bus = InMemoryBus::default();
    let id = qualified_lead(&store, t(NIGHT)).await;
    let got = assign_lead(&store, &bus, &id, t(NIGHT)).await.unwrap();
    assert!(
        matches!(got, Assigned::Waiting { ref pool, .. } if pool == "beijing"),
        "{got:?}"
    );
    let parked = lead(&store, &id).await;
    assert_eq!(parked.waiting_in_pool(), Some("beijing"));
    // Offered again while still nobody is at work: nothing is rewritten.
    assert!(matches!(
        assign_lead(&store, &bus, &id, t(NIGHT)).await.unwrap(),
        Assigned::StillWaiting { ref pool, .. } if pool == "beijing"
    ));
    assert_eq!(lead(&store, &id).await.version, parked.version);
    assert_eq!(reoffer_waiting(&store, &bus, t(NIGHT), 100).await.unwrap(), 0);

    let morning = t("2026-11-24T01:30:00Z"); // Tuesday 09:30
    assert_eq!(reoffer_waiting(&store, &bus, morning, 100).await.unwrap(), 1);
    assert!(matches!(
        bus.sent().last().unwrap().message,
        Message::LeadReady { ref lead_id, .. } if *lead_id == id
    ));
    assert!(matches!(
        assign_lead(&store, &bus, &id, morning).await.unwrap(),
        Assigned::Assigned { .. }
    ));
    assert_eq!(lead(&store, &id).await.waiting_in_pool(), None);
}

#[tokio::test]
async fn an_owner_preset_from_a_customer_match_is_confirmed_and_counted() {
    let store = org().await;
    let bus = InMemoryBus::default();
    let now = t(NIGHT);
    let mut preset = Lead::new(LeadId::generate(now), "web_form", now);
    preset.set_stage(Stage::Aql, now);
    preset.owner = Some("li".into());
    store
        .create_lead(&domain::lead::ports::NewLead::new(preset.clone(), None))
        .await
        .unwrap();
    let got = assign_lead(&store, &bus, &preset.id, now).await.unwrap();
    assert_eq!(
        got,
        Assigned::Adopted { rep: "li".into() },
        "even off shift: it is their customer"
    );
    let saved = lead(&store, &preset.id).await;
    assert_eq!(saved.acquisition, Some(OwnerChangeHow::Created));
    assert_eq!(store.rep_counters("li").unwrap().active_leads, 1);
}

#[tokio::test]
async fn claiming_respects_membership_owners_and_the_pools_daily_claim_cap() {
    let store = org().await;
    let bus = InMemoryBus::default();
    let now = t(NIGHT);
    let first = qualified_lead(&store, now).await;
    let second = qualified_lead(&store, now).await;
    for id in [&first, &second] {
        assign_lead(&store, &bus, id, now).await.unwrap();
    }
    store.put_rep(&rep("outsider", Tier::New)).await.unwrap();
    let outsider = act(&store, &bus, &first, &Action::Claim, &actor("outsider", Role::Rep), now).await;
    assert!(matches!(outsider, Err(ActError::Forbidden(_))), "{outsider:?}");

    let claimed = act(&store, &bus, &first, &Action::Claim, &actor("li", Role::Rep), now)
        .await
        .unwrap();
    assert_eq!(claimed.owner.as_deref(), Some("li"));
    assert_eq!(claimed.acquisition, Some(OwnerChangeHow::Claimed));
    let late = act(&store, &bus, &first, &Action::Claim, &actor("zhang", Role::Rep), now).await;
    assert!(matches!(late, Err(ActError::Conflict(_))), "already claimed: {late:?}");
    let capped = act(&store, &bus, &second, &Action::Claim, &actor("zhang", Role::Rep), now).await;
    assert!(
        matches!(capped, Err(ActError::Conflict(ref m)) if m.contains("daily claim cap")),
        "{capped:?}"
    );
}

#[tokio::test]
async fn stage_actions_check_the_transition_and_the_callers_right() {
    let store = org().await;
    let bus = InMemoryBus::default();
    let now = t(WORK);
    let id = qualified_lead(&store, now).await;
    assign_lead(&store, &bus, &id, now).await.unwrap(); // to zhang
    let zhang = actor("zhang", Role::Rep);
    let li = actor("li", Role::Rep);

    let not_yours = act(&store, &bus, &id, &Action::QualifyMql { note: None }, &li, now).await;
    assert!(matches!(not_yours, Err(ActError::Forbidden(_))));
    let finance = act(
        &store,
        &bus,
        &id,
        &Action::QualifyMql { note: None },
        &actor("cfo", Role::Finance),
        now,
    )
    .await;
    assert!(matches!(finance, Err(ActError::Forbidden(_))));
    let too_early = act(
        &store,
        &bus,
        &id,
        &Action::Convert {
            note: None,
            amount: None,
            expected_close: None,
        },
        &zhang,
        now,
    )
    .await;
    assert!(matches!(too_early, Err(ActError::Conflict(ref m)) if m.contains("stage aql")));

    let follow = Action::FollowUp {
        kind: FollowUpKind::Call,
        note: Some("interested, call back Friday".into()),
        bant: Bant {
            budget: Some("500k".into()),
            ..Bant::default()
        },
    };
    let saved = act(&store, &bus, &id, &follow, &zhang, now).await.unwrap();
    assert_eq!(saved.bant.budget.as_deref(), Some("500k"));
    assert_eq!(saved.last_follow_up_at, Some(now));
    assert_eq!(store.follow_ups(&id).await.unwrap().len(), 1);

    act(&store, &bus, &id, &Action::QualifyMql { note: None }, &zhang, now)
        .await
        .unwrap();
    let sql = act(&store, &bus, &id, &Action::QualifySql { note: None }, &zhang, now)
        .await
        .unwrap();
    let clocks: Vec<&str> = sql.sla.iter().map(|c| c.clock.as_str()).collect();
    assert_eq!(clocks, ["sql_outcome", "untouched"], "SQL starts the outcome clock");
    assert_eq!(store.rep_counters("zhang").unwrap().active_leads, 1);
    let converted = act(
        &store,
        &bus,
        &id,
        &Action::Convert {
            note: None,
            amount: None,
            expected_close: None,
        },
        &zhang,
        now,
    )
    .await
    .unwrap();
    assert_eq!(converted.stage, Stage::Converted);
    assert_eq!(converted.owner.as_deref(), Some("zhang"), "the owner stays on record");
    assert_eq!(
        store.rep_counters("zhang").unwrap().active_leads,
        0,
        "but it no longer counts"
    );
    for stage in ["received", "aql", "mql", "sql", "converted"] {
        assert!(converted.stage_at.contains_key(stage), "{stage}");
    }
    let again = act(
        &store,
        &bus,
        &id,
        &Action::Invalid {
            reason: InvalidCode::NoIntent,
            note: None,
        },
        &zhang,
        now,
    )
    .await;
    assert!(matches!(again, Err(ActError::Conflict(_))));
}

#[tokio::test]
async fn returning_and_transferring_move_the_holding_counters() {
    let store = org().await;
    let bus = InMemoryBus::default();
    let now = t(WORK);
    let id = qualified_lead(&store, now).await;
    assign_lead(&store, &bus, &id, now).await.unwrap(); // to zhang
    let by_rep = act(
        &store,
        &bus,
        &id,
        &Action::Transfer {
            to: "li".into(),
            note: None,
        },
        &actor("zhang", Role::Rep),
        now,
    )
    .await;
    assert!(
        matches!(by_rep, Err(ActError::Forbidden(_))),
        "transfers are for managers"
    );

    let manager = actor("boss", Role::Manager);
    let moved = act(
        &store,
        &bus,
        &id,
        &Action::Transfer {
            to: "li".into(),
            note: Some("zhang is on leave".into()),
        },
        &manager,
        now,
    )
    .await
    .unwrap();
    assert_eq!(moved.owner.as_deref(), Some("li"));
    assert_eq!(moved.previous_owner.as_deref(), Some("zhang"));
    assert_eq!(store.rep_counters("zhang").unwrap().active_leads, 0);
    assert_eq!(store.rep_counters("li").unwrap().active_leads, 1);
    let unknown = act(
        &store,
        &bus,
        &id,
        &Action::Transfer {
            to: "ghost".into(),
            note: None,
        },
        &manager,
        now,
    )
    .await;
    assert!(matches!(unknown, Err(ActError::Invalid(ref e)) if e.field == "to"));

    let back = act(
        &store,
        &bus,
        &id,
        &Action::ReturnToPool { note: None },
        &actor("li", Role::Rep),
        now,
    )
    .await
    .unwrap();
    assert_eq!(back.owner, None);
    assert_eq!(back.stage, Stage::Recycled);
    assert_eq!(back.waiting_in_pool(), Some("beijing"));
    assert_eq!(store.rep_counters("li").unwrap().active_leads, 0);
    let hows: Vec<OwnerChangeHow> = store.owner_changes(&id).await.unwrap().iter().map(|c| c.how).collect();
    assert_eq!(
        hows,
        [
            OwnerChangeHow::AutoAssigned,
            OwnerChangeHow::Transferred,
            OwnerChangeHow::ReturnedToPool
        ]
    );
    // Offered again, it skips the rep who gave it back.
    assert!(matches!(
        assign_lead(&store, &bus, &id, now).await.unwrap(),
        Assigned::Assigned { rep, .. } if rep == "zhang"
    ));
}
