//! Roster jobs against the in-memory adapters: a transfer moves each open lead once,
//! by the same owner change as the `transfer` action, counts each lead once, survives a
//! repeated or lost chunk message, and a lowered cap recycles exactly the extras. The
//! same flows run against the DynamoDB emulator (concurrency included) in
//! `tests/transfer.rs`.

use chrono::{DateTime, Duration, Utc};
use domain::assign::actions::{act, Action, Actor, Role};
use domain::assign::ports::RoutingStore;
use domain::assign::routing::{OverCapPolicy, Pool, Rep, RoutingConfig, Strategy, Tier};
use domain::lead::messages::Message;
use domain::lead::ports::{LeadStore, NewLead};
use domain::lead::{Lead, LeadId, OwnerChangeHow, Stage};
use domain::memory::{InMemoryBus, InMemoryStore};
use domain::roster::job::{Job, JobStatus, Outcome, SkipReason, Work};
use domain::roster::ports::JobStore;
use domain::roster::request::TransferRequest;
use domain::roster::run::{resume, run_chunk, start, ChunkRun, ResumeError};
use serde_json::json;

fn t(s: &str) -> DateTime<Utc> {
    s.parse().unwrap()
}

/// Monday 10:00 in Beijing.
fn now() -> DateTime<Utc> {
    t("2026-11-23T02:00:00Z")
}

fn rep(id: &str, cap: Option<u32>) -> Rep {
    Rep {
        id: id.into(),
        name: id.into(),
        team: "north".into(),
        department: "华北销售部".into(),
        tier: Tier::Regular,
        weight: 1,
        holding_cap: cap,
        daily_cap: None,
        working_hours: None,
        out_of_office: Vec::new(),
        webhook: None,
        active: true,
    }
}

fn manager() -> Actor {
    Actor {
        id: "boss".into(),
        roles: vec![Role::Manager],
    }
}

/// zhang, li and wang in the round-robin pool `beijing`; `leads` open leads assigned to
/// zhang a day ago (oldest first), and one he converted.
async fn org(leads: usize) -> (InMemoryStore, InMemoryBus, Vec<LeadId>) {
    let store = InMemoryStore::default();
    let bus = InMemoryBus::default();
    for r in [rep("zhang", Some(1000)), rep("li", Some(1000)), rep("wang", Some(1000))] {
        store.put_rep(&r).await.unwrap();
    }
    store
        .put_pool(&Pool {
            id: "beijing".into(),
            name: "北京".into(),
            strategy: Strategy::RoundRobin,
            members: vec!["zhang".into(), "li".into(), "wang".into()],
            daily_cap: None,
            daily_claim_cap: None,
            webhook: None,
        })
        .await
        .unwrap();
    store
        .save_routing(&RoutingConfig {
            version: 1,
            default_pool: "beijing".into(),
            ..RoutingConfig::default()
        })
        .await
        .unwrap();
    let day_ago = now() - Duration::days(1);
    let mut ids = Vec::new();
    for i in 0..=leads {
        let created = day_ago - Duration::minutes(10 * (leads - i) as i64 + 5);
        let mut lead = Lead::new(LeadId::generate(created), "web_form", created);
        lead.set_stage(if i.is_multiple_of(3) { Stage::Mql } else { Stage::Aql }, created);
        lead.pool = Some("beijing".into());
        lead.waiting_since = Some(created);
        store.create_lead(&NewLead::new(lead.clone(), None)).await.unwrap();
        let to = Action::Assign {
            to: "zhang".into(),
            note: None,
        };
        act(&store, &bus, &lead.id, &to, &manager(), day_ago).await.unwrap();
        ids.push(lead.id);
    }
    // The last one he converted: his on record, held no more, not the job's.
    let converted = ids.pop().unwrap();
    let mark = Action::QualifySql { note: None };
    act(&store, &bus, &converted, &mark, &manager(), day_ago).await.unwrap();
    act(
        &store,
        &bus,
        &converted,
        &Action::Convert {
            note: None,
            amount: None,
            expected_close: None,
        },
        &manager(),
        day_ago,
    )
    .await
    .unwrap();
    assert_eq!(store.rep_counters("zhang").unwrap().active_leads, leads as u32);
    (store, bus, ids)
}

fn transfer(body: serde_json::Value) -> Work {
    Work::Transfer {
        request: TransferRequest::parse(&body).unwrap(),
    }
}

/// The chunk messages sent since `seen`, as (job, chunk).
fn chunks(bus: &InMemoryBus, seen: &mut usize) -> Vec<(String, u64)> {
    let sent = bus.sent();
    let new = sent[*seen..]
        .iter()
        .filter_map(|e| match &e.message {
            Message::JobChunk { job_id, chunk } => Some((job_id.clone(), *chunk)),
            _ => None,
        })
        .collect();
    *seen = sent.len();
    new
}

/// Delivers every chunk message until none is left; the runs, in order.
async fn drain(store: &InMemoryStore, bus: &InMemoryBus, seen: &mut usize, at: DateTime<Utc>) -> Vec<ChunkRun> {
    let mut runs = Vec::new();
    loop {
        let pending = chunks(bus, seen);
        if pending.is_empty() {
            return runs;
        }
        for (job, chunk) in pending {
            runs.push(run_chunk(store, bus, &job, chunk, at).await.unwrap());
        }
    }
}

async fn job(store: &InMemoryStore, id: &str) -> Job {
    store.job(id).await.unwrap().unwrap()
}

async fn lead(store: &InMemoryStore, id: &LeadId) -> Lead {
    store.get_lead(id).await.unwrap().unwrap()
}

#[tokio::test]
async fn a_transfer_moves_every_open_lead_once_as_the_transfer_action_does() {
    let (store, bus, ids) = org(120).await;
    let mut seen = bus.sent().len();
    let started = start(
        &store,
        &bus,
        "zhang",
        transfer(json!({"to": {"rep": "li"}})),
        "boss",
        now(),
    )
    .await
    .unwrap();
    assert!(started.queued);
    let id = started.job.spec.id.clone();
    let runs = drain(&store, &bus, &mut seen, now()).await;
    assert_eq!(
        runs.len(),
        3,
        "120 leads (and a converted one) in chunks of 50: {runs:?}"
    );

    let job = job(&store, &id).await;
    assert_eq!(job.progress.status, JobStatus::Done);
    assert_eq!(job.count(Outcome::ToRep), 120);
    assert_eq!(store.rep_counters("zhang").unwrap().active_leads, 0);
    assert_eq!(store.rep_counters("li").unwrap().active_leads, 120);
    for id in &ids {
        let lead = lead(&store, id).await;
        assert_eq!(lead.owner.as_deref(), Some("li"));
        assert_eq!(lead.previous_owner.as_deref(), Some("zhang"));
        assert_eq!(lead.acquisition, Some(OwnerChangeHow::Transferred));
        let changes = store.owner_changes(id).await.unwrap();
        let last = changes.last().unwrap();
        assert_eq!(
            (last.how, last.by.as_deref()),
            (OwnerChangeHow::Transferred, Some("boss"))
        );
        assert_eq!(changes.len(), 2, "assigned, then transferred once");
        // Restarted: first contact is the new owner's, counted from the move.
        let first = lead
            .sla
            .iter()
            .find(|c| c.clock == "first_contact")
            .expect("first contact runs");
        assert_eq!(first.started_at, now(), "{:?}", lead.sla);
    }
    let notices = bus
        .sent()
        .iter()
        .filter(|e| matches!(e.message, Message::LeadAssigned { .. }))
        .count();
    assert!(notices >= 120, "li is told of each lead");

    // Every chunk again, in any order: nothing moves, nothing counts.
    for chunk in 0..3 {
        let run = run_chunk(&store, &bus, &id, chunk, now()).await.unwrap();
        assert!(matches!(run, ChunkRun::Stale { .. }), "{run:?}");
    }
    assert_eq!(store.job(&id).await.unwrap().unwrap().counters, job.counters);
}

#[tokio::test]
async fn a_filtered_transfer_to_a_pool_leaves_the_rest_and_keeps_deadlines_when_asked() {
    let (store, bus, ids) = org(30).await;
    let mut seen = bus.sent().len();
    let body = json!({"to": {"pool": "beijing"}, "filter": {"stage": "mql"}, "sla": "keep", "note": "zhang left"});
    let id = start(&store, &bus, "zhang", transfer(body), "boss", now())
        .await
        .unwrap()
        .job
        .spec
        .id;
    drain(&store, &bus, &mut seen, now()).await;
    assert_eq!(
        job(&store, &id).await.count(Outcome::ToPool),
        10,
        "every third lead is an MQL"
    );
    for id in &ids {
        let lead = lead(&store, id).await;
        if lead.stage == Stage::Aql {
            assert_eq!(lead.owner.as_deref(), Some("zhang"), "filtered out: stays");
            continue;
        }
        assert_eq!(lead.owner, None);
        assert_eq!(lead.waiting_in_pool(), Some("beijing"));
        let change = store.owner_changes(id).await.unwrap().pop().unwrap();
        assert_eq!(change.how, OwnerChangeHow::Transferred);
        assert_eq!(change.note.as_deref(), Some("zhang left"));
    }
    assert_eq!(store.rep_counters("zhang").unwrap().active_leads, 20);

    // `keep` to a rep: the deadlines stay the previous owner's.
    let before = lead(&store, &ids[1]).await;
    let id = start(
        &store,
        &bus,
        "zhang",
        transfer(json!({"to": {"rep": "wang"}, "sla": "keep"})),
        "boss",
        now(),
    )
    .await
    .unwrap()
    .job
    .spec
    .id;
    drain(&store, &bus, &mut seen, now()).await;
    assert_eq!(job(&store, &id).await.count(Outcome::ToRep), 20);
    let after = lead(&store, &ids[1]).await;
    assert_eq!(after.owner.as_deref(), Some("wang"));
    assert_eq!(after.owner_since, before.owner_since, "T stays");
    assert_eq!(after.sla, before.sla, "the same deadlines");
}

#[tokio::test]
async fn a_full_target_skips_with_its_reason_and_routing_never_picks_the_departing_rep() {
    let (store, bus, _) = org(12).await;
    store.put_rep(&rep("li", Some(5))).await.unwrap();
    let mut seen = bus.sent().len();
    let id = start(
        &store,
        &bus,
        "zhang",
        transfer(json!({"to": {"rep": "li"}})),
        "boss",
        now(),
    )
    .await
    .unwrap()
    .job
    .spec
    .id;
    drain(&store, &bus, &mut seen, now()).await;
    let done = job(&store, &id).await;
    assert_eq!(done.count(Outcome::ToRep), 5);
    assert_eq!(done.count(Outcome::Skipped(SkipReason::TargetAtCap)), 7);
    assert_eq!(
        done.view()["progress"]["skipped_by_reason"],
        json!({"target_at_cap": 7})
    );
    assert_eq!(store.rep_counters("li").unwrap().active_leads, 5);

    // The rest through routing: li is full, zhang is leaving, so wang gets them all.
    let id = start(
        &store,
        &bus,
        "zhang",
        transfer(json!({"to": {"routing": true}})),
        "boss",
        now(),
    )
    .await
    .unwrap()
    .job
    .spec
    .id;
    drain(&store, &bus, &mut seen, now()).await;
    assert_eq!(job(&store, &id).await.count(Outcome::ToRep), 7);
    assert_eq!(store.rep_counters("wang").unwrap().active_leads, 7);
    assert_eq!(store.rep_counters("zhang").unwrap().active_leads, 0);
}

#[tokio::test]
async fn a_lost_next_chunk_is_sent_by_the_repeat_and_a_failed_job_resumes() {
    let (store, bus, _) = org(60).await;
    let mut seen = bus.sent().len();
    let id = start(
        &store,
        &bus,
        "zhang",
        transfer(json!({"to": {"rep": "li"}})),
        "boss",
        now(),
    )
    .await
    .unwrap()
    .job
    .spec
    .id;
    assert_eq!(chunks(&bus, &mut seen), [(id.clone(), 0)]);
    // Chunk 0 runs and records itself, but the next chunk cannot be sent.
    bus.set_failing(true);
    assert!(run_chunk(&store, &bus, &id, 0, now()).await.is_err());
    bus.set_failing(false);
    assert_eq!(job(&store, &id).await.progress.chunk, 1);
    assert!(!job(&store, &id).await.progress.next_queued);
    // SQS redelivers chunk 0: it ran already, so the repeat only sends chunk 1.
    let run = run_chunk(&store, &bus, &id, 0, now()).await.unwrap();
    assert!(matches!(run, ChunkRun::Stale { .. }));
    assert_eq!(chunks(&bus, &mut seen), [(id.clone(), 1)]);

    // Chunk 1 fails on its last delivery: the job is failed, then resumed by hand.
    domain::roster::run::fail(&store, &id, "storage gone", now())
        .await
        .unwrap();
    assert_eq!(job(&store, &id).await.progress.status, JobStatus::Failed);
    assert!(matches!(
        run_chunk(&store, &bus, &id, 1, now()).await.unwrap(),
        ChunkRun::Stale { .. }
    ));
    let resumed = resume(&store, &bus, &id, now()).await.unwrap();
    assert_eq!(resumed.progress.status, JobStatus::Running);
    assert!(matches!(
        resume(&store, &bus, &id, now()).await,
        Err(ResumeError::Conflict(_))
    ));
    drain(&store, &bus, &mut seen, now()).await;
    let done = job(&store, &id).await;
    assert_eq!(done.progress.status, JobStatus::Done);
    assert_eq!(done.count(Outcome::ToRep), 60, "every lead once, across the failure");
    assert_eq!(store.rep_counters("li").unwrap().active_leads, 60);
    assert!(matches!(
        resume(&store, &bus, &id, now()).await,
        Err(ResumeError::Conflict(_))
    ));
}

#[tokio::test]
async fn a_lowered_cap_recycles_exactly_the_extras_in_the_order_asked() {
    for order in [OverCapPolicy::NewestFirst, OverCapPolicy::OldestFirst] {
        let (store, bus, ids) = org(70).await;
        store.put_rep(&rep("zhang", Some(8))).await.unwrap();
        let mut seen = bus.sent().len();
        let id = start(&store, &bus, "zhang", Work::Recycle { order }, "root", now())
            .await
            .unwrap()
            .job
            .spec
            .id;
        drain(&store, &bus, &mut seen, now()).await;
        let job = job(&store, &id).await;
        assert_eq!(job.progress.status, JobStatus::Done);
        assert_eq!(job.count(Outcome::ToPool), 62);
        assert_eq!(store.rep_counters("zhang").unwrap().active_leads, 8);
        // `ids` are oldest first.
        let kept: Vec<&LeadId> = match order {
            OverCapPolicy::NewestFirst => ids[..8].iter().collect(),
            _ => ids[62..].iter().collect(),
        };
        for id in &ids {
            let lead = lead(&store, id).await;
            if kept.contains(&id) {
                assert_eq!(lead.owner.as_deref(), Some("zhang"), "{order:?}");
            } else {
                assert_eq!(lead.waiting_in_pool(), Some("beijing"), "{order:?}");
                let change = store.owner_changes(id).await.unwrap().pop().unwrap();
                assert_eq!(change.how, OwnerChangeHow::Recycled);
            }
        }
    }
}
