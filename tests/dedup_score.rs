//! dedup-score against the DynamoDB/SQS emulator: cleaning, dedup policies, scoring,
//! concurrency, duplicate delivery and poison messages.

use chrono::{DateTime, Utc};
use dedup_score::DedupScore;
use domain::capture::submission::SubmissionRules;
use domain::lead::qualification::Label;
use domain::lead::Stage;
use domain::LeadId;
use domain::{
    lead::ports::FixedClock, qualify::customer::Customer, qualify::ports::DedupStore, qualify::ports::RulesStore,
};
use domain::{qualify::pipeline::qualify_captured, qualify::pipeline::Qualified};
use intake::http::AllowedOrigins;
use intake::Intake;
use leadflow_aws::{DynamoStore, SqsBus};
use leadflow_tests::{answer, http_event, request, Stack};
use serde_json::{json, Value};

type App = Intake<DynamoStore, SqsBus, FixedClock>;

fn t(s: &str) -> DateTime<Utc> {
    s.parse().unwrap()
}

fn intake_at(stack: &Stack, at: DateTime<Utc>) -> App {
    Intake {
        store: stack.store(),
        bus: stack.full_bus(),
        clock: FixedClock(at),
        rules: SubmissionRules::default(),
        origins: AllowedOrigins::default(),
        limits: domain::capture::ratelimit::RateLimits::off(),
    }
}

/// dedup-score with the queues its `main` wires, and no others.
fn consumer(stack: &Stack) -> DedupScore<DynamoStore, SqsBus> {
    DedupScore {
        store: stack.store(),
        bus: stack.dedup_bus(),
    }
}

async fn post(app: &App, path: &str, body: Value) -> Value {
    let event = http_event("POST", path, &[("content-type", "application/json")], &body.to_string());
    let got = answer(app.handle(request(&event)).await);
    assert_eq!(got.status, 202, "{path} {body}: {}", got.body);
    got.body
}

async fn lead_id(app: &App, body: Value) -> String {
    post(app, "/v1/leads", body).await["lead_id"]
        .as_str()
        .unwrap()
        .to_string()
}

/// Runs the consumer until the capture queue is empty.
async fn drain_capture(stack: &Stack, now: DateTime<Utc>) {
    let app = consumer(stack);
    loop {
        let (received, failed) = stack.deliver("CaptureQueue", |event| app.handle(event, now)).await;
        assert_eq!(failed, 0, "no message should fail here");
        if received == 0 {
            return;
        }
    }
}

#[tokio::test]
async fn one_person_three_ways_becomes_one_scored_lead_with_two_repeats() {
    let stack = Stack::start().await;
    let now = t("2026-11-20T09:00:00Z");
    let app = intake_at(&stack, now);
    let a = lead_id(
        &app,
        json!({"phone": "138 0013 8000", "company": "北京纷扬科技有限公司", "title": "副总裁", "company_size": "500+"}),
    )
    .await;
    let b = lead_id(
        &app,
        json!({"phone": "+86-138-0013-8000", "company": "北京纷扬", "email": "zs@fenyang.cn"}),
    )
    .await;
    let c = lead_id(
        &app,
        json!({"phone": "８６１３８００１３８０００", "company": "纷扬科技", "industry": "软件"}),
    )
    .await;
    drain_capture(&stack, now).await;

    let source = stack.lead(&a).await;
    assert_eq!(source.repeat_count, 2);
    assert_eq!(source.contact.email.as_deref(), Some("zs@fenyang.cn"));
    let score = source.score.clone().unwrap();
    assert_eq!((score.fit, score.engagement, score.cell.as_str()), (70, 60, "B2"));
    assert_eq!(score.fit, score.fit_lines.iter().map(|l| l.points).sum::<i32>());
    assert_eq!(
        score.engagement,
        score.engagement_lines.iter().map(|l| l.points).sum::<i32>()
    );
    assert_eq!(score.engagement_lines[0].text(), "+60 form submitted (3×)");
    for r in [&b, &c] {
        let repeat = stack.lead(r).await;
        assert_eq!(repeat.stage, Stage::Merged);
        assert_eq!(repeat.dedup.unwrap().repeat_of.unwrap().as_str(), a);
    }
    let mut repeats: Vec<String> = stack
        .store()
        .repeats_of(&LeadId::parse(&a).unwrap())
        .await
        .unwrap()
        .iter()
        .map(|l| l.to_string())
        .collect();
    repeats.sort();
    let mut expected = [b, c];
    expected.sort();
    assert_eq!(
        repeats, expected,
        "same millisecond, random ULID tails: compare as sets"
    );
    let ready = stack.drain("ReadyQueue").await;
    assert!(
        !ready.is_empty()
            && ready
                .iter()
                .all(|m| m["type"] == "lead.ready" && m["data"]["lead_id"] == a.as_str())
    );
    assert!(
        stack.all_leads().await.iter().all(|l| l.stage != Stage::Received),
        "nothing left in the outbox"
    );
}

#[tokio::test]
async fn repeats_count_only_inside_the_window() {
    let stack = Stack::start().await;
    let first = lead_id(
        &intake_at(&stack, t("2026-01-01T00:00:00Z")),
        json!({"phone": "13800138000"}),
    )
    .await;
    drain_capture(&stack, t("2026-01-01T00:00:00Z")).await;
    let inside = lead_id(
        &intake_at(&stack, t("2026-06-01T00:00:00Z")),
        json!({"phone": "13800138000"}),
    )
    .await;
    drain_capture(&stack, t("2026-06-01T00:00:00Z")).await;
    assert_eq!(
        stack.lead(&inside).await.dedup.unwrap().repeat_of.unwrap().as_str(),
        first
    );
    let outside = lead_id(
        &intake_at(&stack, t("2026-07-15T00:00:00Z")),
        json!({"phone": "13800138000"}),
    )
    .await;
    drain_capture(&stack, t("2026-07-15T00:00:00Z")).await;
    let fresh = stack.lead(&outside).await;
    assert_eq!(
        fresh.stage,
        Stage::Aql,
        "outside the 180-day window the person is new again"
    );
    assert_eq!(fresh.dedup.unwrap().label, Label::PureNew);
}

#[tokio::test]
async fn tob_customer_match_sets_the_owner_and_company_only_matches_are_tagged() {
    let stack = Stack::start().await;
    let now = t("2026-11-20T09:00:00Z");
    stack
        .store()
        .put_customer(&Customer {
            id: "cust-1".into(),
            name: "上海云帆信息技术有限公司".into(),
            company_core: "云帆".into(),
            contact_phones: vec!["+8613900139000".into()],
            owner: Some("rep-li".into()),
        })
        .await
        .unwrap();
    let app = intake_at(&stack, now);
    let by_company = lead_id(
        &app,
        json!({"phone": "13700137000", "company": "上海云帆信息技术有限公司"}),
    )
    .await;
    let by_phone = lead_id(&app, json!({"phone": "139-0013-9000", "company": "别家"})).await;
    let acme = lead_id(
        &app,
        json!({"phone": "13600136000", "company": "Acme Technologies Co., Ltd."}),
    )
    .await;
    drain_capture(&stack, now).await;
    let colleague = lead_id(&app, json!({"phone": "13500135000", "company": "ACME Inc"})).await;
    let typo = lead_id(&app, json!({"phone": "13300133000", "company": "Acmee Ltd"})).await;
    drain_capture(&stack, now).await;

    for id in [&by_company, &by_phone] {
        let lead = stack.lead(id).await;
        assert_eq!(lead.owner.as_deref(), Some("rep-li"));
        assert_eq!(lead.dedup.as_ref().unwrap().label, Label::ExistingCustomer);
        assert_eq!(lead.dedup.as_ref().unwrap().customer_id.as_deref(), Some("cust-1"));
    }
    for id in [&colleague, &typo] {
        let lead = stack.lead(id).await;
        assert_eq!(lead.stage, Stage::Aql, "tag only: no merge");
        assert_eq!(lead.dedup.as_ref().unwrap().label, Label::NewCustomer);
        assert_eq!(lead.dedup.unwrap().company_peer.unwrap().as_str(), acme);
    }
}

#[tokio::test]
async fn blacklisted_and_junk_leads_are_invalid_and_never_routed() {
    let stack = Stack::start().await;
    let now = t("2026-11-20T09:00:00Z");
    let mut rules = stack.store().rules().await.unwrap();
    rules.version = 1;
    rules.cleaning.blacklist_phones.insert("+8613900139000".into());
    assert_eq!(
        stack.store().save_rules(&rules).await.unwrap(),
        domain::lead::ports::Saved::Saved
    );
    let app = intake_at(&stack, now);
    let black = lead_id(&app, json!({"phone": "13900139000"})).await;
    let junk = lead_id(&app, json!({"email": "x@mailinator.com"})).await;
    let rude = lead_id(&app, json!({"phone": "13800138000", "message": "专业代开发票"})).await;
    drain_capture(&stack, now).await;
    for (id, code) in [
        (&black, "blacklist_phone"),
        (&junk, "blacklist_email_domain"),
        (&rude, "sensitive_word"),
    ] {
        let lead = stack.lead(id).await;
        assert_eq!(lead.stage, Stage::Invalid);
        assert_eq!(lead.invalid_reason.unwrap().code, code);
    }
    assert!(stack.drain("ReadyQueue").await.is_empty(), "never routed");
}

#[tokio::test]
async fn twenty_concurrent_identical_submissions_end_as_exactly_one_source() {
    let stack = Stack::start().await;
    let now = t("2026-11-20T09:00:00Z");
    let app = intake_at(&stack, now);
    let mut ids = Vec::new();
    for i in 0..20 {
        ids.push(
            LeadId::parse(&lead_id(&app, json!({"phone": "13800138000", "name": format!("visitor {i}")})).await)
                .unwrap(),
        );
    }
    stack.drain("CaptureQueue").await;
    // Twenty consumers at once, each with its own clients, as twenty Lambda instances would be.
    let runs = ids.iter().map(|id| {
        let store = stack.store();
        let bus = stack.dedup_bus();
        async move { qualify_captured(&store, &bus, id, now).await }
    });
    let results = futures::future::join_all(runs).await;
    let new = results
        .iter()
        .filter(|r| matches!(r, Ok(Qualified::New { .. })))
        .count();
    let repeats = results
        .iter()
        .filter(|r| matches!(r, Ok(Qualified::Repeat { .. })))
        .count();
    assert_eq!((new, repeats), (1, 19), "{results:?}");
    let leads = stack.all_leads().await;
    let sources: Vec<_> = leads.iter().filter(|l| l.stage != Stage::Merged).collect();
    assert_eq!(sources.len(), 1);
    assert_eq!(sources[0].repeat_count, 19);
    assert_eq!(sources[0].events.len(), 20, "every submission's touch counted once");
}

#[tokio::test]
async fn duplicate_delivery_changes_nothing() {
    let stack = Stack::start().await;
    let now = t("2026-11-20T09:00:00Z");
    let app = intake_at(&stack, now);
    let a = lead_id(&app, json!({"phone": "13800138000"})).await;
    let b = lead_id(&app, json!({"phone": "13800138000"})).await;
    let captured = stack.drain("CaptureQueue").await;
    // Deliver every message twice, as SQS may.
    for message in captured.iter().chain(captured.iter()) {
        stack
            .sqs
            .send_message()
            .queue_url(stack.queue("CaptureQueue"))
            .message_body(message.to_string())
            .send()
            .await
            .unwrap();
    }
    drain_capture(&stack, now).await;
    let source = stack.lead(&a).await;
    assert_eq!(source.repeat_count, 1, "the repeat was counted once");
    assert_eq!(source.events.len(), 2);
    assert_eq!(stack.lead(&b).await.stage, Stage::Merged);
    let before = stack.items().await.len();
    for message in &captured {
        stack
            .sqs
            .send_message()
            .queue_url(stack.queue("CaptureQueue"))
            .message_body(message.to_string())
            .send()
            .await
            .unwrap();
    }
    drain_capture(&stack, now).await;
    assert_eq!(stack.lead(&a).await, source, "a third delivery changes nothing");
    assert_eq!(stack.items().await.len(), before);
}

#[tokio::test]
async fn a_poison_message_is_dead_lettered_while_the_rest_of_its_batch_succeeds() {
    let stack = Stack::start().await;
    let now = t("2026-11-20T09:00:00Z");
    let app = intake_at(&stack, now);
    let good = lead_id(&app, json!({"phone": "13800138000"})).await;
    for poison in ["not json", r#"{"v":2,"type":"lead.captured","data":{}}"#] {
        stack
            .sqs
            .send_message()
            .queue_url(stack.queue("CaptureQueue"))
            .message_body(poison)
            .send()
            .await
            .unwrap();
    }
    let consumer = consumer(&stack);
    let (received, failed) = stack
        .deliver_with_visibility("CaptureQueue", Some(1), |e| consumer.handle(e, now))
        .await;
    assert_eq!((received, failed), (3, 2));
    assert_eq!(
        stack.lead(&good).await.stage,
        Stage::Aql,
        "the good message in the same batch went through"
    );
    // Retried until maxReceiveCount (5), then moved to the DLQ by the queue's redrive policy.
    // Polls for the condition; the bound is generous (a loaded machine), not a timing.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    let mut dead = Vec::new();
    while dead.len() < 2 {
        assert!(std::time::Instant::now() < deadline, "poison never reached the DLQ");
        tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
        stack
            .deliver_with_visibility("CaptureQueue", Some(1), |e| consumer.handle(e, now))
            .await;
        for m in stack
            .sqs
            .receive_message()
            .queue_url(stack.queue("CaptureDLQ"))
            .max_number_of_messages(10)
            .send()
            .await
            .unwrap()
            .messages
            .unwrap_or_default()
        {
            dead.push(m.body().unwrap_or_default().to_string());
        }
    }
    dead.sort();
    assert_eq!(dead, ["not json", r#"{"v":2,"type":"lead.captured","data":{}}"#]);
}

#[tokio::test]
async fn behaviour_events_rescore_and_anonymous_touches_join_later() {
    let stack = Stack::start().await;
    let start = t("2026-11-20T09:00:00Z");
    let app = intake_at(&stack, start);
    // Before the person is known: two whitepapers under their e-mail.
    for i in 0..2 {
        let got = post(
            &app,
            "/v1/events",
            json!({"event": "whitepaper_download", "email": "li@acme.cn", "event_id": format!("wp-{i}")}),
        )
        .await;
        assert_eq!(got["status"], "anonymous");
    }
    let id = lead_id(
        &app,
        json!({"email": "li@acme.cn", "title": "CTO", "company_size": "1000+", "industry": "internet"}),
    )
    .await;
    drain_capture(&stack, start).await;
    let lead = stack.lead(&id).await;
    assert_eq!(lead.events.len(), 3, "form submit + two adopted anonymous downloads");
    assert_eq!(lead.score.as_ref().unwrap().fit, 90);
    assert_eq!(lead.stage, Stage::Aql);
    stack.drain("ReadyQueue").await;

    let got = post(
        &app,
        "/v1/events",
        json!({"event": "chat_consult", "email": "LI@acme.cn", "event_id": "chat-1", "utm_source": "baidu"}),
    )
    .await;
    assert_eq!(
        (got["status"].as_str(), got["lead_id"].as_str()),
        (Some("recorded"), Some(id.as_str()))
    );
    post(
        &app,
        "/v1/events",
        json!({"event": "chat_consult", "email": "li@acme.cn", "event_id": "chat-1"}),
    )
    .await;
    drain_capture(&stack, start).await;
    let lead = stack.lead(&id).await;
    assert_eq!(lead.events.len(), 4, "the retried event counted once");
    assert_eq!(lead.score.as_ref().unwrap().engagement, 60);
    assert_eq!(lead.stage, Stage::Mql, "crossed the MQL line");
    let ready = stack.drain("ReadyQueue").await;
    assert_eq!(ready.len(), 1);
    assert_eq!(ready[0]["data"]["reason"], "mql");

    let unknown = http_event(
        "POST",
        "/v1/events",
        &[("content-type", "application/json")],
        &json!({"event": "page_view", "lead_id": LeadId::generate(start).to_string()}).to_string(),
    );
    let got = answer(app.handle(request(&unknown)).await);
    assert_eq!(got.status, 404, "a well-formed id naming no lead: {}", got.body);
    assert_eq!(got.body["fields"][0]["field"], "lead_id");
}

/// A commit that comes to one item (a lead rescored by an event, say) is sent as a
/// single conditional put, not a transaction, at half the write units: its version
/// condition must hold all the same.
#[tokio::test]
async fn a_one_item_commit_is_a_single_put_that_still_refuses_a_stale_version() {
    use domain::lead::ports::{LeadStore, NewLead, Saved};
    use domain::qualify::ports::DedupCommit;
    let stack = Stack::start().await;
    let meter = leadflow_tests::meter::Meter::default();
    let (store, _) = stack.metered(&meter);
    let now = t("2026-12-06T02:00:00Z");
    let lead = domain::lead::Lead::new(LeadId::generate(now), "web_form", now);
    store.create_lead(&NewLead::new(lead.clone(), None)).await.unwrap();

    let mut edited = lead.clone();
    edited.profile.title = Some("销售总监".into());
    edited.revise(now);
    let commit = DedupCommit::of(vec![(edited, lead.version)]);
    assert_eq!(commit.records.funnel.len(), 0, "one item: the lead alone");
    assert_eq!(store.commit(&commit).await.unwrap(), Saved::Saved);

    // The same commit again expects the version it has just replaced.
    let mut stale = lead.clone();
    stale.profile.title = Some("实习生".into());
    stale.revise(now);
    let stale = DedupCommit::of(vec![(stale, lead.version)]);
    assert_eq!(store.commit(&stale).await.unwrap(), Saved::Conflict);

    let calls = meter.take(&[]).calls;
    assert_eq!(calls.get("dynamodb:PutItem"), Some(&3), "{calls:?}");
    assert_eq!(calls.get("dynamodb:TransactWriteItems"), None, "{calls:?}");
    let stored = store.get_lead(&lead.id).await.unwrap().unwrap();
    assert_eq!(stored.version, lead.version + 1);
    assert_eq!(
        stored.profile.title.as_deref(),
        Some("销售总监"),
        "the stale write changed nothing"
    );
}

/// A new lead's keys are claimed one by one before its decision is committed
/// (qualify/pipeline.rs). Here a first attempt that stopped part-way is left standing in
/// as the single claim it would have made, and DynamoDB's conditions decide the rest: a
/// claim is refused while another lead holds the key, and a claim may take over only
/// the hold of the lead it names.
#[tokio::test]
async fn keys_claimed_before_the_decision_end_with_the_source_and_an_undecided_holder_is_decided_first() {
    use domain::lead::ports::Saved;
    use domain::qualify::dedup::{KeyKind, MatchKey};
    use domain::qualify::ports::KeyClaim;
    let stack = Stack::start().await;
    let now = t("2026-11-20T09:00:00Z");
    let app = intake_at(&stack, now);
    let store = stack.store();
    let bus = stack.dedup_bus();
    let key = |kind, value: &str| MatchKey {
        kind,
        value: value.into(),
    };
    let claim = |lead: &str, key: MatchKey| KeyClaim {
        key,
        lead_id: LeadId::parse(lead).unwrap(),
        since: now,
        taking_over: None,
    };
    let holder = |key: MatchKey| {
        let store = stack.store();
        async move {
            store
                .key_holders(&[key])
                .await
                .unwrap()
                .pop()
                .map(|h| h.lead_id.to_string())
        }
    };
    let window = now - chrono::Duration::days(180);
    let phone = key(KeyKind::Phone, "+8613800138000");
    let email = key(KeyKind::Email, "wei@fenyang.cn");

    // 1. A claimed its phone and stopped; B took the e-mail A also has.
    let a = lead_id(&app, json!({"phone": "13800138000", "email": "wei@fenyang.cn"})).await;
    let b = lead_id(&app, json!({"email": "wei@fenyang.cn"})).await;
    let (a_id, b_id) = (LeadId::parse(&a).unwrap(), LeadId::parse(&b).unwrap());
    assert_eq!(
        store.claim_key(&claim(&a, phone.clone()), window).await.unwrap(),
        Saved::Saved
    );
    assert_eq!(
        store.claim_key(&claim(&b, phone.clone()), window).await.unwrap(),
        Saved::Conflict,
        "a key another lead holds inside the window is refused"
    );
    let naming_itself = KeyClaim {
        taking_over: Some(b_id.clone()),
        ..claim(&b, phone.clone())
    };
    assert_eq!(
        store.claim_key(&naming_itself, window).await.unwrap(),
        Saved::Conflict,
        "taking over names the holder it replaces, and B does not hold the phone"
    );
    assert!(matches!(
        qualify_captured(&store, &bus, &b_id, now).await,
        Ok(Qualified::New { .. })
    ));
    // A, again: the e-mail is B's, so A is B's repeat and hands its phone over.
    let outcome = qualify_captured(&store, &bus, &a_id, now).await.unwrap();
    assert_eq!(outcome, Qualified::Repeat { source: b_id.clone() });
    assert_eq!(holder(phone.clone()).await.as_deref(), Some(b.as_str()));
    assert_eq!(holder(email).await.as_deref(), Some(b.as_str()));
    assert_eq!(stack.lead(&b).await.contact.phone.as_deref(), Some("+8613800138000"));

    // 2. C claimed its phone and stopped; its message is not coming back soon. D, the
    // same person, decides C first, as C's own message would, then itself; C's own
    // message racing D's changes nothing.
    let c = lead_id(&app, json!({"phone": "13900139000"})).await;
    let d = lead_id(&app, json!({"phone": "13900139000"})).await;
    let (c_id, d_id) = (LeadId::parse(&c).unwrap(), LeadId::parse(&d).unwrap());
    store
        .claim_key(&claim(&c, key(KeyKind::Phone, "+8613900139000")), window)
        .await
        .unwrap();
    let (own, settled) = tokio::join!(
        qualify_captured(&store, &bus, &c_id, now),
        qualify_captured(&store, &bus, &d_id, now)
    );
    assert!(
        matches!(own, Ok(Qualified::New { .. }) | Ok(Qualified::Unchanged)),
        "{own:?}"
    );
    assert_eq!(settled.unwrap(), Qualified::Repeat { source: c_id });
    let source = stack.lead(&c).await;
    assert_eq!((source.stage, source.repeat_count), (Stage::Aql, 1));
    assert_eq!(stack.lead(&d).await.stage, Stage::Merged);
}

/// A lead that claimed its keys and listed its company, then was found junk on a later
/// attempt (the blacklist changed in between), lets both go through DynamoDB's
/// conditional deletes: junk holds no key and is no company's peer.
#[tokio::test]
async fn a_lead_found_junk_after_claiming_lets_its_keys_and_block_entry_go() {
    use domain::lead::ports::Saved;
    use domain::qualify::dedup::{KeyKind, MatchKey};
    use domain::qualify::ports::KeyClaim;
    let stack = Stack::start().await;
    let now = t("2026-11-20T09:00:00Z");
    let app = intake_at(&stack, now);
    let store = stack.store();
    let id = lead_id(&app, json!({"phone": "13900139000", "company": "北京纷扬科技有限公司"})).await;
    let lead = LeadId::parse(&id).unwrap();
    let phone = MatchKey {
        kind: KeyKind::Phone,
        value: "+8613900139000".into(),
    };
    let company = MatchKey {
        kind: KeyKind::Company,
        value: "纷扬".into(),
    };
    // The first attempt held every key and listed the company, then stopped.
    for key in [phone.clone(), company.clone()] {
        let claim = KeyClaim {
            key,
            lead_id: lead.clone(),
            since: now,
            taking_over: None,
        };
        assert_eq!(
            store
                .claim_key(&claim, now - chrono::Duration::days(180))
                .await
                .unwrap(),
            Saved::Saved
        );
    }
    store.register_company("纷", "纷扬", &lead).await.unwrap();
    let mut rules = store.rules().await.unwrap();
    rules.version += 1;
    rules.cleaning.blacklist_phones.insert("+8613900139000".into());
    assert_eq!(store.save_rules(&rules).await.unwrap(), Saved::Saved);

    let outcome = qualify_captured(&store, &stack.dedup_bus(), &lead, now).await.unwrap();
    assert!(matches!(outcome, Qualified::Invalid { .. }), "{outcome:?}");
    assert!(
        store.key_holders(&[phone, company]).await.unwrap().is_empty(),
        "no key held"
    );
    assert!(store.company_block("纷").await.unwrap().is_empty(), "no block entry");
}

/// A redelivery writes a decision's step records again, each only if absent. One written
/// before the day's records were sharded sits in the day's one old partition: it counts
/// as stored, so no second record (and no second count in the fold) is made. A first
/// write looks only where records go now.
#[tokio::test]
async fn a_step_recorded_before_sharding_is_not_recorded_again_by_a_redelivery() {
    use domain::qualify::ports::DecisionRecords;
    let stack = Stack::start().await;
    let store = stack.store();
    let now = t("2026-11-20T09:00:00Z");
    let lead = LeadId::generate(now);
    let step = domain::lead::funnel::FunnelStep {
        lead_id: lead.clone(),
        step: "lead".into(),
        day: domain::lead::funnel::report_day(now),
        source: Default::default(),
        fields: [("leads".to_string(), 1)].into(),
    };
    let mut old = leadflow_aws::rollup::step_item(&step).unwrap();
    let unsharded = format!("FSTEP#{}", step.day);
    old.insert(
        "pk".into(),
        aws_sdk_dynamodb::types::AttributeValue::S(unsharded.clone()),
    );
    stack
        .dynamo
        .put_item()
        .table_name(stack.table())
        .set_item(Some(old))
        .send()
        .await
        .unwrap();
    let records = DecisionRecords {
        funnel: vec![step],
        repeat_link: None,
    };
    let stored = || async {
        let items = stack.items_with_pk_prefix(&format!("{unsharded}#")).await;
        items.len()
    };
    store.record_again(&records).await.unwrap();
    assert_eq!(stored().await, 0, "found in its old place: not written again");
    store.record(&records).await.unwrap();
    assert_eq!(stored().await, 1, "a first write looks only where records go now");
    store.record_again(&records).await.unwrap();
    assert_eq!(stored().await, 1);
}
