//! The business and health metrics (EMF lines, `leadflow_aws::metrics`) against the
//! emulator, through the real handlers: each count moves on the outcome it names and
//! not on a duplicate delivery, a re-sent push or a repeated schedule event, which the
//! domain reports as already done. Each handler runs inside an in-memory recorder's
//! scope, so what it counted (and its first invocation) can be read back.

use api::auth::{mint_hs256, Verifier};
use api::Api;
use assign::Assign;
use aws_lambda_events::sqs::SqsEvent;
use chrono::{DateTime, Datelike, Duration, Utc};
use dedup_score::DedupScore;
use domain::assign::actions::Role;
use domain::capture::hooks::sign;
use domain::capture::submission::SubmissionRules;
use domain::follow_up::{ports::SlaStore, sla::SlaConfig};
use domain::lead::ports::Saved;
use domain::lead::{Lead, LeadId, Stage};
use domain::memory::RecordingNotifier;
use domain::{assign::auto::assign_lead, assign::ports::RoutingStore, lead::ports::LeadStore};
use domain::{assign::routing::Pool, assign::routing::RoutingConfig, assign::routing::Strategy};
use domain::{lead::messages::Envelope, lead::messages::Message, lead::messages::ReadyReason};
use domain::{lead::ports::FixedClock, lead::ports::SystemClock};
use import::Import;
use intake::Intake;
use leadflow_aws::metrics::Recorder;
use leadflow_aws::{DynamoStore, SqsBus};
use leadflow_tests::{answer, http_event, rep, request, tick, Answer, Stack};
use serde_json::json;
use sla_sweep::Sweep;

const SECRET: &str = "metrics-test-secret";
const ISSUER: &str = "leadflow-test";
const HOOK_SECRET: &str = "tt-0123456789abcdef0123456789abcdef";

fn t(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

fn recorder() -> Recorder {
    Recorder::in_memory("leadflow/test")
}

/// The documents of `metric`, as `(Function dimension, value)`.
fn values(recorder: &Recorder, metric: &str) -> Vec<(Option<String>, u64)> {
    recorder
        .lines()
        .iter()
        .filter_map(|doc| {
            let value = doc[metric].as_u64()?;
            Some((doc["Function"].as_str().map(str::to_string), value))
        })
        .collect()
}

/// Exactly one cold start, for `function`.
fn assert_one_cold_start(recorder: &Recorder, function: &str) {
    assert_eq!(
        values(recorder, "ColdStarts"),
        [(Some(function.to_string()), 1)],
        "{:?}",
        recorder.lines()
    );
}

fn api(stack: &Stack) -> Api<DynamoStore, SqsBus, FixedClock> {
    Api {
        store: stack.store(),
        bus: stack.api_bus(),
        clock: FixedClock(Utc::now()),
        verifier: Verifier::hs256(SECRET, ISSUER),
    }
}

fn bearer(role: Role) -> String {
    format!("Bearer {}", mint_hs256(SECRET, ISSUER, "ops-lin", &[role], 600))
}

async fn post(
    app: &Intake<DynamoStore, SqsBus, SystemClock>,
    path: &str,
    body: &str,
    headers: &[(&str, &str)],
) -> Answer {
    let mut all = vec![("content-type", "application/json")];
    all.extend_from_slice(headers);
    answer(app.handle(request(&http_event("POST", path, &all, body))).await)
}

#[tokio::test]
async fn intake_counts_a_new_lead_and_a_bot_once_and_a_repeated_submission_not_at_all() {
    let stack = Stack::start().await;
    let app = stack.intake();
    let recorder = recorder();
    let lead = json!({"name": "李娜", "phone": "13800138000", "submission_id": "form-1"}).to_string();
    let bot = json!({"phone": "13900139000", "website": "http://spam"}).to_string();
    let refused = json!({"phone": "12"}).to_string();
    let statuses = recorder
        .scope(async {
            let mut statuses = Vec::new();
            for body in [&lead, &lead, &bot, &refused] {
                statuses.push(post(&app, "/v1/leads", body, &[]).await.status);
            }
            statuses
        })
        .await;
    assert_eq!(statuses, [202, 202, 202, 422]);
    assert_eq!(recorder.total("LeadsCaptured"), 1, "the repeat is the same lead");
    assert_eq!(recorder.total("LeadsInvalid"), 1, "the honeypot lead, kept as invalid");
    assert_one_cold_start(&recorder, "intake");
    // Stack-wide business counts carry no dimension.
    assert!(values(&recorder, "LeadsCaptured")
        .iter()
        .all(|(function, _)| function.is_none()));
}

#[tokio::test]
async fn a_signed_push_counts_once_however_often_the_platform_re_sends_it() {
    let stack = Stack::start().await;
    let config = json!({
        "channel": "toutiao",
        "mapping": {"name": "data.name", "phone": "data.telphone", "submission_id": "data.clue_id"},
        "secret": HOOK_SECRET
    });
    let auth = bearer(Role::Admin);
    let headers = [("content-type", "application/json"), ("authorization", auth.as_str())];
    let event = http_event("PUT", "/v1/config/hooks/toutiao", &headers, &config.to_string());
    let configured = answer(api(&stack).handle(request(&event)).await);
    assert_eq!(configured.status, 201, "{}", configured.body);

    let app = stack.intake();
    let recorder = recorder();
    let good = json!({"data": {"clue_id": "7301", "name": "王伟", "telphone": "13800138000"}}).to_string();
    let bad = json!({"data": {"clue_id": "9", "name": "测试", "telphone": "12"}}).to_string();
    let answers = recorder
        .scope(async {
            let mut answers = Vec::new();
            // Each body twice, freshly signed, as a platform retries.
            for (i, body) in [&good, &good, &bad, &bad].into_iter().enumerate() {
                let at = Utc::now().timestamp() + i as i64;
                let (ts, sig) = (at.to_string(), sign(HOOK_SECRET, at, body.as_bytes()));
                let headers = [("x-leadflow-timestamp", ts.as_str()), ("x-leadflow-signature", &sig)];
                let got = post(&app, "/v1/hooks/toutiao", body, &headers).await;
                answers.push((got.status, got.body["status"].as_str().unwrap_or_default().to_string()));
            }
            answers
        })
        .await;
    let statuses: Vec<(u16, &str)> = answers.iter().map(|(s, t)| (*s, t.as_str())).collect();
    assert_eq!(
        statuses,
        [
            (202, "received"),
            (202, "duplicate"),
            (202, "invalid"),
            (202, "invalid")
        ]
    );
    assert_eq!(recorder.total("LeadsCaptured"), 1);
    assert_eq!(
        recorder.total("LeadsInvalid"),
        1,
        "the re-sent invalid push is the same lead"
    );
}

#[tokio::test]
async fn dedup_score_counts_a_junk_lead_invalid_once_however_often_it_is_delivered() {
    let stack = Stack::start().await;
    let now = Utc::now();
    let posted = post(
        &stack.intake(),
        "/v1/leads",
        &json!({"email": "x@mailinator.com"}).to_string(),
        &[],
    )
    .await;
    assert_eq!(posted.status, 202, "{}", posted.body);
    let lead_id = posted.body["lead_id"].as_str().unwrap().to_string();
    let fine = post(
        &stack.intake(),
        "/v1/leads",
        &json!({"phone": "13800138000"}).to_string(),
        &[],
    )
    .await;
    assert_eq!(fine.status, 202);

    let dedup = DedupScore {
        store: stack.store(),
        bus: stack.full_bus(),
    };
    let recorder = recorder();
    recorder
        .scope(async {
            // Processed but not deleted: both messages come back, as SQS may hand them out twice.
            let first = stack
                .deliver_leaving("CaptureQueue", Some(0), || true, |e| dedup.handle(e, now))
                .await;
            assert_eq!((first.received, first.failed, first.left), (2, 0, 2));
            let mut again = 0;
            while again < 2 {
                let (received, failed) = stack
                    .deliver_with_visibility("CaptureQueue", Some(0), |e| dedup.handle(e, now))
                    .await;
                assert_eq!(failed, 0);
                assert!(received > 0, "the messages came back");
                again += received;
            }
        })
        .await;
    assert_eq!(stack.lead(&lead_id).await.stage, Stage::Invalid);
    assert_eq!(values(&recorder, "LeadsInvalid"), [(None, 1)], "once, not per delivery");
    assert_eq!(
        recorder.total("LeadsCaptured"),
        0,
        "intake counts captures, not dedup-score"
    );
    assert_one_cold_start(&recorder, "dedup-score");
}

/// Two reps and their pool, the default route.
async fn org(store: &DynamoStore) {
    for id in ["zhang", "li"] {
        let mut r = rep(id);
        r.holding_cap = Some(10_000);
        store.put_rep(&r).await.unwrap();
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

/// A lead as dedup-score leaves it: `aql`, ready for an owner.
async fn qualified(store: &DynamoStore, at: DateTime<Utc>) -> LeadId {
    let mut lead = Lead::new(LeadId::generate(at), "web_form", at);
    lead.set_stage(Stage::Aql, at);
    store
        .create_lead(&domain::lead::ports::NewLead::new(lead.clone(), None))
        .await
        .unwrap();
    lead.id
}

/// One `lead.ready` delivery of `id`.
fn ready(id: &LeadId, at: DateTime<Utc>) -> SqsEvent {
    let envelope = Envelope::new(
        Message::LeadReady {
            lead_id: id.clone(),
            reason: ReadyReason::New,
            version: 1,
        },
        at,
    );
    serde_json::from_value(json!({"Records": [{
        "messageId": format!("m-{id}-{}", ulid::Ulid::new()),
        "body": envelope.to_json(),
        "attributes": {"ApproximateReceiveCount": "1"},
        "messageAttributes": {},
        "eventSource": "aws:sqs",
    }]}))
    .expect("a valid SQS event")
}

#[tokio::test]
async fn assign_counts_a_lead_assigned_or_pooled_once_per_decision() {
    let stack = Stack::start().await;
    let store = stack.store();
    org(&store).await;
    let now = Utc::now();
    let app = Assign {
        store: stack.store(),
        bus: stack.full_bus(),
        notifier: RecordingNotifier::default(),
    };
    let recorder = recorder();
    let routed = qualified(&store, now).await;
    recorder
        .scope(async {
            for _ in 0..2 {
                let response = app.handle(ready(&routed, now), now).await;
                assert!(response.batch_item_failures.is_empty());
            }
        })
        .await;
    assert!(stack.lead(routed.as_str()).await.owner.is_some());
    assert_eq!(recorder.total("LeadsAssigned"), 1, "the redelivery finds it owned");
    assert_eq!(recorder.total("LeadsPooled"), 0);

    // Routed to a pool nobody has configured: the lead waits there.
    let mut routing = store.routing().await.unwrap();
    routing.version += 1;
    routing.default_pool = "overflow".into();
    store.save_routing(&routing).await.unwrap();
    let parked = qualified(&store, now).await;
    recorder
        .scope(async {
            for _ in 0..3 {
                app.handle(ready(&parked, now), now).await;
            }
        })
        .await;
    assert_eq!(stack.lead(parked.as_str()).await.waiting_in_pool(), Some("overflow"));
    assert_eq!(
        recorder.total("LeadsPooled"),
        1,
        "re-offers of a waiting lead add nothing"
    );
    assert_eq!(recorder.total("LeadsAssigned"), 1);
    assert_one_cold_start(&recorder, "assign");
}

#[tokio::test]
async fn sla_sweep_counts_each_reminder_and_breach_once_and_zeros_when_nothing_is_due() {
    // First contact within 24 working hours of the Friday before Qingming 2026 (4 to 6
    // April): due Tuesday 7 April, 15:00 Beijing time, with a reminder before.
    const FRIDAY: &str = "2026-04-03T15:00:00+08:00";
    const DUE: &str = "2026-04-07T15:00:00+08:00";
    let stack = Stack::start().await;
    let store = stack.store();
    org(&store).await;
    let lead = qualified(&store, t(FRIDAY)).await;
    assign_lead(&store, &stack.full_bus(), &lead, t(FRIDAY)).await.unwrap();
    let sweep = Sweep {
        store: stack.store(),
        bus: stack.full_bus(),
        redrive: domain::capture::intake::RedrivePolicy::default(),
        due_per_run: 500,
    };
    let recorder = recorder();
    let before = t(DUE) - Duration::minutes(1);
    // Each tick twice, as EventBridge may deliver a schedule event.
    for at in [t(FRIDAY), before, before, t(DUE), t(DUE)] {
        recorder.scope(sweep.handle(tick(at))).await.unwrap();
    }
    let runs: Vec<(u64, u64)> = recorder
        .lines()
        .iter()
        .filter(|doc| doc.get("SlaReminders").is_some())
        .map(|doc| {
            (
                doc["SlaReminders"].as_u64().unwrap(),
                doc["SlaBreaches"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(runs, [(0, 0), (1, 0), (0, 0), (0, 1), (0, 0)], "{:?}", recorder.lines());
    assert_one_cold_start(&recorder, "sla-sweep");
}

#[tokio::test]
async fn sla_sweep_says_how_many_days_of_holiday_data_the_calendars_in_use_have_left() {
    let stack = Stack::start().await;
    let store = stack.store();
    let sweep = Sweep {
        store: stack.store(),
        bus: stack.full_bus(),
        redrive: domain::capture::intake::RedrivePolicy::default(),
        due_per_run: 500,
    };
    // The built-in calendar holds the 2025 and 2026 schedules; a calendar no policy uses
    // does not count, however short its data.
    let mut config = SlaConfig::default();
    let mut unused = config.calendars[0].clone();
    unused.id = "retired".into();
    unused.holidays.retain(|h| h.date.year() == 2025);
    unused.make_up_days.retain(|h| h.date.year() == 2025);
    unused.covers_until = None;
    config.calendars.push(unused);
    assert_eq!(store.save_sla_config(&config).await.unwrap(), Saved::Saved);

    let recorder = recorder();
    let december = recorder
        .scope(sweep.handle(tick(t("2026-12-01T10:00:00+08:00"))))
        .await
        .unwrap();
    let january = recorder
        .scope(sweep.handle(tick(t("2027-01-04T10:00:00+08:00"))))
        .await
        .unwrap();
    assert_eq!(december.calendar_coverage, Some(("cn".to_string(), 30)));
    assert_eq!(january.calendar_coverage, Some(("cn".to_string(), -4)));
    let levels: Vec<u64> = recorder
        .lines()
        .iter()
        .filter_map(|doc| doc["CalendarDaysCovered"].as_u64())
        .collect();
    assert_eq!(levels, [30, 0], "0 once the data has run out: {:?}", recorder.lines());
}

#[tokio::test]
async fn an_import_chunk_counts_its_rows_once_when_it_is_delivered_twice() {
    let stack = Stack::start().await;
    let file = "姓名,手机\r\n张三,13912345678\r\n李四,13987654321\r\n王五,13811112222\r\n无效,12345\r\n";
    let auth = bearer(Role::Manager);
    let headers = [("content-type", "text/csv"), ("authorization", auth.as_str())];
    let mut event = http_event("POST", "/v1/imports?channel=trade_show", &headers, "");
    event["body"] = json!(file);
    let accepted = answer(api(&stack).handle(request(&event)).await);
    assert_eq!(accepted.status, 202, "{}", accepted.body);

    let app = Import {
        store: stack.store(),
        bus: stack.full_bus(),
        rules: SubmissionRules::default(),
    };
    let now = Utc::now();
    let recorder = recorder();
    recorder
        .scope(async {
            let first = stack
                .deliver_leaving("ImportQueue", Some(0), || true, |e| app.handle(e, now))
                .await;
            assert_eq!((first.received, first.failed, first.left), (1, 0, 1));
            let (received, failed) = stack
                .deliver_with_visibility("ImportQueue", Some(0), |e| app.handle(e, now))
                .await;
            assert_eq!((received, failed), (1, 0), "the chunk came back and went through again");
        })
        .await;
    assert_eq!(recorder.total("LeadsCaptured"), 3);
    assert_eq!(recorder.total("LeadsInvalid"), 1, "the row without a usable phone");
    assert_eq!(
        recorder
            .lines()
            .iter()
            .filter(|doc| doc.get("LeadsCaptured").is_some())
            .count(),
        1,
        "one line, from the delivery that recorded the chunk"
    );
    assert_one_cold_start(&recorder, "import");
}

#[tokio::test]
async fn a_message_failing_its_last_delivery_is_counted_as_sqs_dead_letters_it() {
    let stack = Stack::start().await;
    stack
        .sqs
        .send_message()
        .queue_url(stack.queue("CaptureQueue"))
        .message_body("not json")
        .send()
        .await
        .unwrap();
    let dedup = DedupScore {
        store: stack.store(),
        bus: stack.full_bus(),
    };
    let now = Utc::now();
    let recorder = recorder();
    let mut deliveries = 0;
    let mut dead = 0;
    // Polls for the move; the bound is generous (a loaded machine), not a timing.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while dead == 0 {
        assert!(
            std::time::Instant::now() < deadline,
            "the message never reached the DLQ"
        );
        let (received, failed) = recorder
            .scope(stack.deliver_with_visibility("CaptureQueue", Some(0), |e| dedup.handle(e, now)))
            .await;
        assert_eq!(received, failed, "the message fails every time");
        deliveries += received;
        dead = stack.drain_raw("CaptureDLQ").await.len();
    }
    assert_eq!(deliveries, 5, "maxReceiveCount");
    assert_eq!(
        values(&recorder, "MessagesDeadLettered"),
        [(Some("dedup-score".to_string()), 1)],
        "counted once, on the fifth failure"
    );
    assert_eq!(dead, 1);
}

#[tokio::test]
async fn every_function_counts_its_first_invocation_under_its_binary_name() {
    let stack = Stack::start().await;
    let now = Utc::now();
    let nothing = SqsEvent::default;
    let get = |path: &str| request(&http_event("GET", path, &[], ""));
    let attribution = attribution::Attribution { store: stack.store() };
    let sweep = Sweep {
        store: stack.store(),
        bus: stack.full_bus(),
        redrive: domain::capture::intake::RedrivePolicy::default(),
        due_per_run: 500,
    };
    let dedup = DedupScore {
        store: stack.store(),
        bus: stack.full_bus(),
    };
    let assign = Assign {
        store: stack.store(),
        bus: stack.full_bus(),
        notifier: RecordingNotifier::default(),
    };
    let import = Import {
        store: stack.store(),
        bus: stack.full_bus(),
        rules: SubmissionRules::default(),
    };
    let train = train::Train { store: stack.store() };
    let (intake, api) = (stack.intake(), api(&stack));
    // One invocation each, in a recorder of its own (a process of its own), named as the
    // template's binaries are.
    let functions = [
        "intake",
        "dedup-score",
        "assign",
        "api",
        "sla-sweep",
        "attribution",
        "import",
        "train",
        "reconcile",
    ];
    let mut names = Vec::new();
    for function in functions {
        let recorder = recorder();
        recorder
            .scope(async {
                match function {
                    "intake" => {
                        intake.handle(get("/v1/leads")).await;
                    }
                    "dedup-score" => {
                        dedup.handle(nothing(), now).await;
                    }
                    "assign" => {
                        assign.handle(nothing(), now).await;
                    }
                    "api" => {
                        api.handle(get("/v1/leads")).await;
                    }
                    "sla-sweep" => {
                        sweep.handle(tick(now)).await.unwrap();
                    }
                    "attribution" => {
                        attribution.handle(nothing()).await;
                    }
                    "import" => {
                        import.handle(nothing(), now).await;
                    }
                    "train" => {
                        train.handle(json!({"Records": []}), now).await.unwrap();
                    }
                    "reconcile" => {
                        attribution.reconcile(None, now).await.unwrap();
                    }
                    other => unreachable!("{other}"),
                }
            })
            .await;
        names.extend(values(&recorder, "ColdStarts"));
    }
    let expected: Vec<(Option<String>, u64)> = functions.iter().map(|f| (Some(f.to_string()), 1)).collect();
    assert_eq!(names, expected, "the dashboard's Function names");
}
