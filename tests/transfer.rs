//! Roster changes as jobs against the DynamoDB/SQS emulator, through the real handlers:
//! the API starts a transfer (or a lowered cap starts a recycle), the assign function
//! runs its chunks off the ready queue, and `GET /v1/jobs/{id}` reads the progress.
//!
//! How we know a chunk delivered twice, or twice at once, moves nothing twice: in
//! `every_chunk_delivered_three_times_moves_and_counts_each_lead_once` each chunk message
//! is handed to two consumers at the same moment and then once more; afterwards every
//! lead has exactly one `transferred` owner change, the job counted each lead once (its
//! counters equal its outcome items equal the leads), and both reps' holding counters
//! equal what they hold.

use api::auth::{mint_hs256, Verifier};
use api::Api;
use assign::Assign;
use aws_lambda_events::sqs::SqsEvent;
use chrono::{DateTime, Duration, Utc};
use domain::assign::actions::{act, Action, Actor, Role};
use domain::assign::ports::RoutingStore;
use domain::assign::routing::{Pool, Rep, RoutingConfig, Strategy};
use domain::lead::messages::{Envelope, Message};
use domain::lead::ports::{BusError, FixedClock, LeadStore, MessageBus, NewLead};
use domain::lead::{Lead, LeadId, OwnerChangeHow, Stage};
use domain::memory::RecordingNotifier;
use leadflow_aws::{DynamoStore, SqsBus};
use leadflow_tests::{answer, http_event, rep, request, Answer, Stack};
use serde_json::{json, Value};

const SECRET: &str = "transfer-test-secret";
const ISSUER: &str = "leadflow-test";

/// Monday 10:00 in Beijing.
fn now() -> DateTime<Utc> {
    "2026-11-23T02:00:00Z".parse().unwrap()
}

struct Team {
    stack: Stack,
    api: Api<DynamoStore, SqsBus, FixedClock>,
    assign: Assign<DynamoStore, SqsBus, RecordingNotifier>,
    /// zhang's open leads, oldest first.
    leads: Vec<LeadId>,
    /// A lead zhang converted: his on record, not open, never moved.
    converted: LeadId,
}

fn with_cap(id: &str, cap: u32) -> Rep {
    Rep {
        holding_cap: Some(cap),
        ..rep(id)
    }
}

/// zhang, li and wang in the round-robin pool `beijing` (also `east`, empty); `open`
/// leads assigned to zhang yesterday, every third an MQL, and one he converted.
async fn team(open: usize) -> Team {
    let stack = Stack::start().await;
    let store = stack.store();
    for r in [with_cap("zhang", 1000), with_cap("li", 1000), with_cap("wang", 1000)] {
        store.put_rep(&r).await.unwrap();
    }
    for (id, members) in [("beijing", vec!["zhang", "li", "wang"]), ("east", vec![])] {
        let pool = Pool {
            id: id.into(),
            name: id.into(),
            strategy: Strategy::RoundRobin,
            members: members.into_iter().map(str::to_string).collect(),
            daily_cap: None,
            daily_claim_cap: None,
            webhook: None,
        };
        store.put_pool(&pool).await.unwrap();
    }
    let routing = RoutingConfig {
        version: 1,
        default_pool: "beijing".into(),
        ..RoutingConfig::default()
    };
    store.save_routing(&routing).await.unwrap();
    let yesterday = now() - Duration::days(1);
    let boss = Actor {
        id: "boss".into(),
        roles: vec![Role::Manager],
    };
    let bus = stack.full_bus();
    let mut leads = Vec::new();
    for i in 0..=open {
        let created = yesterday - Duration::minutes(10 * (open - i) as i64 + 5);
        let mut lead = Lead::new(LeadId::generate(created), "web_form", created);
        lead.set_stage(if i.is_multiple_of(3) { Stage::Mql } else { Stage::Aql }, created);
        lead.pool = Some("beijing".into());
        lead.waiting_since = Some(created);
        store.create_lead(&NewLead::new(lead.clone(), None)).await.unwrap();
        let to_zhang = Action::Assign {
            to: "zhang".into(),
            note: None,
        };
        act(&store, &bus, &lead.id, &to_zhang, &boss, yesterday).await.unwrap();
        leads.push(lead.id);
    }
    let converted = leads.pop().unwrap();
    for step in [
        Action::QualifySql { note: None },
        Action::Convert {
            note: None,
            amount: None,
            expected_close: None,
        },
    ] {
        act(&store, &bus, &converted, &step, &boss, yesterday).await.unwrap();
    }
    // The seeding's own notices are not under test.
    stack.drain("ReadyQueue").await;
    Team {
        api: Api {
            store: stack.store(),
            bus: stack.api_bus(),
            clock: FixedClock(now()),
            verifier: Verifier::hs256(SECRET, ISSUER),
        },
        assign: Assign {
            store: stack.store(),
            bus: stack.full_bus(),
            notifier: RecordingNotifier::default(),
        },
        stack,
        leads,
        converted,
    }
}

impl Team {
    async fn call(&self, who: &str, role: Role, method: &str, path: &str, body: Option<Value>) -> Answer {
        let token = mint_hs256(SECRET, ISSUER, who, &[role], 600);
        let auth = format!("Bearer {token}");
        let headers = [("content-type", "application/json"), ("authorization", auth.as_str())];
        let body = body.map(|b| b.to_string()).unwrap_or_default();
        let event = http_event(method, path, &headers, &body);
        answer(self.api.handle(request(&event)).await)
    }

    async fn manager(&self, method: &str, path: &str, body: Option<Value>) -> Answer {
        self.call("boss", Role::Manager, method, path, body).await
    }

    /// Starts a transfer of zhang's leads; the job id.
    async fn transfer(&self, body: Value) -> String {
        let started = self.manager("POST", "/v1/reps/zhang/transfer", Some(body)).await;
        assert_eq!(started.status, 202, "{}", started.body);
        let id = started.body["job_id"].as_str().unwrap().to_string();
        assert_eq!(started.headers["location"].to_str().unwrap(), format!("/v1/jobs/{id}"));
        id
    }

    /// Runs the assign function over the ready queue until it is empty.
    async fn settle(&self) {
        loop {
            let (received, failed) = self.stack.deliver("ReadyQueue", |e| self.assign.handle(e, now())).await;
            assert_eq!(failed, 0, "a ready-queue message failed");
            if received == 0 {
                return;
            }
        }
    }

    async fn job(&self, id: &str) -> Value {
        let got = self.manager("GET", &format!("/v1/jobs/{id}"), None).await;
        assert_eq!(got.status, 200, "{}", got.body);
        got.body
    }

    async fn holding(&self, rep: &str) -> Value {
        let got = self.manager("GET", &format!("/v1/reps/{rep}"), None).await;
        assert_eq!(got.status, 200, "{}", got.body);
        got.body["holding"].clone()
    }

    /// What each rep's counter says, against the leads they hold in the table.
    async fn counters_match_holdings(&self) {
        let leads = self.stack.all_leads().await;
        for rep in ["zhang", "li", "wang"] {
            let held = leads.iter().filter(|l| l.held_by() == Some(rep)).count();
            assert_eq!(self.holding(rep).await["active_leads"], held, "{rep}'s counter");
        }
    }

    async fn owner_changes(&self, id: &LeadId) -> Vec<domain::assign::ports::OwnerChange> {
        self.stack.store().owner_changes(id).await.unwrap()
    }
}

fn chunk_event(job_id: &str, chunk: u64, receives: u32) -> SqsEvent {
    let envelope = Envelope::new(
        Message::JobChunk {
            job_id: job_id.to_string(),
            chunk,
        },
        now(),
    );
    serde_json::from_value(json!({"Records": [{
        "messageId": format!("m-{}", ulid::Ulid::new()),
        "body": envelope.to_json(),
        "attributes": {"ApproximateReceiveCount": receives.to_string()},
        "messageAttributes": {},
        "eventSource": "aws:sqs",
    }]}))
    .expect("a valid SQS event")
}

#[tokio::test]
async fn a_transfer_to_a_rep_moves_every_open_lead_with_its_clocks_restarted() {
    let team = team(70).await;
    let id = team.transfer(json!({"to": {"rep": "li"}, "note": "zhang left"})).await;
    let queued = team.job(&id).await;
    assert_eq!(queued["status"], "queued");
    assert_eq!(queued["kind"], "transfer");
    assert_eq!(queued["next_chunk_queued"], true);
    team.settle().await;

    let done = team.job(&id).await;
    assert_eq!(done["status"], "done", "{done}");
    assert_eq!(done["progress"]["moved"], 70);
    assert_eq!(done["progress"]["to_rep"], 70);
    assert_eq!(done["progress"]["skipped"], 0);
    assert_eq!(
        done["progress"]["chunks_done"], 2,
        "70 leads and a converted one: two chunks of 50"
    );
    assert_eq!(done["request"]["to"], json!({"rep": "li"}));
    for id in &team.leads {
        let lead = team.stack.lead(id.as_str()).await;
        assert_eq!(lead.owner.as_deref(), Some("li"));
        let changes = team.owner_changes(id).await;
        let last = changes.last().unwrap();
        assert_eq!(
            (last.how, last.by.as_deref(), last.note.as_deref()),
            (OwnerChangeHow::Transferred, Some("boss"), Some("zhang left"))
        );
        assert_eq!(last.from.as_deref(), Some("zhang"));
        let first_contact = lead.sla.iter().find(|c| c.clock == "first_contact").expect("a clock");
        assert_eq!(first_contact.started_at, now(), "restarted for li: T is the move");
    }
    let converted = team.stack.lead(team.converted.as_str()).await;
    assert_eq!(converted.owner.as_deref(), Some("zhang"), "not open: not moved");
    assert_eq!(team.holding("zhang").await["active_leads"], 0);
    assert_eq!(team.holding("li").await["active_leads"], 70);
    team.counters_match_holdings().await;

    // A rep who still holds leads cannot be deleted; the refusal points to the transfer.
    let admin = team.call("root", Role::Admin, "DELETE", "/v1/reps/li", None).await;
    assert_eq!(admin.status, 409);
    assert!(
        admin.body["fields"][0]["reason"]
            .as_str()
            .unwrap()
            .contains("/v1/reps/{id}/transfer"),
        "{}",
        admin.body
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_chunk_delivered_three_times_moves_and_counts_each_lead_once() {
    let team = team(110).await;
    let id = team.transfer(json!({"to": {"rep": "li"}})).await;
    let second = Assign {
        store: team.stack.store(),
        bus: team.stack.full_bus(),
        notifier: RecordingNotifier::default(),
    };
    let mut chunks_run = 0;
    loop {
        let chunks: Vec<u64> = team
            .stack
            .drain("ReadyQueue")
            .await
            .iter()
            .filter(|m| m["type"] == "job.chunk")
            .map(|m| m["data"]["chunk"].as_u64().unwrap())
            .collect();
        if chunks.is_empty() {
            break;
        }
        assert_eq!(chunks, [chunks_run], "one next chunk is sent, whoever ran this one");
        let chunk = chunks[0];
        // Two consumers at once, then a late redelivery.
        let (a, b) = tokio::join!(
            team.assign.handle(chunk_event(&id, chunk, 1), now()),
            second.handle(chunk_event(&id, chunk, 1), now())
        );
        assert!(a.batch_item_failures.is_empty() && b.batch_item_failures.is_empty());
        let late = team.assign.handle(chunk_event(&id, chunk, 2), now()).await;
        assert!(late.batch_item_failures.is_empty());
        chunks_run += 1;
    }
    assert_eq!(chunks_run, 3, "110 leads and a converted one: three chunks");

    let done = team.job(&id).await;
    assert_eq!(done["status"], "done", "{done}");
    assert_eq!(done["progress"]["to_rep"], 110, "{done}");
    assert_eq!(
        done["progress"]["skipped"], 0,
        "a lead another delivery moved is not a skip: {done}"
    );
    let outcomes = team.stack.items_with_pk_prefix(&format!("JOB#{id}")).await.len() - 1;
    assert_eq!(outcomes, 110, "one outcome item per lead");
    for lead in &team.leads {
        let transferred = team
            .owner_changes(lead)
            .await
            .iter()
            .filter(|c| c.how == OwnerChangeHow::Transferred)
            .count();
        assert_eq!(transferred, 1, "{lead} moved once");
    }
    assert_eq!(team.holding("li").await["active_leads"], 110);
    assert_eq!(team.holding("zhang").await["active_leads"], 0);
    team.counters_match_holdings().await;
}

#[tokio::test]
async fn a_filtered_transfer_to_a_pool_then_the_rest_through_routing_never_to_the_leaver() {
    let team = team(45).await;
    team.stack.store().put_rep(&with_cap("li", 10)).await.unwrap();
    let before = team.stack.lead(team.leads[1].as_str()).await;

    let id = team
        .transfer(json!({"to": {"pool": "east"}, "filter": {"stage": "mql", "created_from": "2026-11-01"}}))
        .await;
    team.settle().await;
    let done = team.job(&id).await;
    assert_eq!(done["progress"]["to_pool"], 15, "every third lead is an MQL: {done}");
    assert_eq!(
        done["request"]["filter"],
        json!({"stage": "mql", "created_from": "2026-11-01"})
    );
    for (i, id) in team.leads.iter().enumerate() {
        let lead = team.stack.lead(id.as_str()).await;
        if i.is_multiple_of(3) {
            assert_eq!(lead.waiting_in_pool(), Some("east"));
            assert_eq!(lead.stage, Stage::Recycled);
            assert_eq!(lead.previous_owner.as_deref(), Some("zhang"));
            assert_eq!(
                team.owner_changes(id).await.last().unwrap().how,
                OwnerChangeHow::Transferred
            );
        } else {
            assert_eq!(lead.owner.as_deref(), Some("zhang"), "filtered out");
        }
    }
    assert_eq!(team.holding("zhang").await["active_leads"], 30);

    // The rest through routing, keeping their deadlines: beijing's round robin over li
    // (cap 10) and wang, never zhang.
    let id = team.transfer(json!({"to": {"routing": true}, "sla": "keep"})).await;
    team.settle().await;
    let done = team.job(&id).await;
    assert_eq!(done["progress"]["to_rep"], 30, "{done}");
    let leads = team.stack.all_leads().await;
    let held = |rep: &str| leads.iter().filter(|l| l.held_by() == Some(rep)).count();
    assert_eq!((held("zhang"), held("li"), held("wang")), (0, 10, 20));
    let after = team.stack.lead(team.leads[1].as_str()).await;
    assert_ne!(after.owner.as_deref(), Some("zhang"));
    assert_eq!(after.owner_since, before.owner_since, "kept: T is still zhang's");
    assert_eq!(after.sla, before.sla, "kept: the same deadlines");
    team.counters_match_holdings().await;
}

#[tokio::test]
async fn a_full_target_skips_with_its_reason_and_bad_inputs_name_their_field() {
    let team = team(12).await;
    team.stack.store().put_rep(&with_cap("li", 5)).await.unwrap();
    let id = team.transfer(json!({"to": {"rep": "li"}})).await;
    team.settle().await;
    let done = team.job(&id).await;
    assert_eq!(done["progress"]["to_rep"], 5);
    assert_eq!(done["progress"]["skipped"], 7);
    assert_eq!(done["progress"]["skipped_by_reason"], json!({"target_at_cap": 7}));
    assert_eq!(team.holding("li").await["active_leads"], 5);
    assert_eq!(team.holding("zhang").await["active_leads"], 7);

    let cases = [
        (
            json!({"to": {"rep": "li"}, "filter": {"colour": "red"}}),
            "filter.colour",
        ),
        (json!({"to": {"rep": "li"}, "filter": {"owner": "me"}}), "filter.owner"),
        (json!({"to": {"rep": "li", "pool": "east"}}), "to"),
        (json!({"filter": {"stage": "mql"}}), "to"),
        (json!({"to": {"rep": "a b"}}), "to.rep"),
        (json!({"to": {"routing": true}, "sla": "later"}), "sla"),
    ];
    for (body, field) in cases {
        let refused = team
            .manager("POST", "/v1/reps/zhang/transfer", Some(body.clone()))
            .await;
        assert_eq!(refused.status, 422, "{body}: {}", refused.body);
        assert_eq!(refused.body["fields"][0]["field"], field, "{body}: {}", refused.body);
    }
    // Well-formed, but naming nothing stored (404), or what the stored data refuses (409).
    let gone = Rep {
        active: false,
        ..with_cap("gone", 10)
    };
    team.stack.store().put_rep(&gone).await.unwrap();
    for (body, status, field) in [
        (json!({"to": {"rep": "nobody"}}), 404, "to.rep"),
        (json!({"to": {"pool": "nowhere"}}), 404, "to.pool"),
        (json!({"to": {"rep": "zhang"}}), 409, "to.rep"),
        (json!({"to": {"rep": "gone"}}), 409, "to.rep"),
    ] {
        let refused = team
            .manager("POST", "/v1/reps/zhang/transfer", Some(body.clone()))
            .await;
        assert_eq!(refused.status, status, "{body}: {}", refused.body);
        assert_eq!(refused.body["fields"][0]["field"], field, "{body}: {}", refused.body);
    }
    let unknown = team
        .manager("POST", "/v1/reps/nobody/transfer", Some(json!({"to": {"rep": "li"}})))
        .await;
    assert_eq!(
        (unknown.status, unknown.body["fields"][0]["field"].clone()),
        (404, json!("id"))
    );
    let missing = team.manager("GET", "/v1/jobs/01JNOSUCHJOB00000000000000", None).await;
    assert_eq!(
        (missing.status, missing.body["fields"][0]["field"].clone()),
        (404, json!("id"))
    );
    let finished = team.manager("POST", &format!("/v1/jobs/{id}/resume"), None).await;
    assert_eq!(finished.status, 409, "a done job does not resume: {}", finished.body);

    // Managers and admins only.
    let body = json!({"to": {"rep": "wang"}});
    for role in [Role::Rep, Role::Finance, Role::Marketing] {
        for (method, path) in [
            ("POST", "/v1/reps/zhang/transfer".to_string()),
            ("GET", format!("/v1/jobs/{id}")),
            ("POST", format!("/v1/jobs/{id}/resume")),
        ] {
            let refused = team.call("zhang", role, method, &path, Some(body.clone())).await;
            assert_eq!(refused.status, 403, "{role:?} {method} {path}");
            assert_eq!(refused.body["fields"][0]["field"], "authorization");
        }
    }
    let admin = team
        .call("root", Role::Admin, "GET", &format!("/v1/jobs/{id}"), None)
        .await;
    assert_eq!(admin.status, 200);
}

/// A bus that refuses every message: the chunk runs, its next one cannot be sent.
struct DownBus;

impl MessageBus for DownBus {
    async fn publish(&self, _: &Envelope) -> Result<(), BusError> {
        Err(BusError::Unavailable("queue down".into()))
    }
}

#[tokio::test]
async fn a_chunk_failing_on_its_last_delivery_fails_the_job_and_resume_finishes_it() {
    let team = team(60).await;
    let id = team.transfer(json!({"to": {"rep": "wang"}})).await;
    team.stack.drain("ReadyQueue").await;
    let broken = Assign {
        store: team.stack.store(),
        bus: DownBus,
        notifier: RecordingNotifier::default(),
    };
    let first = broken.handle(chunk_event(&id, 0, 1), now()).await;
    assert_eq!(first.batch_item_failures.len(), 1, "retried by SQS");
    assert_eq!(team.job(&id).await["status"], "running", "chunk 0 is recorded");
    // Chunk 0 again (as SQS redelivers it) on its last delivery: it ran, but the next
    // chunk still cannot be sent.
    let last = broken.handle(chunk_event(&id, 0, 5), now()).await;
    assert_eq!(last.batch_item_failures.len(), 1);
    let failed = team.job(&id).await;
    assert_eq!(failed["status"], "failed");
    assert!(failed["error"].as_str().unwrap().contains("queue down"), "{failed}");
    assert_eq!(failed["progress"]["to_rep"], 50);

    let resumed = team.manager("POST", &format!("/v1/jobs/{id}/resume"), None).await;
    assert_eq!(resumed.status, 202, "{}", resumed.body);
    assert_eq!(resumed.body["status"], "running");
    let again = team.manager("POST", &format!("/v1/jobs/{id}/resume"), None).await;
    assert_eq!(again.status, 409, "its chunk is on the queue: {}", again.body);
    team.settle().await;
    let done = team.job(&id).await;
    assert_eq!(done["status"], "done", "{done}");
    assert_eq!(done["progress"]["to_rep"], 60, "each lead once, across the failure");
    team.counters_match_holdings().await;
    let unknown = team
        .manager("POST", "/v1/jobs/01JNOSUCHJOB00000000000000/resume", None)
        .await;
    assert_eq!(unknown.status, 404);
}

#[tokio::test]
async fn lowering_a_holding_cap_under_each_policy() {
    let team = team(20).await;
    let admin = |method: &'static str, path: &'static str, body: Option<Value>| {
        let team = &team;
        async move { team.call("root", Role::Admin, method, path, body).await }
    };
    let profile = |cap: u32| json!({"name": "zhang", "tier": "regular", "team": "north", "department": "sales", "holding_cap": cap});

    // never (the default): the extras stay, and the rep shows how far over the cap.
    let put = admin("PUT", "/v1/reps/zhang", Some(profile(15))).await;
    assert_eq!(put.status, 200, "{}", put.body);
    assert_eq!(put.body["holding"]["over_cap"], true);
    assert_eq!(put.body["holding"]["over_cap_by"], 5);
    assert!(put.body.get("recycle_job_id").is_none());
    let listed = admin("GET", "/v1/reps", None).await;
    let zhang = listed.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == "zhang")
        .unwrap()
        .clone();
    assert_eq!(zhang["holding"]["over_cap_by"], 5);

    // newest_first: the five newest go back to their pool.
    let mut routing = admin("GET", "/v1/config/routing", None).await.body;
    assert_eq!(routing["over_cap"], "never");
    routing["over_cap"] = json!("newest_first");
    assert_eq!(
        admin("PUT", "/v1/config/routing", Some(routing.clone())).await.status,
        200
    );
    let put = admin("PUT", "/v1/reps/zhang", Some(profile(12))).await;
    let job = put.body["recycle_job_id"].as_str().expect("a recycle job").to_string();
    team.settle().await;
    let done = team.job(&job).await;
    assert_eq!(
        (done["kind"].clone(), done["status"].clone()),
        (json!("recycle"), json!("done"))
    );
    assert_eq!(done["request"], json!({"order": "newest_first"}));
    assert_eq!(done["progress"]["to_pool"], 8);
    let holding = team.holding("zhang").await;
    assert_eq!(
        (holding["active_leads"].clone(), holding["over_cap"].clone()),
        (json!(12), json!(false))
    );
    for (i, id) in team.leads.iter().enumerate() {
        let lead = team.stack.lead(id.as_str()).await;
        if i < 12 {
            assert_eq!(lead.owner.as_deref(), Some("zhang"), "the oldest stay");
        } else {
            assert_eq!(lead.waiting_in_pool(), Some("beijing"));
            assert_eq!(
                team.owner_changes(id).await.last().unwrap().how,
                OwnerChangeHow::Recycled
            );
        }
    }

    // oldest_first: the two oldest go.
    routing = admin("GET", "/v1/config/routing", None).await.body;
    routing["over_cap"] = json!("oldest_first");
    assert_eq!(admin("PUT", "/v1/config/routing", Some(routing)).await.status, 200);
    let put = admin("PUT", "/v1/reps/zhang", Some(profile(10))).await;
    assert!(put.body["recycle_job_id"].is_string());
    team.settle().await;
    for (i, id) in team.leads.iter().take(12).enumerate() {
        let lead = team.stack.lead(id.as_str()).await;
        assert_eq!(lead.owner.as_deref() == Some("zhang"), i >= 2, "lead {i}");
    }
    assert_eq!(team.holding("zhang").await["active_leads"], 10);
    team.counters_match_holdings().await;
    // Raising the cap starts nothing.
    let raised = admin("PUT", "/v1/reps/zhang", Some(profile(50))).await;
    assert!(raised.body.get("recycle_job_id").is_none());
    let bad = admin(
        "PUT",
        "/v1/config/routing",
        Some(json!({"version": 3, "default_pool": "beijing", "over_cap": "sometimes"})),
    )
    .await;
    assert_eq!(bad.status, 422, "{}", bad.body);
}
