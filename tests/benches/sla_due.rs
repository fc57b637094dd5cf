//! How much the SLA sweep reads: seeds open leads into the emulator's table, a few of
//! them due, and asks the DynamoDB adapter for the due ones as a sweep run does.
//!
//! `cargo bench -p leadflow-tests --bench sla_due` (SLA_BENCH_OPEN, SLA_BENCH_DUE to resize)
//!
//! Only the index entries keep their real shape here (pk, sk, id, gsi2pk, gsi2sk): the
//! read side is what is measured. A full scan would read every open lead.

use aws_sdk_dynamodb::types::AttributeValue;
use chrono::{Duration, Utc};
use domain::follow_up::ports::SlaStore;
use domain::lead::LeadId;
use leadflow_aws::keys;
use leadflow_tests::Stack;
use std::collections::HashMap;
use std::time::Instant;

fn count(var: &str, default: usize) -> usize {
    std::env::var(var).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn s(v: impl Into<String>) -> AttributeValue {
    AttributeValue::S(v.into())
}

#[tokio::main]
async fn main() {
    let open = count("SLA_BENCH_OPEN", 100_000);
    let due = count("SLA_BENCH_DUE", 1_000);
    let stack = Stack::start().await;
    let now = Utc::now();
    let started = Instant::now();
    let mut batch = Vec::new();
    for i in 0..open + due {
        // The due ones came due over the last three days; the rest over the next 60.
        let next = if i < due {
            now - Duration::minutes((i as i64 * 4320) / due.max(1) as i64 + 1)
        } else {
            now + Duration::minutes(1 + (i as i64 * 86_400) / open.max(1) as i64)
        };
        let id = LeadId::generate(now);
        let item = HashMap::from([
            ("pk".to_string(), s(format!("LEAD#{id}"))),
            ("sk".to_string(), s("LEAD")),
            ("id".to_string(), s(id.as_str())),
            ("gsi2pk".to_string(), s(keys::due_partition(next, &id))),
            (
                "gsi2sk".to_string(),
                s(format!(
                    "{}#{id}",
                    next.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
                )),
            ),
        ]);
        batch.push(item);
        if batch.len() == 1_000 {
            stack.put_items(std::mem::take(&mut batch)).await;
        }
    }
    stack.put_items(batch).await;
    println!("seeded {open} open leads and {due} due in {:?}", started.elapsed());

    // A running system's sweep cursor sits at the oldest day still holding due entries
    // (the very first run looks back 35 days once, one query per day).
    stack
        .dynamo
        .put_item()
        .table_name(stack.table())
        .item("pk", s(keys::SWEEP_CURSOR_PK))
        .item("sk", s(keys::SWEEP_CURSOR_SK))
        .item("bucket", s(keys::due_bucket(now - Duration::days(3))))
        .send()
        .await
        .unwrap();
    let store = stack.store();
    for limit in [500, due + 10] {
        let run = Instant::now();
        let got = store.due_leads(now, limit).await.unwrap();
        println!(
            "one sweep run (limit {limit}): {} due leads found, {} index entries read, more = {}, {:?} against the emulator",
            got.leads.len(),
            got.entries_read,
            got.more,
            run.elapsed()
        );
        // Reads follow the due entries, never the open leads.
        assert_eq!(got.leads.len(), due.min(limit));
        assert!(
            got.entries_read <= due.min(limit) + 1,
            "{} entries read",
            got.entries_read
        );
    }
    println!("a full scan would read {} items", open + due);
}
