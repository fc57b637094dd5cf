//! The transfer job's rate: how many leads a roster job moves per second against the
//! emulator, and what each move asks of DynamoDB and SQS. Seeds a departing rep's open
//! leads as the adapters write them, starts a transfer (to a rep, to a pool, through
//! routing), and runs its chunks one after another as the assign function would, on a
//! metered adapter. Only the chunk runs are timed (seeding and queue draining are not).
//!
//! `cargo bench -p leadflow-tests --bench transfer_rate` (TRANSFER_BENCH_LEADS to resize)
//!
//! The emulator answers every request itself on one machine, so the rate is the job's
//! serial cost against it, not DynamoDB's: each lead is a read, a receiver read, one
//! transaction and one notice, about four round trips in a row.

use chrono::{DateTime, Duration, Utc};
use domain::assign::ports::RoutingStore;
use domain::assign::routing::{Pool, Rep, RoutingConfig, Strategy};
use domain::follow_up::sla::{self, SlaConfig};
use domain::lead::{Lead, LeadId, OwnerChangeHow, Stage};
use domain::roster::job::{Outcome, Work};
use domain::roster::ports::JobStore;
use domain::roster::request::TransferRequest;
use domain::roster::run::{run_chunk, start, ChunkRun};
use leadflow_tests::meter::Meter;
use leadflow_tests::{rep, Stack};
use serde_json::json;
use std::time::{Duration as Elapsed, Instant};

fn now() -> DateTime<Utc> {
    "2026-11-23T02:00:00Z".parse().unwrap()
}

fn leads() -> usize {
    std::env::var("TRANSFER_BENCH_LEADS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2_000)
}

fn with_cap(id: &str, cap: u32) -> Rep {
    Rep {
        holding_cap: Some(cap),
        ..rep(id)
    }
}

/// Open lead `i` of `n`, held by `leaver` since yesterday with its clocks running.
fn held(i: usize, n: usize, config: &SlaConfig) -> Lead {
    let since = now() - Duration::days(1);
    let created = since - Duration::seconds((i as i64 * 30 * 86_400) / n as i64 + 60);
    let mut lead = Lead::new(LeadId::generate(created), ["form", "baidu"][i % 2], created);
    lead.set_stage(if i.is_multiple_of(3) { Stage::Mql } else { Stage::Aql }, created);
    lead.pool = Some("team".into());
    lead.owner = Some("leaver".into());
    lead.owner_department = Some("sales".into());
    lead.owner_since = Some(since);
    lead.acquisition = Some(OwnerChangeHow::AutoAssigned);
    lead.owner_change_id = Some(domain::lead::ulid_at(since));
    sla::refresh(&mut lead, config, since);
    lead
}

/// A fresh stack with `n` leads held by `leaver`, and reps `taker`, `a`, `b` in pool `team`.
async fn seeded(n: usize) -> Stack {
    let stack = Stack::start().await;
    let store = stack.store();
    for r in [
        with_cap("leaver", 100_000),
        with_cap("taker", 100_000),
        with_cap("a", 100_000),
        with_cap("b", 100_000),
    ] {
        store.put_rep(&r).await.unwrap();
    }
    let pool = Pool {
        id: "team".into(),
        name: "team".into(),
        strategy: Strategy::RoundRobin,
        members: vec!["leaver".into(), "a".into(), "b".into()],
        daily_cap: None,
        daily_claim_cap: None,
        webhook: None,
    };
    store.put_pool(&pool).await.unwrap();
    let routing = RoutingConfig {
        version: 1,
        default_pool: "team".into(),
        ..RoutingConfig::default()
    };
    store.save_routing(&routing).await.unwrap();
    let config = SlaConfig::default();
    let mut batch = Vec::new();
    for i in 0..n {
        batch.push(leadflow_aws::item::lead_item(&held(i, n, &config)).expect("an item"));
        if batch.len() == 1_000 {
            stack.put_items(std::mem::take(&mut batch)).await;
        }
    }
    stack.put_items(batch).await;
    // The leaver's counter, as the assignments would have left it.
    stack
        .dynamo
        .update_item()
        .table_name(stack.table())
        .key("pk", aws_sdk_dynamodb::types::AttributeValue::S("REPC#leaver".into()))
        .key("sk", aws_sdk_dynamodb::types::AttributeValue::S("COUNTERS".into()))
        .update_expression("SET active_leads = :n")
        .expression_attribute_values(":n", aws_sdk_dynamodb::types::AttributeValue::N(n.to_string()))
        .send()
        .await
        .unwrap();
    stack
}

#[tokio::main]
async fn main() {
    let n = leads();
    println!("| target | leads | chunks | seconds (chunk runs) | leads moved per second | DynamoDB requests per lead | SQS sends per lead |");
    println!("|---|---:|---:|---:|---:|---:|---:|");
    for (label, to) in [
        ("a rep", json!({"rep": "taker"})),
        ("a pool", json!({"pool": "team"})),
        ("through routing", json!({"routing": true})),
    ] {
        let stack = seeded(n).await;
        let meter = Meter::default();
        let (store, bus) = stack.metered(&meter);
        let request = TransferRequest::parse(&json!({ "to": to })).unwrap();
        let started = start(&store, &bus, "leaver", Work::Transfer { request }, "boss", now())
            .await
            .unwrap();
        let id = started.job.spec.id.clone();
        stack.drain("ReadyQueue").await;
        meter.take(&[]);
        let (mut timed, mut chunk, mut chunks) = (Elapsed::ZERO, 0, 0);
        loop {
            let run = Instant::now();
            let outcome = run_chunk(&store, &bus, &id, chunk, now()).await.unwrap();
            timed += run.elapsed();
            chunks += 1;
            // The chunk and notice messages it sent: consumed, untimed.
            stack.drain("ReadyQueue").await;
            match outcome {
                ChunkRun::Ran { done: false, .. } => chunk += 1,
                ChunkRun::Ran { done: true, .. } => break,
                other => panic!("unexpected {other:?}"),
            }
        }
        let tally = meter.take(&[]);
        let job = stack.store().job(&id).await.unwrap().unwrap();
        let moved = job.count(Outcome::ToRep) + job.count(Outcome::ToPool);
        assert_eq!(moved as usize, n, "{label}: every lead moved");
        let seconds = timed.as_secs_f64();
        println!(
            "| {label} | {n} | {chunks} | {seconds:.1} | {:.0} | {:.1} | {:.2} |",
            moved as f64 / seconds,
            f64::from(tally.dynamodb_requests()) / moved as f64,
            f64::from(tally.sqs_requests) / moved as f64,
        );
    }
}
