//! Intake's latency against the minimum I/O it must do, side by side on one emulator.
//!
//! - intake: the real handler (`Intake::handle`, DynamoDB and SQS adapters) on a
//!   prepared API Gateway request: decode, validate, normalise, three `PutItem`s in
//!   order (submission record, first touch, lead) and one `SendMessage`.
//! - baseline: a client making only those four calls, in the same order, with items of
//!   the same shape and size built beforehand (no decoding, no domain work, no adapter).
//!
//! Both run interleaved in one stream at a fixed concurrency, so they see the same table
//! and the same queue in front of the emulator, in rounds of 100 + 100 on a fresh emulator
//! each (moto copies the whole table per transaction: a filling table would slow every
//! call down). Reported: p50/p99 of each and the ratio.
//!
//! `cargo bench -p leadflow-tests --bench intake_overhead` (2,000 requests each);
//! `cargo test -p leadflow-tests --bench intake_overhead` runs 40 each (CI's smoke run).

use aws_sdk_dynamodb::types::AttributeValue;
use chrono::Utc;
use domain::capture::intake::lead_from_submission;
use domain::LeadId;
use domain::{capture::submission::validate, capture::submission::RawSubmission, capture::submission::SubmissionRules};
use futures::stream::{self, StreamExt};
use leadflow_tests::{http_event, request, Stack};
use local_stack::spike::percentile;
use serde_json::json;
use std::collections::HashMap;
use std::time::{Duration, Instant};

const CONCURRENCY: usize = 8;

fn body(round: usize, i: usize) -> String {
    json!({
        "name": "张三", "phone": format!("1381{round:03}{i:04}"), "email": format!("zs{round}x{i}@example.com"),
        "company": format!("北京纷扬{round}-{i}科技有限公司"), "title": "销售副总裁", "province": "北京",
        "channel": "web_form", "campaign_id": "2026-q4-launch", "utm_source": "baidu", "utm_medium": "cpc",
        "submission_id": format!("overhead-{round}-{i}"), "consent": true,
    })
    .to_string()
}

fn s(v: impl Into<String>) -> AttributeValue {
    AttributeValue::S(v.into())
}

/// A put intake makes: an item and whether it is written only if new.
type Write = (HashMap<String, AttributeValue>, bool);

/// The calls intake makes for one new lead, with items shaped like the adapter's.
fn minimum_io(raw_body: &str) -> (Vec<Write>, String) {
    let now = Utc::now();
    let raw = RawSubmission::from_json(raw_body.as_bytes()).expect("body");
    let submission = validate(&raw, &SubmissionRules::default()).expect("valid");
    let sid = submission.submission_id.clone().unwrap_or_default();
    let lead = lead_from_submission(LeadId::generate(now), submission, now);
    // The adapter's own encoding: the compressed body and the index keys.
    let lead_item = leadflow_aws::item::lead_item(&lead).expect("lead item");
    let items = vec![
        (
            HashMap::from([
                ("pk".into(), s(format!("SUB#{sid}"))),
                ("sk".into(), s("SUB")),
                ("lead_id".into(), s(lead.id.as_str())),
                ("expires_at".into(), AttributeValue::N(now.timestamp().to_string())),
            ]),
            true,
        ),
        (
            HashMap::from([
                ("pk".into(), s(format!("LEAD#{}", lead.id.as_str()))),
                ("sk".into(), s(format!("TP#{}-form", lead.id.as_str()))),
                ("kind".into(), s("form_submit")),
                ("occurred_at".into(), s(now.to_rfc3339())),
                (
                    "source".into(),
                    s(r#"{"channel":"web_form","campaign_id":"2026-q4-launch"}"#),
                ),
            ]),
            false,
        ),
        (lead_item, true),
    ];
    let message = json!({"type": "lead.captured", "lead_id": lead.id.as_str(), "schema": 1,
                         "sent_at": now.to_rfc3339(), "id": ulid::Ulid::new().to_string()});
    (items, message.to_string())
}

fn percentiles(mut ms: Vec<f64>) -> (f64, f64) {
    ms.sort_by(f64::total_cmp);
    (percentile(&ms, 50.0), percentile(&ms, 99.0))
}

/// One request of either side.
enum Call {
    Intake(Box<lambda_http::Request>),
    Baseline(Vec<Write>, String),
}

/// One round on one emulator: `per_round` requests through the handler and as many
/// through the baseline, interleaved in one stream so both see the same table and the
/// same queue in front of the emulator. Latencies in ms: (intake, baseline).
async fn run_round(stack: &Stack, round: usize, per_round: usize) -> (Vec<f64>, Vec<f64>) {
    let app = stack.intake();
    let (dynamo, sqs, table, queue) = (
        stack.dynamo.clone(),
        stack.sqs.clone(),
        stack.table().to_string(),
        stack.queue("CaptureQueue").to_string(),
    );
    let calls: Vec<Call> = (0..per_round)
        .flat_map(|i| {
            let event = http_event(
                "POST",
                "/v1/leads",
                &[("content-type", "application/json")],
                &body(round, i),
            );
            let (items, message) = minimum_io(&body(round + 1000, i));
            [Call::Intake(Box::new(request(&event))), Call::Baseline(items, message)]
        })
        .collect();
    let (app, dynamo, sqs, table, queue) = (&app, &dynamo, &sqs, &table, &queue);
    let timings: Vec<(bool, Duration)> = stream::iter(calls)
        .map(|call| async move {
            let start = Instant::now();
            match call {
                Call::Intake(req) => {
                    assert_eq!(app.handle(*req).await.status(), 202);
                    (true, start.elapsed())
                }
                Call::Baseline(items, message) => {
                    for (item, only_if_new) in items {
                        let mut put = dynamo.put_item().table_name(table).set_item(Some(item));
                        if only_if_new {
                            put = put.condition_expression("attribute_not_exists(pk)");
                        }
                        put.send().await.expect("put");
                    }
                    sqs.send_message()
                        .queue_url(queue)
                        .message_body(message)
                        .send()
                        .await
                        .expect("send");
                    (false, start.elapsed())
                }
            }
        })
        .buffer_unordered(CONCURRENCY)
        .collect()
        .await;
    let ms = |intake: bool| {
        timings
            .iter()
            .filter(|(i, _)| *i == intake)
            .map(|(_, d)| d.as_secs_f64() * 1000.0)
            .collect()
    };
    (ms(true), ms(false))
}

fn main() {
    let quick = leadflow_tests::quick_bench();
    let (rounds, per_round) = if quick { (2, 20) } else { (20, 100) };
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    runtime.block_on(async {
        let (mut handler_ms, mut baseline_ms) = (Vec::new(), Vec::new());
        for round in 0..rounds {
            // A fresh emulator per round: moto copies the whole table for every
            // transaction, so a growing table would measure moto, not intake.
            let stack = Stack::start().await;
            let (handler, baseline) = run_round(&stack, round, per_round).await;
            handler_ms.extend(handler);
            baseline_ms.extend(baseline);
        }
        let n = handler_ms.len();
        let (h50, h99) = percentiles(handler_ms);
        let (b50, b99) = percentiles(baseline_ms);
        println!("\nintake vs minimum I/O: {n} requests each, concurrency {CONCURRENCY}, emulator on this machine\n");
        println!("| | p50 ms | p99 ms |");
        println!("|---|---|---|");
        println!("| intake handler | {h50:.2} | {h99:.2} |");
        println!("| baseline (the same four calls only) | {b50:.2} | {b99:.2} |");
        println!("| ratio | {:.3} | {:.3} |", h50 / b50, h99 / b99);
        println!("| difference | {:.2} | {:.2} |", h50 - b50, h99 - b99);
    });
}
